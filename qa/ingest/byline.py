"""Who reported a story: questions that ask it, both ways, and the byline opening the story that answers
them ("中国网 11月19日 讯（记者 王瑞芳）", "新华社北京10月24日电（记者 李明）…").

A question asks of a story it names who reported it ("这篇稿子是哪个记者写的？") or which outlet ran it
("中欧班列那篇是哪家媒体发的？"), or asks of a reporter or outlet it names what they published
("王瑞芳写了哪篇报道？", "中国网发了哪些新闻？").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.ingest.dates import AGENCIES, parse_dateline
from qa.ingest.text import query_terms, tagged_words

# Asking for a reporter or the writer of a piece, and naming a news piece or its reporter (so that
# "《张居正》的作者是谁？" asks about a book, not about the story that mentions it).
_WHO_WROTE = re.compile(r"(?:哪[个位些名]?|什么)记者|记者(?:是谁|叫什么|姓什么|的名字|名字)|谁(?:写|报道|采写|撰写|编写)的"
                        r"|是谁(?:写|报道|采写|撰写)|(?:作者|撰稿人?)(?:是谁|叫什么|是哪)")
_A_NEWS_PIECE = re.compile(r"记者|稿|报道|消息|新闻|文章|这篇|那篇|这条|那条|本文")
# Asking which outlet ran a piece: naming the kind of outlet ("哪家媒体"), or asking for the source of
# the piece the question points at ("这条新闻的来源", "那篇是谁发的"). "降息的消息是谁发布的？" asks who
# announced a cut, not who printed the news; "报道提到的资金来源是什么？" asks about money.
_MEDIA = re.compile(r"(?:哪|什么)(?:一?家|个|份)?(?:媒体|报纸|报社|报刊|网站|通讯社|电视台|新闻单位)")
_SOURCE_OF_PIECE = re.compile(r"(?:报道|稿子?|稿件|消息|新闻|文章|[这那该本此][篇条则])的?(?:来源|出处)")
_WHO_RAN = re.compile(r"(?:谁|哪里?)(?:发|发布|刊发|刊登|登)的|出自哪|来自哪")
# "桑德斯批美国医疗体系的文章发在哪个网站？", "章家敦那篇说…的文章，登在哪家媒体上？": an article someone
# in the news wrote, which the story reports (not "这篇文章", the story itself)
_SOMEONES_ARTICLE = re.compile(r"(?<![这那该本此]篇)的文章")
_THE_PIECE = re.compile(r"[这那该本此](?:篇|条|则|份)|本文|稿")
# What one reporter or outlet published: "王瑞芳写了哪篇报道？", "罗志雄报道了什么？", "中国网发的新闻有哪些？".
_NAME = r"(?:记者)?(?P<name>[^\W\d_的在里是了把被从向给说]{2,16}?)(?:记者)?(?:都|一共|总共|还|曾经?|所)?"
_VERB = r"(?P<verb>采写|撰写|写|报道|发表|发布|刊发|刊登|发)"
_ASKED = r"(?:哪些|哪篇|哪几篇|几篇|多少篇|什么|啥)(?:内容)?"
_PIECE = r"(?:报道|稿子|稿件|文章|新闻|消息)"
_PUBLISHED_BY = tuple(re.compile(rf"^(?:请问|问一下)?[，,\s]*{shape}[？?。！!\s]*$") for shape in (
    rf"有没有{_NAME}{_VERB}的{_PIECE}",  # 有没有罗志雄写的报道
    rf"{_NAME}{_VERB}(?:了|过)?{_ASKED}{_PIECE}?",  # 王瑞芳写了哪篇报道
    rf"{_NAME}{_VERB}的(?:是)?(?:哪些|哪篇|什么)?{_PIECE}(?:有哪些|是哪篇|是什么|有几篇|有什么)?"))  # 中国网发的新闻有哪些
_PUBLISHING = ("发表", "发布", "刊发", "刊登", "发")  # a company "发布了什么" asks about its news, not its byline
_OUTLET_ENDINGS = ("社", "报", "网", "台", "新闻", "客户端", "之家", "APP")
# Terms that only phrase a question about a byline: what is left names the story asked about.
_ASKING_TERM = re.compile(r"(?:[这那该本此哪]|篇|条|则|份|家|个|位|报道|稿子?|稿件|消息|新闻|文章|记者|作者|撰稿人?|署名|媒体|报纸"
                          r"|报社|报刊|网站|通讯社|电视台|来源|出处|出自|来自|关于|有关|发布?|发表|刊发|刊登|写|采写|撰写"
                          r"|编写|谁|登|名字|姓)+")


@dataclass(frozen=True)
class CreditQuestion:
    """What a question asks of bylines: the reporter ("reporter") or outlet ("outlet") of the story it
    names, or ("published") the stories of the reporter or outlet `name`."""

    asks: str
    name: str = ""
    surely_a_byline: bool = True  # False: `name` may be a company announcing news ("华为发布了什么新闻？")


def asks_who_reported(question: str) -> bool:
    """Whether the question asks who reported or wrote the story."""
    return bool(_WHO_WROTE.search(question) and _A_NEWS_PIECE.search(question))


def asks_which_outlet(question: str) -> bool:
    """Whether the question asks which outlet published the story it points at."""
    if _SOMEONES_ARTICLE.search(question):
        return False
    if _MEDIA.search(question):
        return bool(_A_NEWS_PIECE.search(question) or _THE_PIECE.search(question))
    return bool(_SOURCE_OF_PIECE.search(question) or (_WHO_RAN.search(question) and _THE_PIECE.search(question)))


def credit_question(question: str) -> CreditQuestion | None:
    """What the question asks of bylines, or None when it asks something else."""
    published = next((m for m in (p.match(question.strip()) for p in _PUBLISHED_BY) if m), None)
    if published:
        name = published["name"]
        surely = (looks_like_outlet(name) or "记者" in question
                  or (published["verb"] not in _PUBLISHING and looks_like_person(name)))
        return CreditQuestion("published", name, surely)
    if asks_who_reported(question):
        return CreditQuestion("reporter")
    if asks_which_outlet(question):
        return CreditQuestion("outlet")
    return None


def looks_like_outlet(name: str) -> bool:
    """Whether the name reads as a news outlet's ("中国网", "湖北日报", "新华社")."""
    return name in AGENCIES or name.endswith(_OUTLET_ENDINGS)


def looks_like_person(name: str) -> bool:
    """Whether the name reads as a person's ("王瑞芳": jieba tags it as a person's name)."""
    tagged = tagged_words(name)
    return bool(tagged) and tagged[0][1].startswith("nr") and len(tagged[0][0]) >= 2


def story_terms(question: str) -> list[str]:
    """The terms of a question about a story's byline that name the story ("中欧", "班列" of
    "中欧班列那篇是哪家媒体发的？"), without those that ask for the byline."""
    return [t for t in query_terms(question) if not _ASKING_TERM.fullmatch(t)]


def byline_length(lead: str) -> int:
    """Characters of the byline opening a story's lead (0: the lead credits no one)."""
    dateline = parse_dateline(lead)
    if dateline is None or not dateline.reporters:
        return 0
    return len(lead[: dateline.length].rstrip())


def is_byline(sentence: str) -> bool:
    """Whether the sentence is a byline line and nothing more (not a lead that opens with one)."""
    length = byline_length(sentence)
    return length > 0 and length >= len(sentence.strip())
