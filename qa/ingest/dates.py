"""Dates as news writes them → ISO dates, and the wire datelines that open news articles.

Feeds write dates in many shapes ("2023-07-28 16:40", "07-20 22:43", "8-3 10:05",
"2023年08月02日", "11月19日", empty). `parse_date` turns one into ISO ("2023-07-28", or
"2023-07-28T16:40" with the time), taking a missing year from a hint and saying so;
`year_written_with_day` and `year_named_beside_day` find that year in the article itself.
`parse_dateline` reads "新华社北京10月24日电（记者 李明）" and its kin at the top of an article.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_FULL = re.compile(
    r"(?P<y>(?:19|20)\d{2})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:[\sT]*(?P<H>\d{1,2})[:：](?P<M>\d{2})(?:[:：]\d{2})?)?")
_SHORT_YEAR = re.compile(r"^(?P<y>\d{2})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?:\s+(?P<H>\d{1,2})[:：](?P<M>\d{2}))?")
_PARTIAL = re.compile(
    r"(?<!\d)(?P<m>\d{1,2})\s*[-/月]\s*(?P<d>\d{1,2})(?!\d)\s*日?(?:\s*(?P<H>\d{1,2})[:：](?P<M>\d{2}))?")
ISO_DATE = re.compile(r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})")  # what parse_date returns, time or not
_YEAR_IN_PATH = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
# A year named in a sentence: "2024年…", or an event's name ("2024中国5G+工业互联网大会"), not a count ("2000列").
_YEAR_MENTION = re.compile(r"(?<![\d.])((?:19|20)\d{2})(?=\s*[\u4e00-\u9fff])"
                           r"(?!\s*[列个万亿千百元人家辆台件次条名只项所座吨米多余户份位倍])")
_SENTENCE_END = "。！？!?；;\n"
UNKNOWN_DATE = "日期不详"  # what people are shown for an article whose date has no year

# The outlets whose datelines open Chinese news; any other "…社/网/报/台" name is read too.
AGENCIES = ("新华社", "中新社", "中新网", "人民网", "中国网", "央视网", "央广网", "光明网", "环球网", "国际在线",
            "中国日报网", "人民日报", "经济日报", "光明日报", "中国青年报", "工人日报", "法治日报", "科技日报",
            "澎湃新闻", "新京报", "北京日报", "解放日报", "南方日报", "湖北日报", "长江日报", "中国新闻网")
_AGENCY = "|".join(sorted(AGENCIES, key=len, reverse=True))
_DATELINE = re.compile(
    rf"^\s*[【\[]?\s*据?\s*(?P<source>{_AGENCY}|本报|本台|本网|[\u4e00-\u9fffA-Za-z\-]{{2,16}}?(?:社|网|报|台|新闻|客户端|之家|APP))"
    r"\s*(?:[（(][^）)]{1,12}[）)])?\s*"  # "荆楚网（湖北日报网）讯"
    r"(?:(?P<place>(?![网报社台])[\u4e00-\u9fff]{1,8}?)\s*)?"
    r"(?P<when>(?:(?:19|20)\d{2}\s*年\s*)?\d{1,2}\s*月\s*\d{1,2}\s*日)?\s*(?:电|讯|消息|报道)[】\]]?\s*[:：]?"
    r"\s*(?:[（(]\s*(?P<people>[^）)]{1,60})[）)])?\s*")
_OWN_PAPER = ("本报", "本台", "本网")  # "本报讯": this paper, not a named outlet
_REPORTER_PREFIX = re.compile(r"^(?:记者|通讯员|实习生|特约记者|本报记者)\s*")


@dataclass(frozen=True)
class Dateline:
    """What a dateline tells: the outlet, the place, the raw date and the people credited."""

    source: str
    place: str
    date: str
    reporters: tuple[str, ...]
    length: int  # characters of text it took up


def parse_date(raw: str, year: int | None = None) -> tuple[str, bool]:
    """(ISO date or datetime, whether the year was taken from `year`); ("", False) when not a date."""
    raw = (raw or "").strip()
    if not raw:
        return "", False
    full = _FULL.search(raw)
    if full:
        return _iso(int(full["y"]), int(full["m"]), int(full["d"]), full["H"], full["M"]), False
    short = _SHORT_YEAR.match(raw)  # "23-08-07 05:58"
    if short:
        return _iso(2000 + int(short["y"]), int(short["m"]), int(short["d"]), short["H"], short["M"]), False
    partial = _PARTIAL.search(raw)
    if partial and year:
        iso = _iso(year, int(partial["m"]), int(partial["d"]), partial["H"], partial["M"])
        return iso, bool(iso)
    return "", False


def _iso(year: int, month: int, day: int, hour: str | None, minute: str | None) -> str:
    try:
        day_text = date(year, month, day).isoformat()
    except ValueError:
        return ""
    if hour is not None and minute is not None and int(hour) < 24 and int(minute) < 60:
        return f"{day_text}T{int(hour):02d}:{int(minute):02d}"
    return day_text


def year_in_path(path: str) -> int | None:
    """A year named in the file's path ("2023/07/…", "news-2023.jsonl"), if one is."""
    years = [int(y) for y in _YEAR_IN_PATH.findall(path or "")]
    return years[-1] if years else None


def _day_pattern(raw: str) -> str | None:
    """A regex for the day of a date without a year ("11月19日", "07-20 22:43") as text writes it."""
    day = _PARTIAL.search(raw or "")
    return rf"0?{int(day['m'])}\s*月\s*0?{int(day['d'])}\s*日" if day else None


def year_written_with_day(raw: str, text: str) -> int | None:
    """The year the text writes with the day of `raw` ("2024年11月19日" for "11月19日"), if it does."""
    day = _day_pattern(raw)
    written = re.search(rf"((?:19|20)\d{{2}})\s*年\s*{day}", text or "") if day else None
    return int(written[1]) if written else None


def year_named_beside_day(raw: str, text: str) -> int | None:
    """The year named in the first sentence that names the day of `raw` and a year ("11月19日，…2024中国
    5G+工业互联网大会在武汉开幕。"; the latest when it names several): weaker than a written-out date."""
    day = _day_pattern(raw)
    for named in re.finditer(rf"(?<!\d){day}", text or "") if day else ():
        start = max(text.rfind(end, 0, named.start()) for end in _SENTENCE_END) + 1
        ends = [at for at in (text.find(end, named.end()) for end in _SENTENCE_END) if at >= 0]
        years = [int(y) for y in _YEAR_MENTION.findall(text[start: min(ends, default=len(text))])]
        if years:
            return max(years)
    return None


def shown_date(published: str) -> str:
    """A date as people are shown it: the ISO date, or "日期不详" when it has no year (or there is none)."""
    return published if ISO_DATE.match(published or "") else UNKNOWN_DATE


def parse_dateline(text: str) -> Dateline | None:
    """The wire dateline opening `text` ("人民网柏林7月28日电 （记者刘仲华、张慧中）…"), or None."""
    match = _DATELINE.match(text[:120])
    if not match:
        return None
    people = match["people"] or ""
    reporters = tuple(r for r in (_REPORTER_PREFIX.sub("", p.strip()) for p in re.split(r"[、，,\s]+", people)) if r)
    source = "" if match["source"] in _OWN_PAPER else match["source"]
    when = re.sub(r"\s+", "", match["when"] or "")
    return Dateline(source, match["place"] or "", when, reporters, match.end())
