"""An immutable part of the local store: some chunks' keys, a FAISS index of their vectors and a
BM25 index (bm25s) of their jieba terms. A build writes one segment; an update adds one for the
new chunks; segments are merged now and then (qa/stores/local.py says when)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

# Above this many chunks a segment searches through HNSW instead of an exact scan: at 20,000 e5
# vectors an exact scan takes ~1.2 ms (a tenth of embedding the query), at 50,000 ~4 ms, while HNSW
# keeps recall@10 ≈ 0.99 under 0.5 ms (benchmarks/ann_threshold.py). HNSW keeps its vectors as
# 8-bit scalars (a quarter of the memory: 1M chunks in ~0.4 GB); answers re-score with the exact ones.
ANN_THRESHOLD = 20_000
HNSW_NEIGHBOURS = 32
HNSW_EF_SEARCH = 128
# Above this many chunks BM25 skips what it can of common terms' postings (Segment.top); below,
# reading them all is as fast.
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
        # bm25s' postings as plain arrays (slicing a memory map's subclass costs more than reading a
        # rare term's posting) and each term's largest part of a score, found once
        self._data, self._indices, self._indptr = (np.asarray(bm25.scores[name]) for name in ("data", "indices", "indptr"))
        self._largest: dict[int, np.ndarray] = {}  # token → [its largest part] (empty: no posting)
        self._spare: list[_Scratch] = []  # MaxScore's working arrays, one per search running at once
        self._spare_lock = threading.Lock()
        self._excluding: tuple | None = None  # the last `skip` and the FAISS search parameters made for it

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
            kept = np.ones(len(self.keys), dtype=bool)
            kept[skip] = False
            bits = np.packbits(kept, bitorder="little")
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
            found.append(Posting(indices[start:end], part, scale, largest))
        return found

    def top(self, terms: list[str], k: int, idf_ratio: dict[str, float] | None = None,
            skip: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(rows, BM25 scores) of the k best-scoring chunks holding any of the terms, never those at
        the rows in `skip`; with `idf_ratio`, each term's part is scaled (to the IDF of all segments).

        Exactly the k that scoring every posting would find, with the same scores, but the long
        postings of common terms are mostly not read (MaxScore): terms are taken from the one that
        can add most to a chunk; once the terms left could not lift a chunk that none of the terms
        so far holds above the k-th best score so far, only the chunks already found are looked up
        in their postings. Each chunk's score is summed in the query's term order, as bm25s sums it."""
        postings = self._postings(terms, idf_ratio)
        if not postings or k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        skip = skip if skip is not None and len(skip) else None
        found = self._candidates(postings, k, skip) if len(self.keys) > MAXSCORE_ABOVE else None
        if found is None:  # the terms are common enough that reading all their postings is cheaper
            summed = np.zeros(len(self.keys), dtype=postings[0].part.dtype)
            touched = np.zeros(len(self.keys), dtype=bool)
            for posting in postings:  # a term's postings name each chunk once: a plain indexed add is exact
                summed[posting.rows] += posting.scores()
                touched[posting.rows] = True
            if skip is not None:
                touched[skip] = False
            found = np.flatnonzero(touched)
            summed = summed[found]
        else:
            summed = np.zeros(len(found), dtype=postings[0].part.dtype)
            for posting in postings:  # the exact scores, added in the query's order
                summed += posting.part_of(found)
        if len(found) > k:  # the k best; of chunks tied at the k-th score, those of the lowest rows
            kth = np.partition(summed, len(summed) - k)[len(summed) - k]
            above = np.flatnonzero(summed > kth)
            best = np.concatenate([above, np.flatnonzero(summed == kth)[: k - len(above)]])
            found, summed = found[best], summed[best]
        return found, summed

    def _candidates(self, postings: list["Posting"], k: int, skip: np.ndarray | None) -> np.ndarray | None:
        """The few rows that can be among the k best (ascending), never those in `skip`; None when
        finding them would mean reading more postings than a quarter of the segment's chunks (then
        reading them all is as cheap). Scores here are float64, with margins for the float32 sums
        bm25s' scores are made of; top() sums the exact ones."""
        bounds = [posting.bound() for posting in postings]
        order = sorted(range(len(postings)), key=lambda i: -bounds[i])
        scratch = self._borrow(skip)
        partial, touched = scratch.partial, scratch.touched  # touched: read already, or skipped
        parts: list[np.ndarray] = []  # the rows each posting read adds
        left, read, most = sum(bounds), 0, 0.0  # most: the highest score a chunk can have from the terms read
        found = np.zeros(0, np.int64)
        taken, floor = 0, 0.0  # floor: a score at least k chunks are known to reach
        for taken, i in enumerate(order, start=1):  # read whole postings, the most telling terms first
            rows = postings[i].rows
            read += len(rows)
            if read > len(self.keys) // 4:
                self._give_back(scratch, parts)
                return None
            partial[rows] += postings[i].scores()
            parts.append(rows[~touched[rows]])
            touched[parts[-1]] = True
            left -= bounds[i]
            most += bounds[i]
            found = np.concatenate(parts)
            if len(found) >= k and left < most:
                floor = _floor(found, partial[found], [postings[j] for j in order[taken:]], k)
                if left < floor:
                    break  # no chunk only the terms left hold can reach the k best
        scores = partial[found]
        self._give_back(scratch, parts)
        for i in order[taken:]:  # the terms left: look the candidates up in their postings
            found, scores = _reachable(found, scores, left, k, floor)
            scores += postings[i].part_of(found)
            left -= bounds[i]
        return np.sort(_reachable(found, scores, max(left, 0.0), k, floor)[0])

    def _borrow(self, skip: np.ndarray | None) -> "_Scratch":
        """Working arrays as long as the segment, all zero but for the skipped rows (touched): made
        once and lent to one search at a time, not allocated and cleared for each (9 MB at 1M chunks).
        A search that fails does not give them back: they may hold half of what it wrote."""
        with self._spare_lock:
            scratch = self._spare.pop() if self._spare else None
        if scratch is None:
            scratch = _Scratch(np.zeros(len(self.keys), np.float64), np.zeros(len(self.keys), bool))
        if scratch.skip is not skip:
            scratch.touched[:] = False
            if skip is not None:
                scratch.touched[skip] = True
            scratch.skip = skip
        return scratch

    def _give_back(self, scratch: "_Scratch", parts: list[np.ndarray]) -> None:
        """Zero what a search wrote (at the rows it found and the skipped ones) and lend the arrays again."""
        for rows in parts:
            scratch.partial[rows] = 0.0
            scratch.touched[rows] = False
        if scratch.skip is not None:
            scratch.partial[scratch.skip] = 0.0
        with self._spare_lock:
            self._spare.append(scratch)


class _Scratch:
    """MaxScore's working arrays for one segment: each row's partial score, and whether it was read."""

    def __init__(self, partial: np.ndarray, touched: np.ndarray) -> None:
        self.partial, self.touched = partial, touched
        self.skip: np.ndarray | None = None  # the rows marked touched from the start


class Posting:
    """One term's postings in a segment: the rows of the chunks that hold it (ascending) and its
    part of their BM25 scores, times `scale` (the IDF of all segments over this one's) when given.
    Scaled only where read: MaxScore reads few entries of a common term's long posting."""

    def __init__(self, rows: np.ndarray, part: np.ndarray, scale: float | None, largest: np.ndarray) -> None:
        self.rows, self.part, self.scale = rows, part, scale
        self.largest = largest  # [the largest part] (none for an empty posting), unscaled

    def _scaled(self, part):
        return part if self.scale is None else part * self.scale  # stays float32, like the stored scores

    def scores(self) -> np.ndarray:
        """The term's part of each of its rows' scores."""
        return self._scaled(self.part)

    def bound(self) -> float:
        """The most the term adds to any chunk's score (scaling is monotonic: the max of the scaled)."""
        return float(self._scaled(self.largest)[0]) if len(self.largest) else 0.0

    def part_of(self, found: np.ndarray) -> np.ndarray:
        """The term's part of the score of each row in `found` (0 where the term is not in it)."""
        rows, part = self.rows, self.part
        if not len(rows):
            return np.zeros(len(found), part.dtype)
        at = np.minimum(np.searchsorted(rows, found), len(rows) - 1)
        return np.where(rows[at] == found, self._scaled(part[at]), part.dtype.type(0))


def _kth(scores: np.ndarray, k: int) -> float:
    """The k-th highest score, lowered by a margin for float32 rounding."""
    return float(np.partition(scores, len(scores) - k)[len(scores) - k]) * (1 - 1e-5)


def _floor(rows: np.ndarray, partial: np.ndarray, unread: list["Posting"], k: int) -> float:
    """A score that k of the rows reach in full: the k-th best full score of the k rows with the best
    partial scores, their parts of the unread terms looked up (far above the k-th best partial score
    when the rows found first hold most of the query's terms), lowered by a margin for float32 rounding."""
    best = np.argpartition(partial, len(partial) - k)[len(partial) - k:] if len(partial) > k else np.arange(len(partial))
    full = partial[best]
    for posting in unread:
        full = full + posting.part_of(rows[best])
    return _kth(full, k)


def _reachable(rows: np.ndarray, scores: np.ndarray, left: float, k: int,
               floor: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The rows whose score, plus at most `left` more, can still reach the k-th best (or `floor`)."""
    if len(rows) <= k:
        return rows, scores
    keep = (scores + left) * (1 + 1e-5) >= max(_kth(scores, k), floor)
    return rows[keep], scores[keep]
