"""Time in the question: "2023年", "11月19日", "去年三季度", "上周", "最新" → the periods it asks about.

Explicit and relative expressions resolve against an "as of" date (today in the chat,
`--as-of` for `qa ask` and `qa eval`, `as_of` in the API). A passage is *of* a period when its
article was published in it or when it names a date in it ("2020年4月2日19时20分，广州…").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from qa.errors import QuestionError
from qa.ingest.dates import ISO_DATE, parse_date

_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_QUARTER = r"(?:第?(?P<q>[一二三四1-4])季度|(?P<half>上半年|下半年))"
_EXPLICIT = re.compile(
    rf"(?P<y>(?:19|20)\d{{2}})\s*年(?:\s*(?P<m>\d{{1,2}})\s*月(?:\s*(?P<d>\d{{1,2}})\s*[日号])?|{_QUARTER})?")
_MONTH_DAY = re.compile(r"(?<![\d年])(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]")
_RELATIVE_YEAR = re.compile(rf"(?P<which>今年|去年|前年|明年)(?:\s*{_QUARTER})?")
_LATEST = re.compile(r"最新|最近|目前|当前|眼下|现在|如今|近期")
_DAYS = {"今天": 0, "今日": 0, "昨天": 1, "昨日": 1, "前天": 2}
# Dates a passage names: a day, a month or a year ("2020年4月2日", "2023年8月", "2023年").
_PASSAGE_DATE = re.compile(r"(?P<y>(?:19|20)\d{2})\s*年(?:\s*(?P<m>\d{1,2})\s*月(?:\s*(?P<d>\d{1,2})\s*日)?)?")


@dataclass(frozen=True)
class Period:
    """An inclusive span of days the question asks about, as the question said it."""

    start: date
    end: date
    said: str
    relative: bool = False  # resolved against the as-of date ("去年", "上周"), not written out

    def overlaps(self, start: date, end: date) -> bool:
        return start <= self.end and self.start <= end

    @property
    def start_end(self) -> tuple[date, date]:
        return self.start, self.end


@dataclass(frozen=True)
class AskedTime:
    """The periods a question names, and whether it asks for the latest report."""

    periods: tuple[Period, ...] = ()
    latest: bool = False

    def __bool__(self) -> bool:
        return bool(self.periods) or self.latest


def _month_span(year: int, month: int) -> tuple[date, date]:
    first = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def _year_part(year: int, quarter: str | None, half: str | None) -> tuple[date, date]:
    if quarter:
        q = _CN_DIGITS[quarter]
        return date(year, 3 * q - 2, 1), _month_span(year, 3 * q)[1]
    if half:
        return (date(year, 1, 1), date(year, 6, 30)) if half == "上半年" else (date(year, 7, 1), date(year, 12, 31))
    return date(year, 1, 1), date(year, 12, 31)


def asked_time(question: str, as_of: date) -> AskedTime:
    """The periods named in the question (explicit, or relative to `as_of`) and the 'latest' cue."""
    periods: list[Period] = []
    taken: list[tuple[int, int]] = []

    def add(start: date, end: date, match: re.Match, relative: bool = False) -> None:
        periods.append(Period(start, end, match.group(0), relative))
        taken.append(match.span())

    for m in _EXPLICIT.finditer(question):
        year = int(m["y"])
        try:
            if m["m"] and m["d"]:
                day = date(year, int(m["m"]), int(m["d"]))
                add(day, day, m)
            elif m["m"]:
                add(*_month_span(year, int(m["m"])), m)
            else:
                add(*_year_part(year, m["q"], m["half"]), m)
        except ValueError:
            continue
    for m in _MONTH_DAY.finditer(question):
        if any(a <= m.start() < b for a, b in taken):
            continue
        try:  # the most recent such day up to the as-of date
            day = date(as_of.year, int(m["m"]), int(m["d"]))
            day = day if day <= as_of else date(as_of.year - 1, day.month, day.day)
        except ValueError:
            continue
        add(day, day, m)
    for m in _RELATIVE_YEAR.finditer(question):
        year = as_of.year + {"今年": 0, "去年": -1, "前年": -2, "明年": 1}[m["which"]]
        add(*_year_part(year, m["q"], m["half"]), m, relative=True)
    for word, back in _DAYS.items():
        for m in re.finditer(word, question):
            day = as_of - timedelta(days=back)
            add(day, day, m, relative=True)
    for m in re.finditer(r"(上|本|这)(?:个)?(周|星期|月)", question):
        if m[2] == "月":
            year, month = (as_of.year, as_of.month) if m[1] != "上" else (
                (as_of.year - 1, 12) if as_of.month == 1 else (as_of.year, as_of.month - 1))
            add(*_month_span(year, month), m, relative=True)
        else:
            monday = as_of - timedelta(days=as_of.weekday()) - timedelta(days=7 if m[1] == "上" else 0)
            add(monday, monday + timedelta(days=6), m, relative=True)
    return AskedTime(tuple(periods), bool(_LATEST.search(question)))


_YEAR_WORDS = re.compile(r"(?:19|20)\d{2}\s*年(?:度)?|今年|去年|前年|明年")


def without_years(question: str) -> str:
    """The question without the years it names ("2022年前三季度…" → "前三季度…"): for a reader of
    reports already chosen as published in that year, whose text says "今年"."""
    return _YEAR_WORDS.sub("", question).strip() or question


def passage_dates(published: str, text: str) -> list[tuple[date, date]]:
    """The spans of days a passage is of: its article's publication day first, then the dates it
    names — written out ("2020年4月2日") or relative to the publication day ("今年", "上月", "昨天")."""
    spans = []
    day = published_day(published)
    if day:
        spans.append((day, day))
        spans.extend(p.start_end for p in asked_time(text, day).periods if p.relative)
    for m in _PASSAGE_DATE.finditer(text):
        year = int(m["y"])
        try:
            if m["m"] and m["d"]:
                day = date(year, int(m["m"]), int(m["d"]))
                spans.append((day, day))
            elif m["m"]:
                spans.append(_month_span(year, int(m["m"])))
            else:
                spans.append((date(year, 1, 1), date(year, 12, 31)))
        except ValueError:
            continue
    return spans


def time_match(asked: AskedTime, published: str, text: str) -> int:
    """How well a passage is of the asked periods: 2 published in one, 1 names a date in one, 0 neither.
    (A 2023 report comparing with "2022年" names 2022 but is not the 2022 report.)"""
    spans = passage_dates(published, text)
    if not spans:
        return 0
    published_in = published and ISO_DATE.match(published) and any(p.overlaps(*spans[0]) for p in asked.periods)
    if published_in:
        return 2
    return 1 if any(p.overlaps(start, end) for p in asked.periods for start, end in spans) else 0


def published_day(published: str) -> date | None:
    """The day an article was published (None when its date is unknown or has no year)."""
    iso = ISO_DATE.match(published or "")
    try:
        return date(int(iso["y"]), int(iso["m"]), int(iso["d"])) if iso else None
    except ValueError:
        return None


def parse_as_of(value: object) -> date:
    """An as-of date from YYYY-MM-DD (today when not given); QuestionError names the expected form."""
    if value is None or value == "":
        return date.today()
    iso, _ = parse_date(value) if isinstance(value, str) else ("", False)  # also "2024-6-15", as ChronoQA writes
    if not iso:
        raise QuestionError(f"as of {value!r}: give a date as YYYY-MM-DD, e.g. 2024-11-19",
                            zh=f"日期“{value}”无法识别：请按 YYYY-MM-DD 填写，例如 2024-11-19。")
    return date.fromisoformat(iso[:10])
