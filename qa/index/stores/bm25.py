"""BM25 as every store scores it: bm25s' Lucene variant (k1 1.5, b 0.75, Lucene's IDF) over the chunks'
jieba terms, so that both backends give the same scores.

The local store's segments are bm25s indexes made here with these constants (qa/index/stores/segment.py);
the Milvus store keeps BM25's two halves as sparse vectors, the document side each term's saturated
frequency (`saturated_frequencies`) and the query side its IDF (`idf`), whose inner product is the
same score (qa/index/stores/milvus.py).
"""

from __future__ import annotations

import importlib
import sys
from collections import Counter

import numpy as np

K1 = 1.5  # term frequency saturation (bm25s' default)
B = 0.75  # document length normalisation (bm25s' default)
METHOD = "lucene"  # bm25s' name for the variant: Lucene's IDF, no (k1 + 1) factor


def idf(n_docs: int, df: int) -> float:
    """BM25's (Lucene's) inverse document frequency of a term held by `df` of `n_docs` chunks, as bm25s
    computes it."""
    return float(np.log(1 + (n_docs - df + 0.5) / (df + 0.5)))


def saturated_frequencies(terms: list[str], average_length: float) -> dict[str, float]:
    """The document side of BM25: each term's saturated, length-normalised frequency in a chunk
    (Lucene's form, as bm25s has it: without the constant factor k1 + 1), in the order of first use."""
    counts = Counter(terms or [""])
    length = sum(counts.values())
    norm = K1 * (1 - B + B * length / max(average_length, 1e-9))
    return {term: tf / (tf + norm) for term, tf in counts.items()}


def bm25s_module():
    """bm25s, imported without numba: bm25s loads numba whenever it is installed, for a retrieval
    backend this project does not use, and that costs every process ~0.8 s and ~110 MB. numba is
    loaded only where it is used, to search large segments (qa/index/stores/maxscore.py)."""
    if "bm25s" in sys.modules or "numba" in sys.modules:
        return importlib.import_module("bm25s")
    sys.modules["numba"] = None  # type: ignore[assignment]  # `import numba` now raises ImportError
    try:
        return importlib.import_module("bm25s")
    finally:
        del sys.modules["numba"]


def make_bm25(terms: list[list[str]]):
    """A bm25s index over each chunk's terms, with this module's constants."""
    bm25 = bm25s_module().BM25(k1=K1, b=B, method=METHOD)
    bm25.index([t or [""] for t in terms] or [[""]], show_progress=False)
    return bm25
