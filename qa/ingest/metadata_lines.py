"""The lines of an article's body that are metadata, not text: a source/date line at the top
("中国网 11月19日 讯（记者 王瑞芳）", "新华社北京11月19日电", "来源：人民网") and metadata lines near the
top or bottom ("发布时间：2023-10-18 来源：国家统计局", "责任编辑：王五"); and the first day a text names.
"""

from __future__ import annotations

import re

from qa.ingest.byline import is_byline

_DATE = re.compile(r"(?:\d{4}年)?\d{1,2}月\d{1,2}日|\d{4}-\d{1,2}-\d{1,2}")
# Web pages' date lines: "2024-11-02 09:30:00 来源：新华网", "来源：四川日报 2024-07-28"; the time is dropped.
_WEB_DATE = r"\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?"
_CLOCK = r"(?:\s*\d{1,2}[:：]\d{2}(?:[:：]\d{2})?)?"
# Source lines: "中国网 11月19日 讯（记者 王瑞芳）", "中国新报讯（罗志雄）", "新华社北京11月19日电", "来源：人民网"
_SOURCE_LINE = re.compile(
    rf"^(?:(?:(?P<date1>{_WEB_DATE}){_CLOCK}\s*)?来源[:：]\s*(?P<src1>[^\s|｜]+)(?:\s*(?P<date3>{_WEB_DATE}){_CLOCK})?"
    r"|(?P<src2>[^\s\d，。,（(：:]{2,16})\s*(?P<date>(?:\d{4}年)?\d{1,2}月\d{1,2}日)?\s*(?:讯|电)"
    r"\s*(?:[（(][^）)]*[）)])?)\s*$"
)
_MAX_SOURCE_LINE = 40
# Metadata lines at the top or bottom of an article ("发布时间：2023-10-18 来源：国家统计局", "责任编辑：王五"):
# kept as metadata, never article text (so never an answer sentence).
_METADATA_LINE = re.compile(r"^(?:发布时间|发布日期|发稿时间|更新时间|时间|日期|来源|稿源|编辑|责任编辑|作者|记者|通讯员)\s*[:：]")
_METADATA_SOURCE = re.compile(r"(?:来源|稿源)\s*[:：]\s*([^\s|｜:：]+)")
_METADATA_EDGE = 3  # lines from the top and from the bottom
_MAX_METADATA_LINE = 80


def parse_source_line(line: str) -> tuple[str, str] | None:
    """("中国网", "11月19日") for a news source/date line, None for body text."""
    line = re.sub(r"\s+", " ", line.strip())
    if not line or len(line) > _MAX_SOURCE_LINE:
        return None
    match = _SOURCE_LINE.match(line)
    if not match:
        return None
    source = match.group("src1") or match.group("src2") or ""
    if "社" in source[2:]:  # "新华社北京" names the agency, then the place
        source = source[: source.index("社", 2) + 1]
    date = match.group("date") or match.group("date1") or match.group("date3") or ""
    return source, date


def split_source_lines(paragraphs: list[str]) -> tuple[str, str, str, list[str]]:
    """(source, date, byline, the rest): the source/date line(s) taken off the top of an article
    body; the byline is the line itself when it credits reporters ("中国网 11月19日 讯（记者 王瑞芳）"),
    which stays as the text's first line: who reported a story is a question readers ask."""
    for n_lines in (2, 1):  # a source line may itself be broken over two lines
        if len(paragraphs) >= n_lines:
            line = re.sub(r"\s+", " ", " ".join(paragraphs[:n_lines]).strip())
            parsed = parse_source_line(line)
            if parsed:
                return parsed[0], parsed[1], line if is_byline(line) else "", paragraphs[n_lines:]
    return "", "", "", paragraphs


def take_metadata_lines(paragraphs: list[str]) -> tuple[str, str, list[str]]:
    """(source, date) from metadata lines near the top or bottom, and the paragraphs without them."""
    source = date = ""
    kept = []
    for position, paragraph in enumerate(paragraphs):
        near_edge = position < _METADATA_EDGE or position >= len(paragraphs) - _METADATA_EDGE
        if near_edge and len(paragraph) <= _MAX_METADATA_LINE and _METADATA_LINE.match(paragraph):
            found = _METADATA_SOURCE.search(paragraph)
            source = source or (found.group(1) if found else "")
            found_date = _DATE.search(paragraph)
            date = date or (found_date.group(0) if found_date else "")
        else:
            kept.append(paragraph)
    return source, date, kept


def first_date(text: str) -> str:
    """The first day the text writes ("11月19日", "2024-11-19"), as written, or ""."""
    match = _DATE.search(text)
    return match.group(0) if match else ""
