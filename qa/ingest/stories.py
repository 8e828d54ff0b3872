"""One story, many outlets: near-duplicate articles grouped at build time (MinHash + LSH, datasketch).

Wire stories are republished with light edits ("原标题：…", a dateline, a sentence cut). Each
article's text becomes a MinHash of its 5-character shingles; LSH finds candidates and the
estimated Jaccard similarity (≥ 0.7) confirms them. A story is named after its earliest
article (the original, as far as the dates tell); the answer cites a story once and lists the
other outlets ("另见：中新网").
"""

from __future__ import annotations

import hashlib

import numpy as np

NUM_PERM = 64
SHINGLE = 5
SIMILAR = 0.7  # estimated Jaccard of the shingles; 0.6 pairs were different reports of one event
SEED = 1
SCHEME = "affine64"  # datasketch ≥ 2.0's permutation scheme, pinned: stored signatures must stay comparable


def text_key(text: str) -> str:
    """The cache key of an article text's signature."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def signature(text: str) -> np.ndarray:
    """The MinHash signature (NUM_PERM uint64 values) of the text's character shingles."""
    from datasketch import MinHash

    shingles = {text[i: i + SHINGLE].encode("utf-8") for i in range(max(1, len(text) - SHINGLE + 1))}
    minhash = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME)
    minhash.update_batch(list(shingles))
    return minhash.hashvalues.astype(np.uint64)


def group_stories(ids: list[str], dates: list[str], signatures: np.ndarray) -> dict[str, str]:
    """article id → story id (the id of the story's earliest article; undated ones count as latest)."""
    from datasketch import LeanMinHash, MinHashLSH

    order = sorted(range(len(ids)), key=lambda i: (dates[i][:16] if dates[i][:1].isdigit() else "9999", i))
    rank = {ids[i]: r for r, i in enumerate(order)}
    lsh = MinHashLSH(threshold=SIMILAR, num_perm=NUM_PERM)
    hashes = {}
    story: dict[str, str] = {}
    for i in order:
        minhash = LeanMinHash(seed=SEED, hashvalues=signatures[i], scheme=SCHEME)
        similar = [key for key in lsh.query(minhash) if hashes[key].jaccard(minhash) >= SIMILAR]
        story[ids[i]] = story[min(similar, key=rank.__getitem__)] if similar else ids[i]
        hashes[ids[i]] = minhash
        lsh.insert(ids[i], minhash)
    return story
