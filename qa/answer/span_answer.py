"""The reader's answer: the span it finds in the hits, the sentence that holds it, or a refusal.

The reader scores, in each hit, its best span against "no answer" (`Span.margin`). The best
margin over the hits decides: below the refusal threshold the answer step refuses; above it the
reply quotes the sentence holding the span (cut to its clauses around the span when long), led by
the short answer itself when the reader is sure ("武汉[1]"); when it is not, the sentence of the
runner-up span follows (another sentence of the same article, or another article's when the reader
would have answered with it alone).
"""
from __future__ import annotations

import math
import re

from qa.answer.compose import Answer, Quote, abstain, compose
from qa.answer.reader import Reader, Span, Thresholds
from qa.ingest.chunking import sentence_spans
from qa.search.retrieval import Hit

QUOTE_LIMIT = 90  # characters of a quoted sentence; a longer one is cut to the clauses around the span
_CLAUSE_END = re.compile(r"[，、：:；;]|,(?!\d)|(?<!\d),")  # "1,800" is one number, not two clauses


def best_spans(reader: Reader, query: str, hits: list[Hit]) -> list[Span]:
    """Every hit's best span, most confident first."""
    spans = reader.read(query, [hit.chunk.text for hit in hits])
    return sorted(spans, key=lambda s: -s.margin)


def clauses_around(text: str, start: int, end: int, limit: int = QUOTE_LIMIT) -> tuple[int, int]:
    """[s, e) of `text` holding [start, end): whole clauses, widened on both sides while it fits."""
    if len(text) <= limit:
        return 0, len(text)
    cuts = sorted({0, len(text), *(m.end() for m in _CLAUSE_END.finditer(text))})
    s = max(c for c in cuts if c <= start)
    e = min(c for c in cuts if c >= end)
    while True:
        wider = [(c, e) for c in cuts if c < s] [-1:] + [(s, c) for c in cuts if c > e][:1]
        fitting = [w for w in wider if w[1] - w[0] <= limit]
        if not fitting:
            return s, e
        s, e = min(fitting, key=lambda w: w[1] - w[0])


def sentence_quote(hit: Hit, span: Span) -> Quote:
    """The sentence(s) of the hit's chunk that hold the span, as a quote with article offsets."""
    text = hit.chunk.text
    sentences = sentence_spans(text) or [(0, len(text))]
    s = max((a for a, b in sentences if a <= span.start), default=0)
    e = min((b for a, b in sentences if b >= span.end), default=len(text))
    cut_s, cut_e = clauses_around(text[s:e], span.start - s, span.end - s)
    s, e = s + cut_s, s + cut_e
    return Quote(hit, hit.chunk.start + s, hit.chunk.start + e, text[s:e], probability(span.margin))


def probability(margin: float) -> float:
    """The margin as a probability (a logistic of the start + end logits' lead over no answer)."""
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, margin))))


def read_answer(question: str, spans: list[Span], hits: list[Hit], thresholds: Thresholds) -> Answer:
    """The answer from the best span, or a refusal when no span beats "no answer" enough."""
    if not spans or spans[0].margin < thresholds.refuse_below or not spans[0].text:
        return abstain(question, hits)
    best = spans[0]
    quote = sentence_quote(hits[best.passage], best)
    quotes = [quote]
    if best.margin < thresholds.short_above:  # unsure: the runner-up's sentence too, when it is another
        runners = (s for s in spans[1:] if s.text and _on_point(s, best, hits, thresholds))
        runner = next((q for q in (sentence_quote(hits[s.passage], s) for s in runners)
                       if not _overlaps(q, quote)), None)
        quotes += [runner] if runner else []
    answer = compose(question, quotes)
    answer.short = best.text
    if best.margin >= thresholds.short_above and best.text != quote.text.strip():
        answer.text = f"{best.text}[1]\n{answer.text}"
    return answer


def _on_point(runner: Span, best: Span, hits: list[Hit], thresholds: Thresholds) -> bool:
    """Whether the runner-up span may be quoted beside the best: from the best span's article, or
    from another article only when the reader would have answered with it alone (below the refusal
    threshold another article's sentence is beside the point: "中欧班列…运往哪个国家？" quoted a 5G
    conference's pilot cities at −8.28)."""
    same_article = hits[runner.passage].chunk.article_id == hits[best.passage].chunk.article_id
    return same_article or runner.margin >= thresholds.refuse_below


def _overlaps(a: Quote, b: Quote) -> bool:
    return a.hit.chunk.article_id == b.hit.chunk.article_id and a.start < b.end and b.start < a.end
