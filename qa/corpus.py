"""Reading news articles from folders of .md/.txt/.jsonl/.pdf/.html/.docx files into `Article`s.

Seed-style files: an article starts at a Markdown heading; the first short lines under it
may be a source/date line ("中国网 11月19日 讯（记者 王瑞芳）"), kept as metadata. Paragraphs
broken in mid-sentence (PDF-style) are joined again. A file is read as what its content is,
not what its name says; PDF, HTML and Word files go through the readers of `qa.formats`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import CorpusError
from .formats import READERS, TEXT_KINDS, decode_text, detect_kind

TEXT_SUFFIXES = TEXT_KINDS
ARTICLE_SUFFIXES = TEXT_SUFFIXES + (".jsonl",) + tuple(READERS)
# A paragraph ending in one of these (optionally followed by closing quotes) ends for real.
_TERMINAL = "。！？!?；;…"
_CLOSERS = "”’\"'」』）)】》"
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
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
_MAX_SUBHEADING = 15


@dataclass(frozen=True)
class Article:
    """One news article: `text` is the repaired body; chunk offsets point into it."""

    id: str
    title: str
    text: str
    source: str = ""
    date: str = ""
    url: str = ""
    path: str = ""


@dataclass
class LoadReport:
    """What `load_articles` read and what it had to skip (with the reason)."""

    articles: list[Article] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def article_id(path: str, title: str, ordinal: int = 0) -> str:
    """A stable id from the file's path and the article's title."""
    key = f"{path}\n{title}\n{ordinal}" if ordinal else f"{path}\n{title}"
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


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


def _ends_paragraph(paragraph: str) -> bool:
    return paragraph.rstrip(_CLOSERS)[-1:] in _TERMINAL or paragraph[-1:] in _TERMINAL


def _looks_like_subheading(paragraph: str) -> bool:
    return len(paragraph) <= _MAX_SUBHEADING and not re.search(r"[，,：:；;]", paragraph)


def repair_paragraphs(paragraphs: list[str]) -> list[str]:
    """Join paragraphs broken in mid-sentence ("坚持双向发" + "力，…"); keep real breaks."""
    repaired: list[str] = []
    for paragraph in paragraphs:
        if repaired and not _ends_paragraph(repaired[-1]) and not _looks_like_subheading(repaired[-1]):
            repaired[-1] += paragraph
        else:
            repaired.append(paragraph)
    return repaired


def _split_source_lines(paragraphs: list[str]) -> tuple[str, str, list[str]]:
    """Take the source/date line(s) off the top of an article body."""
    for n_lines in (2, 1):  # a source line may itself be broken over two lines
        if len(paragraphs) >= n_lines:
            parsed = parse_source_line(" ".join(paragraphs[:n_lines]))
            if parsed:
                return parsed[0], parsed[1], paragraphs[n_lines:]
    return "", "", paragraphs


def make_article(path: str, title: str, body: str, source: str = "", date: str = "",
                 url: str = "", ordinal: int = 0) -> Article | None:
    """Clean a raw body into an Article, or None when nothing readable is left."""
    paragraphs = [p.strip(" \t\u3000\xa0") for p in body.split("\n")]
    paragraphs = [p for p in paragraphs if p]
    found_source, found_date, paragraphs = _split_source_lines(paragraphs)
    text = "\n".join(repair_paragraphs(paragraphs))
    if not text:
        return None
    if not date:
        date = found_date or _first_date(text)
    title = title.strip() or text[:30]
    return Article(
        id=article_id(path, title, ordinal), title=title, text=text,
        source=source or found_source, date=date, url=url, path=path,
    )


def _first_date(text: str) -> str:
    match = _DATE.search(text)
    return match.group(0) if match else ""


def parse_markdown(text: str, path: str) -> list[Article]:
    """Articles of a .md/.txt file: one per heading, or the whole file as one article."""
    sections: list[tuple[str, list[str]]] = []
    for line in text.split("\n"):
        heading = _HEADING.match(line)
        if heading:
            sections.append((heading.group(1), []))
        elif sections:
            sections[-1][1].append(line)
        elif line.strip():
            sections.append(("", [line]))
    if sections and not sections[0][0]:
        lines = [l for l in sections[0][1] if l.strip()]
        first = lines[0].strip() if lines else ""
        # A headless file: its first line is the title when it reads like one.
        if first and len(first) <= 40 and not _ends_paragraph(first) and len(lines) > 1:
            sections[0] = (first, sections[0][1][sections[0][1].index(lines[0]) + 1:])
        else:
            sections[0] = (Path(path).stem, sections[0][1])
    articles = []
    seen: dict[str, int] = {}
    for title, lines in sections:
        ordinal = seen.get(title, 0)
        seen[title] = ordinal + 1
        article = make_article(path, title, "\n".join(lines), ordinal=ordinal)
        if article:
            articles.append(article)
    return articles


def parse_jsonl(text: str, path: str, report: LoadReport, strict: bool = False) -> list[Article]:
    """Articles of a .jsonl file, one {"title", "text", "source"?, "date"?, "url"?} per line."""
    articles = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                raise ValueError('each line must be an object with a "text" string')
            title = str(record.get("title") or "")
        except ValueError as error:
            message = f"{path}:{number}: malformed JSONL line ({error})"
            if strict:
                raise CorpusError(message) from error
            report.skipped.append(message)
            continue
        ordinal = seen.get(title, 0)
        seen[title] = ordinal + 1
        article = make_article(
            path, title, record["text"], source=str(record.get("source") or ""),
            date=str(record.get("date") or ""), url=str(record.get("url") or ""), ordinal=ordinal,
        )
        if article:
            articles.append(article)
    return articles


def article_files(root: Path) -> list[Path]:
    """The article files under a folder (hidden ones left out), or the file itself."""
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise CorpusError(f"corpus not found at {root}: give a folder or file of articles (--corpus)")
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in ARTICLE_SUFFIXES
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))


def parse_file(data: bytes, suffix: str, label: str, report: LoadReport, strict: bool = False) -> list[Article]:
    """The articles in one file's bytes, read as what the content is (`suffix` is what its name says).

    `label` names the file in ids and messages. A file that cannot be read adds its message to
    `report.skipped` and gives no article, or raises CorpusError under `strict`.
    """
    try:
        kind = detect_kind(data, label, suffix)
        if kind in READERS:
            document = READERS[kind](data, label)
            article = make_article(label, document.title, document.body, source=document.source,
                                   date=document.date, url=document.url)
            found = [article] if article else []
        elif kind == ".jsonl":
            return parse_jsonl(decode_text(data, label), label, report, strict)
        else:
            found = parse_markdown(decode_text(data, label), label)
        if not found:
            raise CorpusError(f"{label}: no article text found: add the article's text, or remove the file")
    except CorpusError as error:
        if strict:
            raise
        report.skipped.append(str(error))
        return []
    return found


def load_articles(roots: tuple[Path, ...] | list[Path], strict: bool = False) -> LoadReport:
    """Read every article under the given folders/files; bad files are skipped and reported."""
    report = LoadReport()
    for root in roots:
        root = Path(root)
        for file in article_files(root):
            name = file.relative_to(root).as_posix() if root.is_dir() else file.name
            label = f"{root.name}/{name}" if root.is_dir() else name
            try:
                data = file.read_bytes()
            except OSError as error:
                message = f"{file}: cannot be read ({error.strerror}): check its permissions"
                if strict:
                    raise CorpusError(message) from error
                report.skipped.append(message)
                continue
            report.articles.extend(parse_file(data, file.suffix, label, report, strict))
    return report
