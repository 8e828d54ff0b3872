"""BM25's best chunks in a large segment without scoring every chunk that holds a common term.

MaxScore (Turtle & Flood, 1995), one chunk at a time over bm25s' postings, compiled with numba
(numpy calls cost microseconds each; here a chunk costs nanoseconds). Terms are taken in the order
of the most they can add to a chunk's score (their bound). Once the k-th best score so far is above
what the weakest terms together can add, a chunk is only looked at if one of the other terms (the
essential ones) holds it; the weak terms' postings are then only looked up, by galloping search, for
chunks that could still reach the k best. A first k-th best score comes from the full scores of the
first rows the strongest term holds, so the common terms drop out from the start. Scores while
searching are float64, compared with a margin for the float32 sums bm25s' scores are made of; the
few rows found are then scored exactly as bm25s scores them.

Imported only for segments above MAXSCORE_ABOVE chunks (qa/index/stores/segment.py): compiling takes a
few seconds the first time and is then cached beside this file (or in numba's user cache).
"""

from __future__ import annotations

import numpy as np
from numba import njit

MARGIN = 1e-5  # relative: far above float32 rounding over a question's few terms
FIRST_ROWS = 1024  # rows of the strongest term scored in full to set the first k-th best score


def best_rows(starts: np.ndarray, ends: np.ndarray, scales: np.ndarray, bounds: np.ndarray,
              indices: np.ndarray, data: np.ndarray, k: int, kept: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(rows ascending, their BM25 scores) of the few rows that can be among the k best, for the query
    whose terms' postings (in the query's order) are indices/data[starts[i]:ends[i]], each part times
    scales[i] and at most bounds[i]; never rows where `kept` is False. The scores are bm25s' own:
    float32 parts (times the scale, in float32) added in the query's order."""
    order = np.argsort(bounds, kind="stable")  # weakest first
    rows, scores, kth = _maxscore(starts[order], ends[order], scales[order], np.cumsum(bounds[order]),
                                  indices, data, k, kept if kept is not None else np.ones(0, np.bool_))
    rows = np.sort(rows[scores >= kth * (1 - MARGIN)])
    return rows, _exact(rows, starts, ends, scales.astype(np.float32), indices, data)


@njit(cache=True, nogil=True)
def _advance(indices, at, end, row):  # pragma: no cover - compiled
    """The first position in indices[at:end] (ascending) holding `row` or more: galloping search."""
    step = 1
    while at + step < end and indices[at + step] < row:
        at += step
        step *= 2
    high = min(at + step, end)
    while at < high:
        middle = (at + high) // 2
        if indices[middle] < row:
            at = middle + 1
        else:
            high = middle
    return at


@njit(cache=True, nogil=True)
def _maxscore(starts, ends, scales, reach, indices, data, k, kept):  # pragma: no cover - compiled
    """(rows, scores, k-th best score) of every row that entered the k best as they were found;
    terms ordered weakest first, reach[i] the most terms 0..i together add to a score."""
    m = len(starts)
    at = starts.copy()
    best = np.empty(k, np.float64)  # a min-heap of the k best scores so far
    n_best = 0
    kth = 0.0
    low = 0.0  # kth lowered by the margin: what a row must reach
    essential = 0  # terms below this one cannot lift a row to `low` together
    rows = np.empty(64, np.int64)
    scores = np.empty(64, np.float64)
    n = 0
    check = len(kept) > 0
    floor = _first_floor(starts, ends, scales, indices, data, k, kept)
    if floor > 0:
        kth = floor
        low = kth * (1 - MARGIN)
        while essential < m and reach[essential] < low:
            essential += 1
    while True:
        row = -1
        for i in range(essential, m):  # the next row any essential term holds
            if at[i] < ends[i]:
                r = indices[at[i]]
                if row < 0 or r < row:
                    row = r
        if row < 0:
            break
        score = 0.0
        for i in range(essential, m):
            if at[i] < ends[i] and indices[at[i]] == row:
                score += data[at[i]] * scales[i]
                at[i] += 1
        i = essential - 1
        while i >= 0 and score + reach[i] >= low:  # the weak terms, strongest first, while they can matter
            at[i] = _advance(indices, at[i], ends[i], row)
            if at[i] < ends[i] and indices[at[i]] == row:
                score += data[at[i]] * scales[i]
            i -= 1
        if i >= 0 or score < low or (check and not kept[row]):
            continue
        if n == len(rows):
            rows = np.concatenate((rows, np.empty(n, np.int64)))
            scores = np.concatenate((scores, np.empty(n, np.float64)))
        rows[n] = row
        scores[n] = score
        n += 1
        if n_best < k:
            _push(best, n_best, score)
            n_best += 1
        elif score > best[0]:
            _replace_least(best, k, score)
        if n_best == k and best[0] > kth:
            kth = best[0]
            low = kth * (1 - MARGIN)
            while essential < m and reach[essential] < low:
                essential += 1
    return rows[:n], scores[:n], kth


@njit(cache=True, nogil=True)
def _first_floor(starts, ends, scales, indices, data, k, kept):  # pragma: no cover - compiled
    """A score k rows are known to reach, before the search starts (0: none): the k-th best full
    score of the first rows the strongest term holds (the rows most likely among the best)."""
    strongest = len(starts) - 1
    count = min(ends[strongest] - starts[strongest], FIRST_ROWS)
    if count < k:
        return 0.0
    at = starts.copy()
    full = np.zeros(count, np.float64)
    for j in range(count):
        row = indices[starts[strongest] + j]
        if len(kept) > 0 and not kept[row]:
            continue
        score = data[starts[strongest] + j] * scales[strongest]
        for i in range(strongest):
            at[i] = _advance(indices, at[i], ends[i], row)
            if at[i] < ends[i] and indices[at[i]] == row:
                score += data[at[i]] * scales[i]
        full[j] = score
    return np.sort(full)[count - k]


@njit(cache=True, nogil=True)
def _exact(rows, starts, ends, scales, indices, data):  # pragma: no cover - compiled
    """Each row's score as bm25s computes it: float32 parts, times the float32 scale, added in the
    query's term order."""
    summed = np.zeros(len(rows), np.float32)
    for i in range(len(starts)):
        at = starts[i]
        for j in range(len(rows)):
            at = _advance(indices, at, ends[i], rows[j])
            if at < ends[i] and indices[at] == rows[j]:
                summed[j] += data[at] * scales[i]
    return summed


@njit(cache=True, nogil=True)
def _push(heap, size, value):  # pragma: no cover - compiled
    heap[size] = value
    child = size
    while child > 0:
        parent = (child - 1) // 2
        if heap[parent] <= heap[child]:
            break
        heap[parent], heap[child] = heap[child], heap[parent]
        child = parent


@njit(cache=True, nogil=True)
def _replace_least(heap, size, value):  # pragma: no cover - compiled
    heap[0] = value
    parent = 0
    while True:
        child = 2 * parent + 1
        if child >= size:
            break
        if child + 1 < size and heap[child + 1] < heap[child]:
            child += 1
        if heap[parent] <= heap[child]:
            break
        heap[parent], heap[child] = heap[child], heap[parent]
        parent = child
