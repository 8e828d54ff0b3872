"""Who wrote what, answered from bylines: the outlet and reporters of the story a question names
("中欧班列那篇是哪家媒体发的？"), and the stories a reporter or outlet it names published
("王瑞芳写了哪篇报道？").

Every answer cites the byline: the line opening the story when its text has one ("中国网 11月19日 讯
（记者 王瑞芳）", or a wire dateline opening the lead), else the story's first sentence, beside what
the article's fields say (its source, its reporters). A story that credits no one says so.
"""

from __future__ import annotations

from qa.answer.compose import Answer, Quote, abstain, cited, refuse
from qa.answer.scoring import coverage
from qa.index.stores import IndexedArticle, Store
from qa.ingest.byline import (
    CreditQuestion,
    byline_length,
    looks_like_outlet,
    story_terms,
)
from qa.search.retrieval import Hit

MAX_LISTED = 5  # stories named in one answer, newest first
# A question naming its story ("中欧班列那篇…") is about the best hit's story only when that story holds
# this share of the IDF weight of the naming words: "火星探测那篇是谁写的？" is about no seed story.
MIN_STORY_COVERAGE = 0.5


def byline_quote(store: Store, article: IndexedArticle) -> tuple[Quote, bool] | None:
    """The quote citing the article's byline and whether it is one: the byline opening its text,
    else its first sentence (None: the store holds no text of it)."""
    key = article.lead_key
    sentences = store.sentences_of([article.num]).get(article.num, [])
    lead = store.chunks([key]).get(key)
    if not sentences or lead is None:
        return None
    first = sentences[0].sentence
    length = byline_length(first.text)
    end = first.start + (length or len(first.text))
    return Quote(Hit(lead, 1.0, key=key), first.start, end, first.text[: end - first.start], 1.0), length > 0


def story_credit(store: Store, question: str, query: str, hits: list[Hit], asked: CreditQuestion) -> Answer:
    """Who reported, or which outlet ran, the story the question names (the best hit's), citing its
    byline; an abstention when the hits do not tell that story."""
    article = store.articles_by_id([hits[0].chunk.article_id]).get(hits[0].chunk.article_id) if hits else None
    if article is None or not _tells(store, query, article, hits):
        return abstain(question, hits)
    found = byline_quote(store, article)
    if found is None:
        return abstain(question, hits)
    quote, is_byline = found
    return cited(question, [(_credit_statement(article, quote, is_byline, asked.asks), quote)])


def _tells(store: Store, query: str, article: IndexedArticle, hits: list[Hit]) -> bool:
    """Whether the article is the story the query names (any story, when it names none: "这篇报道的作者是谁？")."""
    terms = story_terms(query)
    if not terms:
        return True
    told = "\n".join([article.title] + [h.chunk.text for h in hits if h.chunk.article_id == article.id])
    return coverage(store.term_weights(terms), told) >= MIN_STORY_COVERAGE


def _credit_statement(article: IndexedArticle, quote: Quote, is_byline: bool, asks: str) -> str:
    """The byline itself when it answers ("中国新报讯（罗志雄）"), else what the article's fields say."""
    if is_byline and (asks == "reporter" or (article.source and article.source in quote.text)):
        return quote.text
    title, reporters, source = f"《{article.title}》", "、".join(article.reporters), article.source
    if asks == "reporter":
        said = f"{title}的记者是{reporters}" if reporters else f"{title}没有署名记者"
        return said + (f"，发布媒体是{source}。" if source else "。")
    if source:
        return f"{title}由{source}发布" + (f"，记者{reporters}。" if reporters else "。")
    return f"{title}没有注明发布媒体" + (f"，记者是{reporters}。" if reporters else "，也没有署名记者。")


def credited_stories(store: Store, question: str, asked: CreditQuestion) -> Answer | None:
    """The stories the named reporter (or else outlet) is credited with, newest first, each cited by
    its byline; a plain refusal when there are none and the name is surely a reporter's or an
    outlet's; None when it may be anyone's ("华为发布了什么新闻？": the articles' text answers)."""
    found = store.articles_by_byline(asked.name)
    as_reporter = [a for a in found if asked.name in a.reporters]
    listed = sorted(as_reporter or found, key=lambda a: a.date or "", reverse=True)
    statements = []
    for article in listed[:MAX_LISTED]:
        quoted = byline_quote(store, article)
        if quoted is not None:
            day = article.date.split("T")[0]
            statements.append((f"《{article.title}》" + (f"（{day}）" if day else ""), quoted[0]))
    credit = "署名" if as_reporter or not looks_like_outlet(asked.name) else "发布"
    if not statements:
        return refuse(question, f"资料中没有{asked.name}{credit}的报道。") if asked.surely_a_byline else None
    newest = f"，最新的{MAX_LISTED}篇" if len(listed) > MAX_LISTED else ""
    return cited(question, statements, f"{asked.name}{credit}的报道共{len(listed)}篇{newest}：", "；")
