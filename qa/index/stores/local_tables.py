"""What the local store's SQLite file (`<dir>/store.db`) holds — articles, chunks and sentences with
their texts and vectors — and how records go in and come out of its tables."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from qa.index.stores.base import (
    Changes,
    IndexedArticle,
    article_key_range,
    joined_reporters,
    split_reporters,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    num INTEGER PRIMARY KEY, id TEXT NOT NULL, title TEXT, source TEXT, date TEXT, url TEXT, path TEXT,
    chunks INTEGER, date_inferred TEXT, story TEXT, text_key TEXT, content TEXT, signature BLOB,
    added INTEGER NOT NULL, removed INTEGER, reporters TEXT, origin TEXT);
CREATE INDEX IF NOT EXISTS articles_id ON articles(id);
CREATE INDEX IF NOT EXISTS articles_story ON articles(story);
CREATE TABLE IF NOT EXISTS chunks (
    key INTEGER PRIMARY KEY, id TEXT, article_id TEXT, title TEXT, source TEXT, date TEXT, text TEXT,
    start INTEGER, end INTEGER, hash TEXT, terms TEXT, vector BLOB);
CREATE INDEX IF NOT EXISTS chunks_hash ON chunks(hash);
CREATE TABLE IF NOT EXISTS sentences (
    key INTEGER PRIMARY KEY, article_id TEXT, text TEXT, start INTEGER, end INTEGER, hash TEXT, vector BLOB);
CREATE INDEX IF NOT EXISTS sentences_hash ON sentences(hash);
"""
ARTICLE_COLUMNS = ("id, title, source, date, url, path, chunks, date_inferred, story, text_key, num, content, "
                   "reporters, origin")
# Older stores' tables lack the later columns: read as empty.
COLUMNS_OF_FORMAT = {4: ARTICLE_COLUMNS.replace(", origin", ", ''"),
                     3: ARTICLE_COLUMNS.replace(", reporters, origin", ", '', ''")}
CHUNK_COLUMNS = "key, id, article_id, title, source, date, text, start, end"
TERM_SEPARATOR = "\x1f"
SQL_BATCH = 900  # parameters per IN (…): under SQLite's limit


def connect(directory: Path) -> sqlite3.Connection:
    """A connection to the store's database in `directory` (made, with its tables, if new)."""
    connection = sqlite3.connect(Path(directory) / "store.db", check_same_thread=False, timeout=30)
    connection.executescript("PRAGMA journal_mode=WAL;" + SCHEMA)
    return connection


def article_from_row(row: tuple) -> IndexedArticle:
    """An article from its row of ARTICLE_COLUMNS (reporters in one text field)."""
    return IndexedArticle(*row[:-2], reporters=split_reporters(row[-2]), origin=row[-1] or "")


def batches(items: list, size: int = SQL_BATCH) -> Iterator[list]:
    """`items` in runs short enough for one `IN (…)`."""
    for at in range(0, len(items), size):
        yield items[at: at + size]


def placeholders(batch: list) -> str:
    """`?,?,…`: one per item of the batch."""
    return ",".join("?" * len(batch))


def _blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, np.float32).tobytes()


def insert_changes(db: sqlite3.Connection, changes: Changes, generation: int) -> None:
    """Insert the added articles and their chunks and sentences, tagged with the generation that adds them."""
    signatures = changes.signatures if changes.signatures is not None else [None] * len(changes.added)
    db.executemany(
        "INSERT INTO articles (id, title, source, date, url, path, chunks, date_inferred, story, text_key, num, "
        "content, signature, added, reporters, origin) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [(a.id, a.title, a.source, a.date, a.url, a.path, a.chunks, a.date_inferred, a.story, a.text_key, a.num,
          a.content, None if s is None else np.asarray(s, np.uint64).tobytes(), generation,
          joined_reporters(a.reporters), a.origin)
         for a, s in zip(changes.added, signatures)])
    db.executemany(
        "INSERT INTO chunks (key, id, article_id, title, source, date, text, start, end, hash, terms, vector) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        [(key, c.id, c.article_id, c.title, c.source, c.date, c.text, c.start, c.end, h,
          TERM_SEPARATOR.join(terms), _blob(v)) for (key, c, h, terms), v in zip(changes.chunks, changes.chunk_vectors)]
        if changes.chunks else [])
    db.executemany(
        "INSERT INTO sentences (key, article_id, text, start, end, hash, vector) VALUES (?,?,?,?,?,?,?)",
        [(key, s.article_id, s.text, s.start, s.end, h, _blob(v))
         for (key, s, h), v in zip(changes.sentences, changes.sentence_vectors)] if changes.sentences else [])


def delete_records(db: sqlite3.Connection, num: int) -> None:
    """Delete the chunks and sentences of the article numbered `num`."""
    bounds = article_key_range(num)
    db.execute("DELETE FROM chunks WHERE key >= ? AND key < ?", bounds)
    db.execute("DELETE FROM sentences WHERE key >= ? AND key < ?", bounds)


def chunk_terms_and_vectors(db: sqlite3.Connection, keys: list[int]) -> tuple[dict[int, list[str]], dict[int, np.ndarray]]:
    """key → jieba terms and key → vector of the chunks with these keys."""
    terms, vectors = {}, {}
    for batch in batches(keys):
        rows = db.execute(f"SELECT key, terms, vector FROM chunks WHERE key IN ({placeholders(batch)})", batch)
        for key, joined, blob in rows:
            terms[key] = joined.split(TERM_SEPARATOR) if joined else []
            vectors[key] = np.frombuffer(blob, np.float32)
    return terms, vectors
