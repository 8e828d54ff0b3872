"""Scored candidate sentences → a short extractive answer whose every sentence ends with a marker `[n]`.

The only module that knows the `[n]` markup. The candidates come ranked by the learned scorer
(`scoring.py`), which has also decided whether to abstain: the best one is quoted, and further
sentences while they reach `keep_ratio` of the best one's probability and fit in the budget.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from qa.answer.scoring import Candidate, coverage
from qa.search.retrieval import Hit

MAX_ANSWER_CHARS = 200  # a single quoted sentence is cut to its best clauses beyond this
ANSWER_BUDGET = 160  # characters, for the second and third sentences to fit in
MAX_SENTENCES = 3
MARKER = re.compile(r"\[(\d+)\]")
NOT_FOUND = "资料中没有找到与这个问题相关的内容。"


@dataclass(frozen=True)
class Citation:
    """A numbered source of an answer: the exact quote and where it stands in its article."""

    n: int
    article_id: str
    title: str
    source: str
    date: str
    quote: str
    start: int
    end: int
    score: float
    also: tuple[str, ...] = ()  # other outlets that ran the same story ("另见")
    reporters: tuple[str, ...] = ()  # who the article's byline credits; `source` is its outlet
    url: str = ""  # the article's original web address, when it came from the web
    origin: str = ""  # "ocr": the quote was read off an image (may hold misread characters); "summary": a feed's summary


@dataclass
class Answer:
    """An answer to a question: text with markers, and the citations those markers point to."""

    question: str
    text: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    nearest: list[dict] = field(default_factory=list)  # when abstaining: the closest articles
    notice: str = ""  # e.g. why the LLM answer fell back to the extractive one
    short: str = ""  # the reader's answer span ("武汉"), when the reader answered

    def to_json(self) -> dict:
        """The JSON object `qa ask --json` prints and the web API returns."""
        out = {"question": self.question, "answer": self.text, "abstained": self.abstained,
               "citations": [asdict(c) for c in self.citations]}
        if self.nearest:
            out["nearest"] = self.nearest
        if self.notice:
            out["notice"] = self.notice
        if self.short:
            out["short_answer"] = self.short
        return out


@dataclass(frozen=True)
class Quote:
    """A span of an article to quote: a sentence, part of one, or neighbouring sentences merged."""

    hit: Hit
    start: int  # offsets into the article text
    end: int
    text: str
    score: float


def strip_markers(text: str) -> str:
    """The answer text without its `[n]` markers."""
    return MARKER.sub("", text)


def _clause_window(quote: Quote, weights: dict[str, float]) -> Quote:
    """Cut a sentence longer than the answer limit down to its best-covered clauses."""
    if len(quote.text) <= MAX_ANSWER_CHARS:
        return quote
    cuts = [0] + [m.end() for m in re.finditer(r"[，,、：:]", quote.text)] + [len(quote.text)]
    best, best_cov = (0, MAX_ANSWER_CHARS), -1.0
    for i in range(len(cuts) - 1):
        j = i + 1
        while j + 1 < len(cuts) and cuts[j + 1] - cuts[i] <= MAX_ANSWER_CHARS:
            j += 1
        span = (cuts[i], min(cuts[j], cuts[i] + MAX_ANSWER_CHARS))
        cov = coverage(weights, quote.text[span[0]:span[1]])
        if cov > best_cov:
            best, best_cov = span, cov
    s, e = best
    return Quote(quote.hit, quote.start + s, quote.start + e, quote.text[s:e], quote.score)


def _quote(candidate: Candidate) -> Quote:
    return Quote(candidate.hit, candidate.start, candidate.end, candidate.text, candidate.score)


def choose_sentences(ranked: list[Candidate], keep_ratio: float, weights: dict[str, float]) -> list[Quote]:
    """The best sentence, then the next best ones while they reach `keep_ratio` of its score and
    fit in the length budget; sentences of one article in the article's order."""
    if not ranked:
        return []
    chosen = [_clause_window(_quote(ranked[0]), weights)]
    length = len(chosen[0].text)
    for other in ranked[1:]:
        if len(chosen) == MAX_SENTENCES or other.score < keep_ratio * ranked[0].score:
            break
        if length + len(other.text) <= ANSWER_BUDGET:
            chosen.append(_quote(other))
            length += len(other.text)
    first_article = chosen[0].hit.chunk.article_id
    same = sorted((q for q in chosen if q.hit.chunk.article_id == first_article), key=lambda q: q.start)
    return same + [q for q in chosen if q.hit.chunk.article_id != first_article]


def _merge_adjacent(chosen: list[Quote]) -> list[Quote]:
    """Consecutive sentences of one chunk become one quote."""
    merged: list[Quote] = []
    for quote in chosen:
        previous = merged[-1] if merged else None
        chunk = quote.hit.chunk
        if (previous and previous.hit.chunk.id == chunk.id and previous.start <= quote.start
                and 0 <= quote.start - previous.end <= 1):
            text = chunk.text[previous.start - chunk.start: quote.end - chunk.start]
            merged[-1] = Quote(previous.hit, previous.start, quote.end, text, max(previous.score, quote.score))
        else:
            merged.append(quote)
    return merged


def _citation(n: int, quote: Quote) -> Citation:
    chunk = quote.hit.chunk
    return Citation(n, chunk.article_id, chunk.title, chunk.source, chunk.date, quote.text, quote.start, quote.end,
                    round(quote.score, 4))


def compose(question: str, chosen: list[Quote]) -> Answer:
    """Answer text with one marker `[n]` after each quote, and the citations they point to."""
    return cited(question, [(quote.text, quote) for quote in _merge_adjacent(chosen)])


def cited(question: str, statements: list[tuple[str, Quote]], opening: str = "", separator: str = "") -> Answer:
    """An answer of statements, each followed by the marker `[n]` of the quote that backs it
    ("《…》（2024-11-19）[1]" backed by its byline), after an opening that needs no source."""
    citations = [_citation(n, quote) for n, (_, quote) in enumerate(statements, start=1)]
    text = opening + separator.join(f"{statement}[{n}]" for n, (statement, _) in enumerate(statements, start=1))
    return Answer(question=question, text=text, abstained=False, citations=citations)


def refuse(question: str, text: str) -> Answer:
    """A plain refusal in our own words: nothing to cite, nothing near to name."""
    return Answer(question=question, text=text, abstained=True)


def abstain(question: str, hits: list[Hit]) -> Answer:
    """Say the articles do not contain the answer, and name the closest articles."""
    nearest, seen = [], set()
    for hit in hits:
        if hit.chunk.article_id not in seen:
            seen.add(hit.chunk.article_id)
            nearest.append({"article_id": hit.chunk.article_id, "title": hit.chunk.title,
                            "source": hit.chunk.source, "date": hit.chunk.date})
    return Answer(question=question, text=NOT_FOUND, abstained=True, nearest=nearest[:3])


def keep_valid_markers(text: str, n_sources: int) -> str:
    """Remove markers that point to no source ([0], or [7] of 5 sources)."""
    return MARKER.sub(lambda m: m.group(0) if 1 <= int(m.group(1)) <= n_sources else "", text)


def answer_from_generation(question: str, text: str, hits: list[Hit]) -> Answer | None:
    """A generated answer citing the hits as [n]: invalid markers dropped, the rest renumbered in
    order of first use, each cited chunk quoted whole. An abstention if it says it found nothing;
    None when it cites nothing (the caller falls back to the extractive answer)."""
    text = keep_valid_markers(text.strip(), len(hits))
    if NOT_FOUND[:6] in text:
        return abstain(question, hits)
    order: dict[int, int] = {}
    for match in MARKER.finditer(text):
        order.setdefault(int(match.group(1)), len(order) + 1)
    if not order:
        return None
    citations = []
    for old, new in order.items():
        hit = hits[old - 1]
        chunk = hit.chunk
        citations.append(Citation(new, chunk.article_id, chunk.title, chunk.source, chunk.date,
                                  chunk.text, chunk.start, chunk.end, round(hit.score, 4)))
    renumbered = MARKER.sub(lambda m: f"[{order[int(m.group(1))]}]", text)
    return Answer(question=question, text=renumbered, abstained=False, citations=citations)
