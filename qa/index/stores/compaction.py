"""When and how the local store's segments are merged: a write adds one segment for its new chunks;
small segments are merged when there are too many, and everything is compacted into one when the
removed or added chunks make up a large share (qa/index/stores/local.py publishes the result)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import numpy as np

from qa.index.stores.base import article_num_of, article_nums_of
from qa.index.stores.local_tables import chunk_terms_and_vectors
from qa.index.stores.segment import Segment

MAX_SEGMENTS = 4  # beyond this many, the segments after the first are merged into one
COMPACT_SHARE = 0.25  # removed (or added) chunks beyond this share of the first segment: merge all


def segment_name(generation: int, kind: str = "") -> str:
    """Unique across builds too: a reopened store reuses loaded segments by name."""
    return f"g{generation:06d}{kind}-{os.urandom(4).hex()}"


def segment_of(db: sqlite3.Connection, folder: Path, dim: int, keys: list[int], name: str) -> Segment:
    """A segment of these chunks in `folder`/name, from their vectors and terms in the database."""
    terms, vectors = chunk_terms_and_vectors(db, keys)
    stacked = np.stack([vectors[k] for k in keys]) if keys else np.zeros((0, dim), np.float32)
    return Segment.write(folder / name, np.array(keys, np.int64), stacked, [terms[k] for k in keys])


def merged(db: sqlite3.Connection, folder: Path, dim: int, segments: list[Segment], removed: set[int],
           generation: int) -> list[Segment]:
    """The segments after a write's merges (new ones written in `folder`): all into one when removed or
    added chunks make up a large share of the first, the small ones into one when there are too many."""
    if len(segments) <= 1 and not removed:
        return segments
    base = len(segments[0]) if segments else 0
    gone = sum(int(np.isin(article_nums_of(s.keys), list(removed)).sum()) for s in segments) if removed else 0
    added = sum(len(s) for s in segments[1:])
    if base == 0 or gone > COMPACT_SHARE * base or added > COMPACT_SHARE * base:
        return [_merge(db, folder, dim, segments, removed, segment_name(generation, "m"))] if segments else []
    if len(segments) > MAX_SEGMENTS:
        return [segments[0], _merge(db, folder, dim, segments[1:], removed, segment_name(generation, "m"))]
    return segments


def _merge(db: sqlite3.Connection, folder: Path, dim: int, segments: list[Segment], removed: set[int],
           name: str) -> Segment:
    """One segment of the live chunks of `segments`."""
    keys = [int(k) for s in segments for k in s.keys if article_num_of(int(k)) not in removed]
    return segment_of(db, folder, dim, keys, name)
