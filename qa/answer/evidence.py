"""Which hits an answer may draw on, and what the store knows of the articles it cites.

Rules of news evidence, each a function of the hits and the store: a question about a period is
answered from the reports of that period (or the newest report, for "最新…"); the same story told
by several outlets is quoted once, from its earliest report, the others named as "另见"; a story's
lead (its opening chunk) is read beside the hits; a citation carries its article's reporters, web
address and origin.
"""

from __future__ import annotations

from dataclasses import replace

from qa.answer.compose import Citation
from qa.index.stores import Store
from qa.index.stores.base import lead_key
from qa.search.question_time import AskedTime, published_day, time_match
from qa.search.retrieval import Hit


def of_the_asked_time(hits: list[Hit], asked: AskedTime) -> list[Hit]:
    """The hits an answer may quote without mixing periods: the reports published in the asked
    period, or those of the newest report for "最新…" (all hits when no publication date decides:
    a passage that merely names the year may hold the answer in a neighbouring chunk)."""
    if asked.periods:
        published_in = [h for h in hits if time_match(asked, h.chunk.date, h.chunk.text) == 2]
        return published_in or hits
    if asked.latest and hits:
        newest = published_day(hits[0].chunk.date)
        if newest:
            return [h for h in hits if published_day(h.chunk.date) == newest]
    return hits


def one_per_story(store: Store, hits: list[Hit]) -> list[Hit]:
    """The hits without other outlets' copies of a story: of the articles of one story among
    the hits, only the earliest one's chunks are kept (every chunk of it)."""
    listed = store.articles_by_id([h.chunk.article_id for h in hits])
    story_of = {i: (a.story or a.id) for i, a in listed.items()}
    chosen: dict[str, Hit] = {}  # story → a hit of the earliest article that tells it
    for hit in hits:
        story = story_of.get(hit.chunk.article_id, hit.chunk.article_id)
        held = chosen.get(story)
        if held is None or (hit.chunk.date or "9999") < (held.chunk.date or "9999"):
            chosen[story] = hit
    return [h for h in hits
            if chosen[story_of.get(h.chunk.article_id, h.chunk.article_id)].chunk.article_id == h.chunk.article_id]


def with_lead(store: Store, hits: list[Hit]) -> list[Hit]:
    """The hits and, after them, the opening chunk of the best hit's article: a news story's
    lead says who, what, when and where, in words a question about the story rarely shares."""
    if not hits:
        return hits
    lead = lead_key(hits[0].key)
    if any(h.key == lead for h in hits):
        return hits
    chunk = store.chunks([lead]).get(lead)
    return hits + [Hit(chunk, 0.0, key=lead)] if chunk else hits


def other_outlets(store: Store, article_id: str) -> tuple[str, ...]:
    """The other outlets (or titles) of the article's story, for "另见"."""
    listed = store.articles_by_id([article_id]).get(article_id)
    story = (listed.story or listed.id) if listed else article_id
    names = [a.source or a.title for a in store.story_members([story]).get(story, []) if a.id != article_id]
    return tuple(dict.fromkeys(n for n in names if n))


def described(store: Store, citations: list[Citation]) -> list[Citation]:
    """The citations with what the store knows of their articles: reporters, web address, origin, other
    outlets ("另见")."""
    listed = store.articles_by_id([c.article_id for c in citations]) if citations else {}
    known = {c.article_id: listed.get(c.article_id) for c in citations}
    return [replace(c, also=other_outlets(store, c.article_id), reporters=a.reporters, url=a.url, origin=a.origin)
            if (a := known[c.article_id]) else replace(c, also=other_outlets(store, c.article_id)) for c in citations]
