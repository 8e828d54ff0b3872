"""Search a store: BM25 over jieba terms, dense search, and their reciprocal-rank fusion."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from qa.config import MODES
from qa.index.embedding import Embedder
from qa.index.stores import Store
from qa.ingest.chunking import Chunk
from qa.ingest.text import query_terms

RRF_K = 60  # the usual reciprocal-rank-fusion constant (Cormack et al., 2009)
CANDIDATES = 50  # hits taken from each side before fusing
QUERY_CACHE = 256
# Above this many chunks a hybrid search runs its dense side on a worker thread while BM25 runs
# here: both take milliseconds there (HNSW, MaxScore) and FAISS and the compiled BM25 loop let go
# of the GIL, so the search costs the slower side instead of their sum (1,000,000 chunks, BM25
# still in numpy: 9.4 → 6.4 ms p50). Below, handing a search to a thread costs more than it saves
# (10,000 chunks: 2.8 → 3.1 ms).
PARALLEL_ABOVE = 50_000
_DENSE_SIDE = ThreadPoolExecutor(max_workers=4, thread_name_prefix="qa-dense-search")


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and the score from each side (None: not found there)."""

    chunk: Chunk
    score: float
    dense: float | None = None
    lexical: float | None = None
    key: int = -1  # the chunk's key in the store


def top_and_each_sides_best(hits: list[Hit], k: int) -> list[Hit]:
    """The first k hits, and after them the best hit of each side (BM25's first, the dense search's
    first) that the fusion ranked lower: the passage that matches the question's words best, or
    its meaning best, is always read (RRF can rank a passage that only one side finds below
    passages both sides find in the middle of their lists)."""
    chosen = hits[:k]
    for side in ("lexical", "dense"):
        scored = [h for h in hits if getattr(h, side) is not None]
        best = max(scored, key=lambda h: (getattr(h, side), -h.key), default=None)
        if best is not None and all(best.key != h.key for h in chosen):
            chosen.append(best)
    return chosen


def side_best(scored: dict[int, float]) -> list[int]:
    """The best-scored key of one side's results (the lowest key of a tie), or none."""
    return [min(scored, key=lambda p: (-scored[p], p))] if scored else []


def reciprocal_rank_fusion(rankings: list[list[int]], k: int = RRF_K) -> dict[int, float]:
    """Σ 1/(k + rank) over the rankings that contain each item (rank counted from 1)."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return fused


class Retriever:
    """Lexical, dense or hybrid search over one store with its embedder; safe to share
    between threads (the query cache is guarded, the rest is read-only)."""

    def __init__(self, store: Store, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder
        self._vectors: dict[str, np.ndarray] = {}
        self._cache_size = QUERY_CACHE
        self._cache_lock = threading.Lock()

    def query_vector(self, query: str) -> np.ndarray:
        """The query's embedding, cached for the recent queries."""
        vector = self._vectors.get(query)
        if vector is None:
            vector = self.embedder.encode_queries([query])[0]
            self.remember({query: vector})
        return vector

    def forget(self) -> None:
        """Drop what is remembered of recent queries, their embeddings and terms (benchmarks time
        a question asked for the first time)."""
        with self._cache_lock:
            self._vectors.clear()
        query_terms.cache_clear()

    def remember(self, vectors: dict[str, np.ndarray]) -> None:
        """Cache query embeddings computed elsewhere (in a batch, for an evaluation)."""
        with self._cache_lock:
            self._vectors.update(vectors)
            self._cache_size = max(self._cache_size, len(vectors))
            while len(self._vectors) > self._cache_size:
                self._vectors.pop(next(iter(self._vectors)))

    def search(self, query: str, k: int = 5, mode: str = "hybrid") -> list[Hit]:
        """The k best chunks for the query, best first; in hybrid mode followed by each side's first
        chunk where the fusion ranked it lower (see `top_and_each_sides_best`)."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)}")
        depth = max(CANDIDATES, k)  # the same fused lists for every k up to 50: `qa eval` searches as `qa ask`
        dense, lexical = self._sides(query, depth, mode)
        if mode == "dense":
            scored = dense
        elif mode == "bm25":
            scored = lexical
        else:
            scored = reciprocal_rank_fusion([list(dense), list(lexical)])
        best = sorted(scored, key=lambda p: (-scored[p], p))[:k]
        if mode == "hybrid":  # each side's first, for `top_and_each_sides_best`
            best += [p for p in dict.fromkeys(side_best(lexical) + side_best(dense)) if p not in best]
        chunks = self.store.chunks(best)
        return [Hit(chunks[p], scored[p], dense.get(p), lexical.get(p), p) for p in best]

    def finds_alone(self, query: str) -> bool:
        """Whether the dense and the lexical side rank the same article first for the query: a
        question that finds its article by itself (most questions that stand alone do; a follow-up
        such as "比分多少？" does not)."""
        dense, lexical = self._sides(query, 1, "hybrid")
        if not dense or not lexical:
            return False
        firsts = self.store.chunks([side_best(dense)[0], side_best(lexical)[0]])
        return len({chunk.article_id for chunk in firsts.values()}) == 1

    def _sides(self, query: str, depth: int, mode: str) -> tuple[dict[int, float], dict[int, float]]:
        """key → score of the dense and of the lexical search (empty for a side the mode leaves out),
        side by side on a large store (see PARALLEL_ABOVE)."""
        vector = self.query_vector(query) if mode != "bm25" else None
        terms = list(query_terms(query)) if mode != "dense" else None
        if mode == "hybrid" and self.store.manifest.chunks > PARALLEL_ABOVE:
            dense_side = _DENSE_SIDE.submit(self.store.dense_search, vector, depth)
            lexical = dict(self.store.lexical_search(terms, depth))
            return dict(dense_side.result()), lexical
        dense = dict(self.store.dense_search(vector, depth)) if vector is not None else {}
        lexical = dict(self.store.lexical_search(terms, depth)) if terms is not None else {}
        return dense, lexical
