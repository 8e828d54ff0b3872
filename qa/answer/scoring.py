"""Features of a candidate answer sentence, and the learned scorer that turns them into P(answers).

A candidate is a sentence of a retrieved passage. Its features say how the sentence relates to
the question by meaning (e5 similarity of the sentence, precomputed at build time, and of its
passage), by words (IDF-weighted coverage of the question's terms, character bigrams), by the
kind of thing the question asks for (a number, a date, a person, a place) and by where it was
found (the passage's rank). `models/scorer.json`, written by `scripts/train_scorer.py`, holds
two logistic regressions: one ranks the sentences, the other reads the ranked evidence as a
whole and decides whether the passages answer the question at all.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from qa.errors import ModelLoadError
from qa.index.stores import Store
from qa.index.stores.base import article_num_of
from qa.ingest.byline import is_byline
from qa.ingest.chunking import Sentence
from qa.ingest.text import normalise, tagged_words
from qa.search.retrieval import Hit

SCORER_PATH = Path(__file__).resolve().parents[1] / "models" / "scorer.json"

_POSTS = "书记|省长|市长|部长|局长|厅长|主任|院士|院长|董事长|总经理|首席执行官|教授|记者|主席|总统|总理|代表|专家|委员|经理|校长|队长|教练|导演|作家"
_PERSON = rf"[\u4e00-\u9fff]{{1,8}}(?:{_POSTS})|(?:{_POSTS})[、，]?[\u4e00-\u9fff]{{2,3}}"
# Question word → what an answering sentence contains.
_CUES = [
    (re.compile(r"多少|几[个名家次年天项位人条所座万亿%]|多大|多高|多长|多远|多久|多重|比例|百分之|数量|增长|下降|规模"),
     re.compile(r"[0-9０-９]|[一二三四五六七八九十百千万亿两]+[个家名万亿元吨米人次列辆座项%倍]")),
    (re.compile(r"何时|什么时候|哪一年|哪年|哪天|哪一天|几月|几号|日期|时间|多会儿|啥时候"),
     re.compile(r"\d{2,4}年|\d{1,2}月|\d{1,2}日|[一二三四五六七八九十]+月|今年|去年|明年|当日|当天|昨天|今天|世纪|年代")),
    (re.compile(r"谁|哪位|什么人|何人|职务|职位|担任|头衔|哪些人"), re.compile(_PERSON)),
    (re.compile(r"哪里|哪儿|何地|哪个国家|哪个城市|哪个省|哪国|什么地方|在哪|何处|哪座"),
     re.compile(r"[\u4e00-\u9fff]{2,}(?:省|市|县|区|镇|村|国|州|港|站|口岸|中心|岛|山|河|湖)"
                r"|中国|美国|俄罗斯|日本|欧洲|北京|上海|广州|深圳|武汉")),
]
_WORD_CHAR = re.compile(r"[\w\u4e00-\u9fff]")

FEATURES = (
    "sentence_sim", "sentence_sim_gap", "sentence_sim_rank", "passage_sim", "passage_sim_gap", "inverse_rank",
    "lexical_share", "coverage", "coverage_gap", "previous_coverage", "next_coverage", "context_coverage",
    "passage_coverage", "title_coverage", "missing_top_weight", "missing_near", "missing_constraints",
    "bigram_recall", "top_term", "cue", "asks_cue",
    "novelty", "log_length", "first_sentence", "question_terms",
)


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved passage, the best-ranked hit it was found in, and its score."""

    hit: Hit
    sentence: Sentence
    key: int  # the sentence's key in the store
    score: float = 0.0

    @property
    def start(self) -> int:
        return self.sentence.start

    @property
    def end(self) -> int:
        return self.sentence.end

    @property
    def text(self) -> str:
        return self.sentence.text


def question_cue(question: str) -> re.Pattern | None:
    """What an answering sentence should contain, from the question word; None if no cue."""
    for asks, contains in _CUES:
        if asks.search(question):
            return contains
    return None


@lru_cache(maxsize=65536)
def folded(text: str) -> str:
    """`normalise(text)`, remembered: passages recur across questions and OpenCC is slow."""
    return normalise(text)


def coverage(terms: dict[str, float], text: str) -> float:
    """Share of the question's IDF weight whose terms occur in the text."""
    total = sum(terms.values())
    if not total:
        return 0.0
    text = folded(text)
    return sum(w for t, w in terms.items() if t in text) / total


@lru_cache(maxsize=4096)  # the sentences of recent hits (a set of bigrams weighs ~5 KB)
def _bigrams(text: str) -> frozenset[str]:
    chars = [c for c in folded(text) if _WORD_CHAR.match(c)]
    return frozenset(a + b for a, b in zip(chars, chars[1:]))


_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_NAME_TAGS = ("nr", "nrt", "ns", "nt", "nz")
_NOT_NAMES = frozenset({"东西", "中方", "国内", "国外", "当地", "全国"})


def constraint_terms(question: str) -> set[str]:
    """What the question pins down: the names (people, places, organisations) and numbers it
    states. An answer about another place, year or count does not answer it."""
    names = {folded(word) for word, tag in tagged_words(question)
             if tag in _NAME_TAGS and len(word) >= 2 and word not in _NOT_NAMES}
    return names | set(_NUMBER.findall(folded(question)))


def _neighbour_coverage(texts: dict[int, str], key: int, step: int, weights: dict[str, float]) -> float:
    """Coverage of the sentence before (step -1) or after (+1) in the same article; 0 at its ends."""
    other = texts.get(key + step)
    return coverage(weights, other) if other is not None else 0.0


def gather(store: Store, hits: list[Hit]) -> tuple[list[Candidate], dict[int, str], set[int]]:
    """Every sentence of the hits, once, with the best-ranked hit that holds it; the text of every
    sentence of their articles, by key (for the neighbours); and the keys of their leads' first
    sentences (after a byline line: "中国网 11月19日 讯（记者 王瑞芳）" is not the lead)."""
    by_article = store.sentences_of([article_num_of(h.key) for h in hits])
    found: dict[int, Candidate] = {}
    for hit in hits:
        chunk = hit.chunk
        for stored in by_article.get(article_num_of(hit.key), []):
            if stored.sentence.start >= chunk.start and stored.sentence.end <= chunk.end:
                found.setdefault(stored.key, Candidate(hit, stored.sentence, stored.key))
    texts = {s.key: s.sentence.text for sentences in by_article.values() for s in sentences}
    leads = {sentences[1 if len(sentences) > 1 and is_byline(sentences[0].sentence.text) else 0].key
             for sentences in by_article.values() if sentences}
    return list(found.values()), texts, leads


def features(question: str, query_vector: np.ndarray, store: Store, hits: list[Hit],
             weights: dict[str, float]) -> tuple[list[Candidate], np.ndarray]:
    """The candidates of the hits and their feature matrix (rows in FEATURES order)."""
    candidates, texts, leads = gather(store, hits)
    if not candidates:
        return [], np.zeros((0, len(FEATURES)), np.float32)
    sentence_sim = store.sentence_vectors([c.key for c in candidates]) @ query_vector
    sim_rank = np.argsort(np.argsort(-sentence_sim, kind="stable"), kind="stable")
    keys = list(dict.fromkeys(h.key for h in hits))
    passage_sims = dict(zip(keys, (store.chunk_vectors(keys) @ query_vector).tolist()))
    best_passage = max(passage_sims.values())
    best_lexical = max((h.lexical or 0.0) for h in hits) or 1.0
    top_weight = max(weights.values(), default=0.0) or 1.0
    rank = {h.key: n for n, h in enumerate(hits, start=1)}
    cue = question_cue(question)
    question_bigrams = _bigrams(question)
    question_chars = set(folded(question))
    constraints = constraint_terms(question)
    top_term = max(weights, key=weights.get) if weights else None
    covered = np.array([coverage(weights, c.text) for c in candidates])
    passages: dict[int, tuple] = {}  # what depends on the passage only, once per hit
    for hit in hits:
        if hit.key not in passages:
            title, passage = folded(hit.chunk.title), folded(hit.chunk.title + hit.chunk.text)
            passages[hit.key] = (title, coverage(weights, passage), coverage(weights, hit.chunk.title),
                                      max((w for t, w in weights.items() if t not in passage), default=0.0) / top_weight)
    table = np.zeros((len(candidates), len(FEATURES)), np.float32)
    for i, c in enumerate(candidates):
        chunk = c.hit.chunk
        local = c.start - chunk.start
        context = chunk.text[max(0, local - 60): min(len(chunk.text), c.end - chunk.start + 30)]
        text, near = folded(c.text), folded(context)
        title, passage_coverage, title_coverage, missing_top_weight = passages[c.hit.key]
        table[i] = (
            sentence_sim[i], sentence_sim[i] - sentence_sim.max(), math.log(1 + sim_rank[i]),
            passage_sims[c.hit.key], passage_sims[c.hit.key] - best_passage,
            1.0 / rank[c.hit.key], (c.hit.lexical or 0.0) / best_lexical,
            covered[i], covered[i] - covered.max(),
            _neighbour_coverage(texts, c.key, -1, weights), _neighbour_coverage(texts, c.key, 1, weights),
            coverage(weights, context), passage_coverage, title_coverage, missing_top_weight,
            max((w for t, w in weights.items() if t not in near), default=0.0) / top_weight,
            sum(1 for t in constraints if t not in near and t not in title) / max(1, len(constraints)),
            len(question_bigrams & _bigrams(c.text)) / max(1, len(question_bigrams)),
            1.0 if top_term and top_term in text else 0.0,
            1.0 if cue and cue.search(c.text) else 0.0, 1.0 if cue else 0.0,
            sum(1 for ch in text if ch not in question_chars) / max(1, len(text)),
            math.log(1 + len(c.text)), 1.0 if c.key in leads else 0.0, math.log(1 + len(weights)),
        )
    return candidates, table


QUESTION_FEATURES = (
    "best", "second", "total", "best_sentence_sim", "best_passage_sim", "best_coverage",
    "best_passage_coverage", "least_missing_top_weight", "best_title_coverage", "best_missing_near",
    "best_cue", "best_missing_constraints",
)


def question_features(table: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """What the evidence as a whole says, for the abstention decision (QUESTION_FEATURES order)."""
    if not len(probs):
        return np.zeros(len(QUESTION_FEATURES))
    order = np.argsort(-probs, kind="stable")
    column = {name: table[:, FEATURES.index(name)] for name in
              ("sentence_sim", "passage_sim", "coverage", "passage_coverage", "missing_top_weight", "title_coverage",
               "missing_near", "cue", "asks_cue", "missing_constraints")}
    return np.array([
        probs[order[0]], probs[order[1]] if len(probs) > 1 else 0.0, probs.sum(),
        column["sentence_sim"].max(), column["passage_sim"].max(), column["coverage"].max(),
        column["passage_coverage"].max(), column["missing_top_weight"].min(), column["title_coverage"][order[0]],
        column["missing_near"][order[0]], column["cue"][order[0]] - column["asks_cue"][order[0]],
        column["missing_constraints"][order[0]],
    ])


@dataclass(frozen=True)
class Linear:
    """A logistic regression on standardised features."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def probabilities(self, table: np.ndarray) -> np.ndarray:
        """P(positive) for each row."""
        if not len(table):
            return np.zeros(0)
        z = ((np.atleast_2d(table) - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def to_json(self) -> dict:
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist(), "coef": self.coef.tolist(),
                "intercept": self.intercept}

    @classmethod
    def from_json(cls, stored: dict) -> "Linear":
        return cls(np.array(stored["mean"]), np.array(stored["scale"]), np.array(stored["coef"]),
                   float(stored["intercept"]))


@dataclass(frozen=True)
class Scorer:
    """Two small logistic regressions: P(this sentence holds the answer) over FEATURES, then
    P(the question is answered by these passages) over QUESTION_FEATURES; and the operating point."""

    sentence: Linear
    answerable: Linear
    abstain_below: float  # abstain when P(answerable) is lower
    keep_ratio: float  # a further sentence must reach this share of the best one's probability
    meta: dict

    def judge(self, table: np.ndarray) -> tuple[np.ndarray, float]:
        """Each candidate's probability of holding the answer, and the probability that one does."""
        probs = self.sentence.probabilities(table)
        if not len(probs):
            return probs, 0.0
        return probs, float(self.answerable.probabilities(question_features(table, probs))[0])

    def to_json(self) -> dict:
        """The stored form (qa/models/scorer.json)."""
        return {"features": list(FEATURES), "question_features": list(QUESTION_FEATURES),
                "sentence": self.sentence.to_json(), "answerable": self.answerable.to_json(),
                "abstain_below": self.abstain_below, "keep_ratio": self.keep_ratio, **self.meta}


def load_scorer(path: Path = SCORER_PATH) -> Scorer:
    """The scorer stored at `path`; ModelLoadError if it is missing or was made for other features."""
    try:
        stored = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ModelLoadError(f"cannot read the answer scorer at {path} ({error}): "
                             "rebuild it with `python scripts/train_scorer.py`") from error
    if (tuple(stored.get("features", ())) != FEATURES
            or tuple(stored.get("question_features", ())) != QUESTION_FEATURES):
        raise ModelLoadError(f"the answer scorer at {path} was trained on other features: "
                             "rebuild it with `python scripts/train_scorer.py`")
    known = {"features", "question_features", "sentence", "answerable", "abstain_below", "keep_ratio"}
    return Scorer(Linear.from_json(stored["sentence"]), Linear.from_json(stored["answerable"]),
                  float(stored["abstain_below"]), float(stored["keep_ratio"]),
                  {k: v for k, v in stored.items() if k not in known})
