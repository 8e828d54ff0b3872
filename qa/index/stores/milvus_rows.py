"""Our records as Milvus rows and back: BM25's document side as a sparse vector, filter literals,
article rows."""

from __future__ import annotations

import json
import zlib

import numpy as np

from qa.index.stores.base import IndexedArticle, split_reporters
from qa.index.stores.bm25 import saturated_frequencies
from qa.index.stores.milvus_collections import FIELDS_OF_FORMAT


def term_id(term: str) -> int:
    """A term's dimension in the sparse vectors (CRC-32: a handful of collisions in a million terms)."""
    return zlib.crc32(term.encode("utf-8"))


def document_weights(terms: list[str], average_length: float) -> dict[int, float]:
    """The document side of BM25 as a sparse vector: each term's saturated frequency at its dimension
    (terms that share a dimension add up)."""
    weights: dict[int, float] = {}
    for term, weight in saturated_frequencies(terms, average_length).items():
        weights[term_id(term)] = weights.get(term_id(term), 0.0) + weight
    return weights


def quoted(values) -> str:
    """Values as a Milvus filter literal list."""
    return json.dumps(list(values), ensure_ascii=False)


def indexed_article(row: dict) -> IndexedArticle:
    """An article from its row (reporters in one text field; older formats' rows lack the later fields)."""
    return IndexedArticle(*(row[f] for f in FIELDS_OF_FORMAT[3]), reporters=split_reporters(row.get("reporters")),
                          origin=row.get("origin") or "")


def vectors_or_nones(vectors: np.ndarray | None, n: int):
    """The vectors, or a None for each of n rows (a record written without its vector)."""
    return vectors if vectors is not None else [None] * n


def sparse_indices(sparse) -> list[int]:
    """The dimensions of a sparse vector as pymilvus returns it (a dict, or a scipy row)."""
    if isinstance(sparse, dict):
        return [int(k) for k in sparse]
    return [int(k) for k in getattr(sparse, "indices", [])]
