"""Hits → a short extractive answer whose every sentence ends with a citation marker `[n]`.

The only module that knows the `[n]` markup. Sentences of the retrieved chunks are scored by
the question's term coverage (IDF-weighted) of the sentence and of its chunk, the chunk's dense
similarity relative to the other hits, and a cue from the question word (多少 → a number,
谁 → a person, 哪里 → a place, 何时 → a date).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from .chunking import sentence_spans
from .retrieval import Hit
from .text import normalise

MAX_ANSWER_CHARS = 200  # a single quoted sentence is cut to its best clauses beyond this
# Sentence score weights and the answer's shape, tuned on CMRC 2018 dev (docs/evaluation.md).
W_SENTENCE, W_CHUNK, W_DENSE, W_CUE = 0.3, 0.15, 0.2, 0.05
NEARLY_AS_GOOD = 0.7  # a further sentence must score this share of the best one
ANSWER_BUDGET = 160  # characters, for the second and third sentences to fit in
MAX_SENTENCES = 3
MARKER = re.compile(r"\[(\d+)\]")
NOT_FOUND = "资料中没有找到与这个问题相关的内容。"

_POSTS = "书记|省长|市长|部长|局长|厅长|主任|院士|院长|董事长|总经理|首席执行官|教授|记者|主席|总统|总理|代表|专家|委员"
_PERSON = rf"[\u4e00-\u9fff]{{1,8}}(?:{_POSTS})|(?:{_POSTS})[、，]?[\u4e00-\u9fff]{{2,3}}"
# Question word → what an answering sentence contains.
_CUES = [
    (re.compile(r"多少|几|多大|多高|多长|多远|多久|比例|百分之|数量"),
     re.compile(r"[0-9０-９]|[一二三四五六七八九十百千万亿两]+[个家名万亿元吨米人次列辆座项%]")),
    (re.compile(r"何时|什么时候|哪一年|哪年|哪天|几月|几号|日期|时间"),
     re.compile(r"\d{2,4}年|\d{1,2}月|\d{1,2}日|今年|去年|明年|当日|昨天|今天")),
    (re.compile(r"谁|哪位|什么人|何人|职务|职位|担任|头衔"), re.compile(_PERSON)),
    (re.compile(r"哪里|哪儿|何地|哪个国家|哪个城市|哪个省|哪国|什么地方|在哪"),
     re.compile(r"[\u4e00-\u9fff]{2,}(?:省|市|县|区|镇|村|国|州|港|站|口岸|中心)|中国|美国|俄罗斯|日本|欧洲|北京|上海")),
]


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


@dataclass
class Answer:
    """An answer to a question: text with markers, and the citations those markers point to."""

    question: str
    text: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    nearest: list[dict] = field(default_factory=list)  # when abstaining: the closest articles
    notice: str = ""  # e.g. why the LLM answer fell back to the extractive one

    def to_json(self) -> dict:
        """The JSON object `qa ask --json` prints and the web API returns."""
        out = {"question": self.question, "answer": self.text, "abstained": self.abstained,
               "citations": [asdict(c) for c in self.citations]}
        if self.nearest:
            out["nearest"] = self.nearest
        if self.notice:
            out["notice"] = self.notice
        return out


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved chunk, with article offsets and a score."""

    hit: Hit
    start: int  # offsets into the article text
    end: int
    text: str
    score: float
    coverage: float


def strip_markers(text: str) -> str:
    """The answer text without its `[n]` markers."""
    return MARKER.sub("", text)


def question_cue(question: str) -> re.Pattern | None:
    """What an answering sentence should contain, from the question word; None if no cue."""
    for asks, contains in _CUES:
        if asks.search(question):
            return contains
    return None


def coverage(terms: dict[str, float], text: str) -> float:
    """Share of the question's IDF weight whose terms occur in the text."""
    total = sum(terms.values())
    if not total:
        return 0.0
    folded = normalise(text)
    return sum(w for t, w in terms.items() if t in folded) / total


def candidates(question: str, hits: list[Hit], weights: dict[str, float], max_hits: int = 5) -> list[Candidate]:
    """Score every sentence of the top hits as evidence for the question, best first."""
    cue = question_cue(question)
    dense = [h.dense for h in hits[:max_hits] if h.dense is not None]
    low, high = (min(dense), max(dense)) if dense else (0.0, 0.0)
    found: dict[tuple[str, int], Candidate] = {}
    for hit in hits[:max_hits]:
        chunk_coverage = coverage(weights, hit.chunk.title + hit.chunk.text)
        # Dense similarity relative to the other hits: e5's cosines crowd into a narrow band.
        closeness = (hit.dense - low) / (high - low) if hit.dense is not None and high > low else 0.0
        for s, e in sentence_spans(hit.chunk.text):
            text = hit.chunk.text[s:e]
            sentence_coverage = coverage(weights, text)
            score = (W_SENTENCE * sentence_coverage + W_CHUNK * chunk_coverage + W_DENSE * closeness
                     + (W_CUE if cue and cue.search(text) else 0.0))
            key = (hit.chunk.article_id, hit.chunk.start + s)
            if key not in found or found[key].score < score:
                found[key] = Candidate(hit, hit.chunk.start + s, hit.chunk.start + e, text, score, sentence_coverage)
    return sorted(found.values(), key=lambda c: -c.score)


def _clause_window(candidate: Candidate, weights: dict[str, float]) -> Candidate:
    """Cut a sentence longer than the answer limit down to its best-covered clauses."""
    if len(candidate.text) <= MAX_ANSWER_CHARS:
        return candidate
    cuts = [0] + [m.end() for m in re.finditer(r"[，,、：:]", candidate.text)] + [len(candidate.text)]
    best, best_cov = (0, MAX_ANSWER_CHARS), -1.0
    for i in range(len(cuts) - 1):
        j = i + 1
        while j + 1 < len(cuts) and cuts[j + 1] - cuts[i] <= MAX_ANSWER_CHARS:
            j += 1
        span = (cuts[i], min(cuts[j], cuts[i] + MAX_ANSWER_CHARS))
        cov = coverage(weights, candidate.text[span[0]:span[1]])
        if cov > best_cov:
            best, best_cov = span, cov
    s, e = best
    return Candidate(candidate.hit, candidate.start + s, candidate.start + e, candidate.text[s:e],
                     candidate.score, candidate.coverage)


def choose_sentences(ranked: list[Candidate], weights: dict[str, float]) -> list[Candidate]:
    """The best sentence, then the next best ones while nearly as good and within the length budget."""
    if not ranked:
        return []
    chosen = [_clause_window(ranked[0], weights)]
    length = len(chosen[0].text)
    for other in ranked[1:]:
        if len(chosen) == MAX_SENTENCES or other.score < NEARLY_AS_GOOD * ranked[0].score:
            break
        if length + len(other.text) <= ANSWER_BUDGET:
            chosen.append(other)
            length += len(other.text)
    # Sentences of one article read in the article's order.
    first_article = chosen[0].hit.chunk.article_id
    same = sorted((c for c in chosen if c.hit.chunk.article_id == first_article), key=lambda c: c.start)
    return same + [c for c in chosen if c.hit.chunk.article_id != first_article]


def _merge_adjacent(chosen: list[Candidate]) -> list[Candidate]:
    """Consecutive sentences of one chunk become one quote."""
    merged: list[Candidate] = []
    for candidate in chosen:
        previous = merged[-1] if merged else None
        chunk = candidate.hit.chunk
        if previous and previous.hit.chunk.id == chunk.id and 0 <= candidate.start - previous.end <= 1:
            text = chunk.text[previous.start - chunk.start: candidate.end - chunk.start]
            merged[-1] = Candidate(previous.hit, previous.start, candidate.end, text,
                                   max(previous.score, candidate.score), max(previous.coverage, candidate.coverage))
        else:
            merged.append(candidate)
    return merged


def compose(question: str, chosen: list[Candidate]) -> Answer:
    """Answer text with one marker `[n]` after each quote, and the citations they point to."""
    citations: list[Citation] = []
    parts: list[str] = []
    for n, candidate in enumerate(_merge_adjacent(chosen), start=1):
        chunk = candidate.hit.chunk
        citations.append(Citation(n, chunk.article_id, chunk.title, chunk.source, chunk.date,
                                  candidate.text, candidate.start, candidate.end, round(candidate.score, 4)))
        parts.append(f"{candidate.text}[{n}]")
    return Answer(question=question, text="".join(parts), abstained=False, citations=citations)


def abstain(question: str, hits: list[Hit]) -> Answer:
    """Say the articles do not contain the answer, and name the closest articles."""
    nearest, seen = [], set()
    for hit in hits:
        if hit.chunk.article_id not in seen:
            seen.add(hit.chunk.article_id)
            nearest.append({"article_id": hit.chunk.article_id, "title": hit.chunk.title,
                            "source": hit.chunk.source, "date": hit.chunk.date})
    return Answer(question=question, text=NOT_FOUND, abstained=True, nearest=nearest[:3])


def answer_from_hits(question: str, hits: list[Hit], weights: dict[str, float], min_evidence: float) -> Answer:
    """The extractive answer, or an abstention when the best evidence is below `min_evidence`."""
    ranked = candidates(question, hits, weights)
    if not ranked or evidence(ranked) < min_evidence:
        return abstain(question, hits)
    return compose(question, choose_sentences(ranked, weights))


def evidence(ranked: list[Candidate]) -> float:
    """How well the best sentence covers the question: the quantity the abstention threshold applies to."""
    return max(c.coverage for c in ranked[:5]) if ranked else 0.0


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
