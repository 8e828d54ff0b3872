"""An immutable part of the local store: some chunks' keys, a FAISS index of their vectors and a
BM25 index (bm25s, as qa/index/stores/bm25.py makes it) of their jieba terms. A build writes one
segment; an update adds one for the new chunks; segments are merged now and then
(qa/index/stores/compaction.py says when)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qa.index.stores.bm25 import bm25s_module, make_bm25

# Above this many chunks a segment searches through HNSW instead of an exact scan: at 20,000 e5
# vectors an exact scan takes ~1.2 ms (a tenth of embedding the query), at 50,000 ~4 ms, while HNSW
# keeps recall@10 ≈ 0.99 under 0.5 ms (benchmarks/ann_threshold.py). HNSW keeps its vectors as
# 8-bit scalars (a quarter of the memory: 1M chunks in ~0.4 GB); answers re-score with the exact ones.
ANN_THRESHOLD = 20_000
HNSW_NEIGHBOURS = 32
HNSW_EF_SEARCH = 128
# Above this many chunks BM25 skips what it can of common terms' postings (qa/index/stores/maxscore.py);
# below, reading them all is as fast.
MAXSCORE_ABOVE = 50_000


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


class Segment:
    """Chunk keys aligned with a FAISS index and a BM25 index; read-only once written."""

    def __init__(self, name: str, keys: np.ndarray, ann, bm25) -> None:
        self.name = name
        self.keys = keys
        self.ann = ann
        self.bm25 = bm25
        # bm25s' postings as plain arrays (slicing a memory map's subclass costs more than reading a
        # rare term's posting) and each term's largest part of a score, found once
        self._data, self._indices, self._indptr = (np.asarray(bm25.scores[name]) for name in ("data", "indices", "indptr"))
        self._largest: dict[int, np.ndarray] = {}  # token → [its largest part] (empty: no posting)
        self._excluding: tuple | None = None  # the last `skip` and the FAISS search parameters made for it
        self._keeping: tuple | None = None  # the last `skip` and the mask of the rows it keeps

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
        import faiss

        ann = faiss.read_index(str(directory / "faiss.index"))
        if hasattr(ann, "hnsw"):
            ann.hnsw.efSearch = HNSW_EF_SEARCH
        bm25 = bm25s_module().BM25.load(str(directory / "bm25"), load_corpus=False, mmap=True, show_progress=False)
        return cls(directory.name, np.load(directory / "keys.npy"), ann, bm25)

    def __len__(self) -> int:
        return len(self.keys)

    def dense_search(self, vector: np.ndarray, k: int, skip: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(key, cosine) of the k nearest chunks, never those at the rows in `skip` (removed
        articles'): FAISS leaves them out while it searches, so k stays k."""
        k = min(k, len(self.keys))
        if k <= 0:
            return []
        params = self._search_parameters(skip) if skip is not None and len(skip) else None
        scores, rows = self.ann.search(np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32), k, params=params)
        return [(int(self.keys[r]), float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0]

    def _search_parameters(self, skip: np.ndarray):
        """FAISS search parameters that leave out the rows in `skip`, made once for the same array
        (the store keeps one per opening): a bitmap of the kept rows, the cheapest test per visit."""
        import faiss

        excluding = self._excluding
        if excluding is None or excluding[0] is not skip:
            bits = np.packbits(self._kept(skip), bitorder="little")
            select = faiss.IDSelectorBitmap(len(self.keys), faiss.swig_ptr(bits))
            params = (faiss.SearchParametersHNSW(sel=select, efSearch=HNSW_EF_SEARCH) if hasattr(self.ann, "hnsw")
                      else faiss.SearchParameters(sel=select))
            excluding = self._excluding = (skip, bits, select, params)  # what the parameters point to lives with them
        return excluding[3]

    def document_frequency(self, term: str) -> int:
        token = self.bm25.vocab_dict.get(term)
        indptr = self._indptr
        return int(indptr[token + 1] - indptr[token]) if token is not None and token + 1 < len(indptr) else 0

    def _postings(self, terms: list[str], idf_ratio: dict[str, float] | None) -> list["Posting"]:
        """Per query term the segment knows, in the query's order: the chunks that hold it and its
        part of their BM25 scores (scaled by `idf_ratio`, if given)."""
        vocab, data, indices, indptr = self.bm25.vocab_dict, self._data, self._indices, self._indptr
        found = []
        for term in terms:
            token = vocab.get(term)
            if token is None:
                continue
            start, end = int(indptr[token]), int(indptr[token + 1])
            part = data[start:end]
            largest = self._largest.get(token)
            if largest is None:
                largest = self._largest[token] = part.max(keepdims=True) if len(part) else part
            scale = idf_ratio.get(term, 0.0) if idf_ratio is not None else None
            found.append(Posting(indices[start:end], part, scale, largest, start))
        return found

    def top(self, terms: list[str], k: int, idf_ratio: dict[str, float] | None = None,
            skip: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(rows, BM25 scores) of the k best-scoring chunks holding any of the terms, never those at
        the rows in `skip`; with `idf_ratio`, each term's part is scaled (to the IDF of all segments).

        Exactly the k that scoring every posting would find, with the same scores (each chunk's score
        summed in the query's term order, as bm25s sums it). Above MAXSCORE_ABOVE chunks the long
        postings of common terms are mostly not read: see qa/index/stores/maxscore.py."""
        postings = self._postings(terms, idf_ratio)
        if not postings or k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        skip = skip if skip is not None and len(skip) else None
        if len(self.keys) > MAXSCORE_ABOVE:
            found, summed = self._candidates(postings, k, skip)
        else:  # a small segment: reading every posting is as fast
            summed = np.zeros(len(self.keys), dtype=postings[0].part.dtype)
            touched = np.zeros(len(self.keys), dtype=bool)
            for posting in postings:  # a term's postings name each chunk once: a plain indexed add is exact
                summed[posting.rows] += posting.scores()
                touched[posting.rows] = True
            if skip is not None:
                touched[skip] = False
            found = np.flatnonzero(touched)
            summed = summed[found]
        if len(found) > k:  # the k best; of chunks tied at the k-th score, those of the lowest rows
            kth = np.partition(summed, len(summed) - k)[len(summed) - k]
            above = np.flatnonzero(summed > kth)
            best = np.concatenate([above, np.flatnonzero(summed == kth)[: k - len(above)]])
            found, summed = found[best], summed[best]
        return found, summed

    def _candidates(self, postings: list["Posting"], k: int, skip: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """(rows ascending, exact scores) of the few rows that can be among the k best, never those in
        `skip`: MaxScore, compiled (qa/index/stores/maxscore.py)."""
        from qa.index.stores.maxscore import best_rows

        starts = np.array([p.start for p in postings], np.int64)
        return best_rows(starts, starts + [len(p.rows) for p in postings],
                         np.array([1.0 if p.scale is None else p.scale for p in postings]),
                         np.array([p.bound() for p in postings]), self._indices, self._data, k, self._kept(skip))

    def _kept(self, skip: np.ndarray | None) -> np.ndarray | None:
        """Which rows `skip` keeps (None: all), made once for the same array (the store keeps one per opening)."""
        if skip is None:
            return None
        keeping = self._keeping
        if keeping is None or keeping[0] is not skip:
            kept = np.ones(len(self.keys), dtype=bool)
            kept[skip] = False
            keeping = self._keeping = (skip, kept)
        return keeping[1]


class Posting:
    """One term's postings in a segment: the rows of the chunks that hold it (ascending), from
    `start` in the segment's postings, and its part of their BM25 scores, times `scale` (the IDF of
    all segments over this one's) when given."""

    def __init__(self, rows: np.ndarray, part: np.ndarray, scale: float | None, largest: np.ndarray, start: int) -> None:
        self.rows, self.part, self.scale = rows, part, scale
        self.largest = largest  # [the largest part] (none for an empty posting), unscaled
        self.start = start  # where the rows begin in the segment's postings

    def _scaled(self, part):
        return part if self.scale is None else part * self.scale  # stays float32, like the stored scores

    def scores(self) -> np.ndarray:
        """The term's part of each of its rows' scores."""
        return self._scaled(self.part)

    def bound(self) -> float:
        """The most the term adds to any chunk's score (scaling is monotonic: the max of the scaled)."""
        return float(self._scaled(self.largest)[0]) if len(self.largest) else 0.0
