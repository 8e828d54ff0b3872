"""Follow-up questions: rewrite one that leans on the conversation into a question that stands alone.

Two shapes are common in chat. An elliptic question swaps one thing of the earlier question for
another ("湖北前三季度经济增长多少？" → "那武汉呢？" asks "武汉前三季度经济增长多少？"); a question
with a pronoun points back at something named earlier ("他现在担任什么职务？"). Anything else
that cannot stand alone (too few content words, no noun of its own: "是哪一年发现的？") is
searched with the earlier question's nouns. In a conversation, a question that does not find its
article by itself is searched together with the earlier question (`in_conversation`), whatever its
wording.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

from qa.ingest.text import STOP_WORDS, key_nouns, lexical_terms, normalise, tagged_words

# Words that point back at something named earlier: 他/她/它(们), 其, 该, 这位/那些/这篇, 此人, 上述.
_REFERS_BACK = re.compile(r"[他她它]们?|其[中他]?|该|这[位些家个篇条则]|那[位些家个篇条则]|此人|上述|前者|后者")
_PERSON_PRONOUN = re.compile(r"[他她]们?|这位|那位|此人")
# "那武汉呢？", "那么2022年的呢", "武汉怎么样？": the thing the follow-up is about, in group 1.
_ELLIPSIS = re.compile(r"^(?:那么?|还有|再问一下)?\s*(.{1,12}?)(?:的情况|的)?\s*(?:呢|怎么样|如何|又如何|又是多少|是多少)[？?。!！]*$")
# Part-of-speech classes that name things: people, places, organisations, other names, times, numbers.
_NAME_TAGS = {"nr": "person", "nrfg": "person", "nrt": "person", "ns": "place", "nt": "org", "nz": "name",
              "t": "time", "m": "number", "eng": "name"}
_DATED = re.compile(r"\d|[一二三四五六七八九十]+[年月日]|季度")  # "2022年", "三季度"; not "后来"
# "那后天呢？" after "北京7月26号白天最高多少度？" asks about 7月28号, not about the day after today.
_RELATIVE_DAYS = {"大前天": -3, "前天": -2, "昨天": -1, "今天": 0, "当天": 0, "第二天": 1, "次日": 1, "明天": 1,
                  "后天": 2, "大后天": 3}
_MONTH_DAY = re.compile(r"(?:(\d{4})年)?(\d{1,2})月(\d{1,2})([日号])")
_DAY_ONLY = re.compile(r"(\d{1,2})[日号]")
_ANY_YEAR = 2023  # a year without 2月29日, for a question that names none
MIN_TERMS = 2  # a question with fewer content terms than this cannot stand alone
MAX_CARRIED = 4


def needs_context(question: str) -> bool:
    """True when the question refers back (pronouns, a leading 那), is elliptic, names nothing of
    its own ("是哪一年发现的？", "路上大概要走多久？": no noun) or is too short to search alone."""
    tagged = tagged_words(question.strip())
    return (bool(_REFERS_BACK.search(question)) or bool(_ELLIPSIS.match(question.strip()))
            or len(lexical_terms(question)) < MIN_TERMS
            or (bool(tagged) and tagged[0][0] in ("那", "那么"))
            or not any(tag[:1] == "n" and word not in STOP_WORDS for word, tag in tagged))


def _names(text: str) -> list[tuple[str, str]]:
    """(word, kind) of the words that name something, in order; "2023" + "年" is one time."""
    names: list[tuple[str, str]] = []
    previous_tag = ""
    for word, tag in tagged_words(text):
        kind = _NAME_TAGS.get(tag)
        if kind in ("number", "time") and previous_tag in ("m", "t") and names:
            names[-1] = (names[-1][0] + word, "time")
        elif kind:
            names.append((word, kind))
        previous_tag = tag
    return names


def focus_terms(question: str) -> list[str]:
    """What an elliptic follow-up ("那武汉呢？") asks about instead (normalised): the evidence
    for it must mention this; [] for other questions."""
    ellipsis = _ELLIPSIS.match(question.strip())
    if not ellipsis:
        return []
    return [normalise(word) for word, kind in _names(ellipsis.group(1))
            if kind != "time" or _DATED.search(word)]


def _another_day(earlier: str, new: str) -> str | None:
    """The earlier question about the day `new` names relative to the date it asks about ("后天",
    "27号" after "7月26号…": 7月28号, 7月27号); None when `new` names no such day or the earlier
    question no month and day."""
    dated = _MONTH_DAY.search(earlier)
    if not dated:
        return None
    year, month, day, marker = dated.groups()
    if new in _RELATIVE_DAYS:
        try:
            asked = date(int(year or _ANY_YEAR), int(month), int(day)) + timedelta(days=_RELATIVE_DAYS[new])
        except ValueError:  # no such date ("2月30号")
            return None
        moved = f"{asked.year}年" * bool(year) + f"{asked.month}月{asked.day}{marker}"
    elif _MONTH_DAY.fullmatch(new):  # "那7月28号呢？": the date alone, not the "白天" after it
        moved = new
    elif only := _DAY_ONLY.fullmatch(new):
        moved = f"{year}年" * bool(year) + f"{month}月{only.group(1)}{marker}"
    else:
        return None
    return earlier[:dated.start()] + moved + earlier[dated.end():]


def _swap(earlier: str, new: str) -> str | None:
    """The earlier question with its thing of the same kind as `new` replaced by `new`; None when `new`
    is not mostly a name, time or number: an aspect of the same subject ("公职呢？" after a question
    about a punishment in the party, "读取呢？") or a clause ("两个口一起用的时候功率是多少？") swapped for a
    name of the earlier question made a question about nothing ("公职人大原副主任…")."""
    if moved := _another_day(earlier, new):
        return moved
    names = _names(new)
    if _REFERS_BACK.search(new) or 2 * sum(len(word) for word, _ in names) < len(new):
        return None
    kinds = {kind for _, kind in names}
    for word, kind in _names(earlier):
        if kind in kinds:
            suffix = word[-1] if word[-1] in "省市县区" and not new.endswith(word[-1]) else ""
            return earlier.replace(word, new + suffix, 1)
    return None


def resolve_followup(question: str, history: list[str]) -> str:
    """The question as searched: standing alone when it leans on the last earlier question."""
    if not history or not needs_context(question):
        return question
    earlier = history[-1]
    ellipsis = _ELLIPSIS.match(question.strip())
    if ellipsis and (swapped := _swap(earlier, ellipsis.group(1).strip())):
        return swapped
    pronoun = _PERSON_PRONOUN.search(question)
    people = [word for word, kind in _names(earlier) if kind == "person"]
    if pronoun and people:
        return question[:pronoun.start()] + people[-1] + question[pronoun.end():]
    return with_nouns_of(earlier, question)


def with_nouns_of(earlier: str, question: str) -> str:
    """The question after the earlier question's nouns that it does not name itself."""
    carried = [t for t in dict.fromkeys(key_nouns(earlier)) if t not in question]
    if not carried:
        return question
    return " ".join(carried[:MAX_CARRIED]) + " " + question


def in_conversation(question: str, history: list[str], finds_alone: Callable[[str], bool]) -> tuple[str, str]:
    """What to search and what to read for a question asked after `history`. A question that finds
    its article alone (`finds_alone`: both sides of the search agree) is searched and read as
    `resolve_followup` rewrites it. One that does not is a follow-up more often than not ("比分多少？",
    "论坛期间专家去哪家企业实地看了？"): it is searched together with the earlier question (news dev
    follow-ups: their article first for 94%, against 69% for the rewritten question alone) and read
    after the earlier question's nouns (answered 80%, against 74% read as `resolve_followup` rewrites it)."""
    if not history or finds_alone(question):
        read = resolve_followup(question, history)
        return read, read
    return after_earlier(question, history), with_nouns_of(history[-1], question)


def read_after(question: str, query: str, history: list[str]) -> str:
    """What a reader trained with `--followups joined` reads: a follow-up (a question the search read
    otherwise than as asked, `in_conversation`) after the whole earlier question ("十铨新出的CFexpress
    存储卡写入速度多快？ 读取呢？"), which keeps what the follow-up leaves out and what it swaps; any
    other question as searched (`query`)."""
    return after_earlier(question, history) if history and query != question else query


def after_earlier(question: str, history: list[str]) -> str:
    """The question after the whole earlier question."""
    return f"{history[-1]} {question}"
