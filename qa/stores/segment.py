"""An immutable part of the local store: some chunks' keys, a FAISS index of their vectors and a
BM25 index (bm25s) of their jieba terms. A build writes one segment; an update adds one for the
new chunks; segments are merged now and then (qa/stores/local.py says when)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

# Above this many chunks a segment searches through HNSW instead of an exact scan: at 20,000 e5
# vectors an exact scan takes ~1.2 ms (a tenth of embedding the query), at 50,000 ~4 ms, while HNSW
# keeps recall@10 ≈ 0.99 under 0.5 ms (benchmarks/ann_threshold.py). HNSW keeps its vectors as
# 8-bit scalars (a quarter of the memory: 1M chunks in ~0.4 GB); answers re-score with the exact ones.
ANN_THRESHOLD = 20_000
HNSW_NEIGHBOURS = 32
HNSW_EF_SEARCH = 128


def make_ann(vectors: np.ndarray):
    """Exact inner product (cosine on unit vectors) for small segments, HNSW above ANN_THRESHOLD."""
    import faiss

    dim = vectors.shape[1]
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if len(vectors) > ANN_THRESHOLD:
        ann = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        ann.hnsw.efSearch = HNSW_EF_SEARCH
        ann.train(vectors)
    else:
        ann = faiss.IndexFlatIP(dim)
    if len(vectors):
        ann.add(vectors)
    return ann


def make_bm25(terms: list[list[str]]):
    """A BM25 index over each chunk's terms."""
    import bm25s

    bm25 = bm25s.BM25()
    bm25.index([t or [""] for t in terms] or [[""]], show_progress=False)
    return bm25


def idf(n_docs: int, df: int) -> float:
    """BM25's (Lucene's) inverse document frequency, as bm25s computes it."""
    return float(np.log(1 + (n_docs - df + 0.5) / (df + 0.5)))


class Segment:
    """Chunk keys aligned with a FAISS index and a BM25 index; read-only once written."""

    def __init__(self, name: str, keys: np.ndarray, ann, bm25) -> None:
        self.name = name
        self.keys = keys
        self.ann = ann
        self.bm25 = bm25

    @classmethod
    def write(cls, directory: Path, keys: np.ndarray, vectors: np.ndarray, terms: list[list[str]]) -> "Segment":
        import faiss

        directory.mkdir(parents=True)
        segment = cls(directory.name, np.asarray(keys, np.int64), make_ann(vectors), make_bm25(terms))
        np.save(directory / "keys.npy", segment.keys)
        faiss.write_index(segment.ann, str(directory / "faiss.index"))
        segment.bm25.save(str(directory / "bm25"), show_progress=False)
        return segment

    @classmethod
    def load(cls, directory: Path) -> "Segment":
        import bm25s
        import faiss

        ann = faiss.read_index(str(directory / "faiss.index"))
        if hasattr(ann, "hnsw"):
            ann.hnsw.efSearch = HNSW_EF_SEARCH
        bm25 = bm25s.BM25.load(str(directory / "bm25"), load_corpus=False, mmap=True, show_progress=False)
        return cls(directory.name, np.load(directory / "keys.npy"), ann, bm25)

    def __len__(self) -> int:
        return len(self.keys)

    def dense_search(self, vector: np.ndarray, k: int, skip: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(key, cosine) of the k nearest chunks, never those at the rows in `skip` (removed
        articles'): FAISS leaves them out while it searches, so k stays k."""
        import faiss

        k = min(k, len(self.keys))
        if k <= 0:
            return []
        params = None
        if skip is not None and len(skip):
            exclude = faiss.IDSelectorNot(faiss.IDSelectorBatch(skip))
            params = (faiss.SearchParametersHNSW(sel=exclude, efSearch=HNSW_EF_SEARCH) if hasattr(self.ann, "hnsw")
                      else faiss.SearchParameters(sel=exclude))
        scores, rows = self.ann.search(np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32), k, params=params)
        return [(int(self.keys[r]), float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0]

    def document_frequency(self, term: str) -> int:
        token = self.bm25.vocab_dict.get(term)
        indptr = self.bm25.scores["indptr"]
        return int(indptr[token + 1] - indptr[token]) if token is not None and token + 1 < len(indptr) else 0

    def scores(self, terms: list[str], idf_ratio: dict[str, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(rows, BM25 scores) of the segment's chunks holding any of the terms; with `idf_ratio`,
        each term's part is scaled (to the IDF of all segments together). Only the terms' postings
        are read (bm25s' term-major sparse matrix), so the cost follows them (and two passes over a
        flag per chunk); the sums are bm25s' own, added in the same order."""
        vocab = self.bm25.vocab_dict
        tokens = [(vocab[t], t) for t in terms if t in vocab]
        if not tokens:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        data, indices, indptr = (self.bm25.scores[name] for name in ("data", "indices", "indptr"))
        summed = np.zeros(len(self.keys), dtype=data.dtype)
        touched = np.zeros(len(self.keys), dtype=bool)
        for token, term in tokens:  # a term's postings name each chunk once: a plain indexed add is exact
            start, end = int(indptr[token]), int(indptr[token + 1])
            rows = np.asarray(indices[start:end])
            part = np.asarray(data[start:end])
            summed[rows] += part if idf_ratio is None else (part * idf_ratio.get(term, 0.0)).astype(part.dtype)
            touched[rows] = True
        found = np.flatnonzero(touched)
        return found, summed[found]
