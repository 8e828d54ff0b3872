"""The default store: one folder on this machine, embedded and offline.

    <dir>/manifest.json      what it was built with, its generation and its live segments (written last)
    <dir>/store.db           SQLite: articles, chunks and sentences with their texts and vectors
    <dir>/segments/<name>/   immutable FAISS + BM25 indexes over some chunks (qa/index/stores/segment.py)

Only the segments' search structures live in memory; texts and vectors stay in SQLite and are read
by key. A write adds its articles' records tagged with the next generation, marks removed articles
with it, adds one segment for the new chunks, and publishes the generation by replacing
manifest.json: readers see the generation of the manifest they loaded, so an update costs in
proportion to what changed and a write cut short is invisible (and undone by the next one).
Small segments are merged when there are too many; everything is compacted into one when the
removed or added chunks make up a large share (qa/index/stores/compaction.py). The SQLite tables are
qa/index/stores/local_tables.py; where the folder is and how a full build replaces it,
qa/index/stores/local_backend.py.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from qa.errors import IndexMismatchError, IndexMissingError
from qa.index.stores.base import (
    REPORTER_SEPARATOR,
    Changes,
    IndexedArticle,
    Manifest,
    StoredSentence,
    article_key_range,
    article_nums_of,
)
from qa.index.stores.bm25 import idf
from qa.index.stores.compaction import merged, segment_name, segment_of
from qa.index.stores.local_tables import (
    ARTICLE_COLUMNS,
    CHUNK_COLUMNS,
    COLUMNS_OF_FORMAT,
    article_from_row,
    batches,
    connect,
    delete_records,
    insert_changes,
    placeholders,
)
from qa.index.stores.segment import Segment
from qa.ingest.chunking import Chunk, Sentence


def resolve_index_dir(directory: Path) -> Path | None:
    """The folder holding the usable index: `directory`, or `<dir>.old` if a swap was cut short."""
    for candidate in (directory, directory.with_name(directory.name + ".old")):
        if (candidate / "manifest.json").is_file():
            return candidate
    return None


def read_manifest(directory: Path) -> Manifest | None:
    """The manifest of the usable index at `directory` (None: none, or not one this version reads)."""
    found = resolve_index_dir(Path(directory))
    if found is None:
        return None
    try:
        return Manifest.from_dict(json.loads((found / "manifest.json").read_text(encoding="utf-8")), str(directory))
    except (OSError, ValueError, IndexMismatchError):
        return None


class LocalStore:
    """The store in a folder: SQLite records and FAISS/BM25 segments, read at one generation."""

    def __init__(self, directory: Path, manifest: Manifest, segments: list[Segment]) -> None:
        self.directory = Path(directory)
        self.location = str(directory)
        self.manifest = manifest
        self.segments = segments
        self._local = threading.local()
        self._removed = self._removed_articles()
        self._gone: dict[str, np.ndarray] = {}
        self._n_docs = sum(len(s) for s in segments)

    # -- opening -------------------------------------------------------------------------------
    @classmethod
    def open(cls, directory: Path, model: str | None = None, reuse: "LocalStore | None" = None) -> "LocalStore":
        """The store at `directory` as its manifest publishes it (checking the model, if given);
        `reuse` lends the segments an earlier opening already loaded."""
        found = resolve_index_dir(Path(directory))
        if found is None:
            raise IndexMissingError(f"no index found at {directory}: run `qa build` (or `qa build --index {directory}`)")
        try:
            raw = json.loads((found / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raw = None
        manifest = Manifest.from_dict(raw, str(directory))
        manifest.check_model(model, str(directory))
        loaded = {s.name: s for s in reuse.segments} if reuse is not None and reuse.directory == found else {}
        try:
            segments = [loaded.get(s["name"]) or Segment.load(found / "segments" / s["name"]) for s in manifest.segments]
        except (OSError, ValueError) as error:
            raise IndexMismatchError(f"the index at {directory} is damaged ({error}): rebuild it with `qa build`") from None
        return cls(found, manifest, segments)

    @classmethod
    def create(cls, directory: Path, manifest: Manifest) -> "LocalStore":
        """An empty store in a new folder (generation 0: nothing published yet)."""
        directory = Path(directory)
        shutil.rmtree(directory, ignore_errors=True)  # what an interrupted build left behind
        directory.mkdir(parents=True)
        manifest.generation, manifest.segments = 0, []
        return cls(directory, manifest, [])

    def _db(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = connect(self.directory)
        return connection

    @property
    def _columns(self) -> str:
        """The article columns this store's format has."""
        return COLUMNS_OF_FORMAT.get(self.manifest.format, ARTICLE_COLUMNS)

    def _visible(self, alias: str = "") -> str:
        g = int(self.manifest.generation)
        p = f"{alias}." if alias else ""
        return f"{p}added <= {g} AND ({p}removed IS NULL OR {p}removed > {g})"

    def _removed_articles(self) -> set[int]:
        """Numbers of the articles removed by this generation whose chunks may still be in segments."""
        if not (self.directory / "store.db").exists():
            return set()
        g = int(self.manifest.generation)
        rows = self._db().execute("SELECT num FROM articles WHERE removed IS NOT NULL AND removed <= ?", (g,))
        return {n for (n,) in rows}

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    def stamp(self) -> object:
        return self.manifest.generation

    # -- searching -----------------------------------------------------------------------------
    def dense_search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        found: list[tuple[int, float]] = []
        for segment in self.segments:
            found.extend(segment.dense_search(vector, k, self._gone_in(segment)))
        return sorted(found, key=lambda h: (-h[1], h[0]))[:k]

    def _gone_in(self, segment: Segment) -> np.ndarray | None:
        """The segment's rows of removed articles' chunks (found once per opening)."""
        if not self._removed:
            return None
        if segment.name not in self._gone:
            self._gone[segment.name] = np.flatnonzero(
                np.isin(article_nums_of(segment.keys), list(self._removed))).astype(np.int64)
        return self._gone[segment.name]

    def lexical_search(self, terms: list[str], k: int) -> list[tuple[int, float]]:
        found: list[tuple[int, float]] = []
        ratios = self._idf_ratios(terms)
        for n, segment in enumerate(self.segments):
            rows, scores = segment.top(terms, k, ratios[n] if ratios else None, self._gone_in(segment))
            found.extend((int(segment.keys[row]), float(score)) for row, score in zip(rows, scores) if score > 0)
        return sorted(found, key=lambda h: (-h[1], h[0]))[:k]

    def _idf_ratios(self, terms: list[str]) -> list[dict[str, float]] | None:
        """Per segment, per term it holds: the IDF of all segments over the segment's own (None: one
        segment, no scaling). Each term's document frequencies are looked up once."""
        if len(self.segments) == 1:
            return None
        counts = {t: [s.document_frequency(t) for s in self.segments] for t in dict.fromkeys(terms)}
        whole = {t: idf(self._n_docs, sum(c)) for t, c in counts.items()}
        return [{t: whole[t] / idf(len(segment), c[n]) for t, c in counts.items() if c[n]}
                for n, segment in enumerate(self.segments)]

    def _df(self, term: str) -> int:
        return sum(s.document_frequency(term) for s in self.segments)

    def term_weights(self, terms: list[str]) -> dict[str, float]:
        return {t: idf(self._n_docs, self._df(t)) for t in terms}

    # -- reading records -----------------------------------------------------------------------
    def chunks(self, keys: list[int]) -> dict[int, Chunk]:
        found = {}
        for batch in batches(list(keys)):
            rows = self._db().execute(f"SELECT {CHUNK_COLUMNS} FROM chunks WHERE key IN ({placeholders(batch)})",
                                      batch)
            found.update((row[0], Chunk(*row[1:])) for row in rows)
        return found

    def _vectors(self, table: str, keys: list[int]) -> np.ndarray:
        found = {}
        for batch in batches(list(keys)):
            rows = self._db().execute(f"SELECT key, vector FROM {table} WHERE key IN ({placeholders(batch)})",
                                      batch)
            found.update((key, np.frombuffer(blob, np.float32)) for key, blob in rows)
        if not keys:
            return np.zeros((0, self.manifest.dim), np.float32)
        return np.stack([found[k] for k in keys])

    def chunk_vectors(self, keys: list[int]) -> np.ndarray:
        return self._vectors("chunks", keys)

    def sentence_vectors(self, keys: list[int]) -> np.ndarray:
        return self._vectors("sentences", keys)

    def sentences_of(self, article_nums: list[int]) -> dict[int, list[StoredSentence]]:
        found: dict[int, list[StoredSentence]] = {}
        for num in dict.fromkeys(article_nums):
            rows = self._db().execute("SELECT key, article_id, text, start, end FROM sentences "
                                      "WHERE key >= ? AND key < ? ORDER BY key", article_key_range(num))
            found[num] = [StoredSentence(row[0], Sentence(*row[1:])) for row in rows]
        return found

    def passage_containing(self, article_id: str, start: int, end: int) -> Chunk | None:
        nums = [n for (n,) in self._db().execute(f"SELECT num FROM articles WHERE id = ? AND {self._visible()}",
                                                 (article_id,))]
        for num in nums:
            row = self._db().execute(
                f"SELECT {CHUNK_COLUMNS} FROM chunks WHERE key >= ? AND key < ? AND start <= ? AND end >= ? "
                "ORDER BY end - start, key LIMIT 1", (*article_key_range(num), start, end)).fetchone()
            if row:
                return Chunk(*row[1:])
        return None

    def articles(self, limit: int | None = None) -> list[IndexedArticle]:
        rows = self._db().execute(f"SELECT {self._columns} FROM articles WHERE {self._visible()} ORDER BY num"
                                  + (f" LIMIT {int(limit)}" if limit is not None else ""))
        return [article_from_row(row) for row in rows]

    def articles_by_id(self, ids: list[str]) -> dict[str, IndexedArticle]:
        found = {}
        for batch in batches(list(dict.fromkeys(ids))):
            rows = self._db().execute(f"SELECT {self._columns} FROM articles WHERE {self._visible()} "
                                      f"AND id IN ({placeholders(batch)}) ORDER BY num", batch)
            found.update((a.id, a) for a in map(article_from_row, rows))
        return found

    def articles_by_byline(self, name: str) -> list[IndexedArticle]:
        where, values = "source = ?", [name]
        if self.manifest.format >= 4:  # a format-3 store keeps no reporters
            where += " OR instr(? || reporters || ?, ?) > 0"
            values += [REPORTER_SEPARATOR, REPORTER_SEPARATOR, f"{REPORTER_SEPARATOR}{name}{REPORTER_SEPARATOR}"]
        rows = self._db().execute(f"SELECT {self._columns} FROM articles WHERE {self._visible()} AND ({where}) "
                                  "ORDER BY num", values)
        return [article_from_row(row) for row in rows]

    def story_members(self, stories: list[str]) -> dict[str, list[IndexedArticle]]:
        found: dict[str, list[IndexedArticle]] = {}
        for batch in batches(list(dict.fromkeys(stories))):
            rows = self._db().execute(f"SELECT {self._columns} FROM articles WHERE {self._visible()} "
                                      f"AND story IN ({placeholders(batch)}) ORDER BY num", batch)
            for article in map(article_from_row, rows):
                found.setdefault(article.story, []).append(article)
        return found

    def signatures(self) -> dict[str, np.ndarray]:
        rows = self._db().execute(f"SELECT text_key, signature FROM articles WHERE {self._visible()}")
        return {key: np.frombuffer(blob, np.uint64) for key, blob in rows if blob}

    def cached_vectors(self, hashes: list[str]) -> dict[str, np.ndarray]:
        found = {}
        for table in ("chunks", "sentences"):
            for batch in batches(list(hashes)):
                rows = self._db().execute(f"SELECT hash, vector FROM {table} WHERE hash IN "
                                          f"({placeholders(batch)})", batch)
                found.update((h, np.frombuffer(blob, np.float32)) for h, blob in rows)
        return found

    # -- writing -------------------------------------------------------------------------------
    def next_article_num(self) -> int:
        (largest,) = self._db().execute("SELECT max(num) FROM articles").fetchone()
        return (largest or 0) + 1

    def write(self, parts: Iterable[Changes], manifest: Manifest) -> None:
        """Publish the parts as the next generation (the caller holds the index's writer lock).
        Each part's records go to the database as it comes, so a write holds one part in memory;
        the new chunks' segment is then made from the database, and the manifest replaced."""
        db = self._db()
        g = int(self.manifest.generation)
        new = g + 1
        self._undo_unpublished(db, g)
        added: list[int] = []
        removed: set[int] = set()
        for part in parts:
            with db:
                insert_changes(db, part, new)
                db.executemany("UPDATE articles SET removed = ? WHERE num = ?", [(new, n) for n in part.removed])
                db.executemany("UPDATE articles SET story = ? WHERE num = ?", [(s, n) for n, s in part.stories.items()])
            added += [key for key, *_ in part.chunks]
            removed.update(part.removed)
        segments, held_in, dim = list(self.segments), self.directory / "segments", self.manifest.dim
        if added:
            segments.append(segment_of(db, held_in, dim, added, segment_name(new)))
        removed |= self._removed
        segments = merged(db, held_in, dim, segments, removed, new)
        manifest.generation, manifest.segments = new, [{"name": s.name, "chunks": len(s)} for s in segments]
        manifest.ann = "hnsw" if any(hasattr(s.ann, "hnsw") for s in segments) else "flat"
        self._publish(manifest)
        self._purge(db, segments, g)
        previous = {s.name for s in self.segments}
        for folder in (self.directory / "segments").glob("*"):
            if folder.name not in previous and folder.name not in {s.name for s in segments}:
                shutil.rmtree(folder, ignore_errors=True)
        self.manifest, self.segments = manifest, segments
        self._removed, self._gone, self._n_docs = self._removed_articles(), {}, sum(len(s) for s in segments)

    def _undo_unpublished(self, db: sqlite3.Connection, g: int) -> None:
        """Take back what a write cut short before publishing left in the database."""
        with db:
            for (num,) in db.execute("SELECT num FROM articles WHERE added > ?", (g,)).fetchall():
                delete_records(db, num)
            db.execute("DELETE FROM articles WHERE added > ?", (g,))
            db.execute("UPDATE articles SET removed = NULL WHERE removed > ?", (g,))
        live = {s["name"] for s in self.manifest.segments}
        for folder in (self.directory / "segments").glob("*"):
            if folder.name not in live:
                shutil.rmtree(folder, ignore_errors=True)

    def _publish(self, manifest: Manifest) -> None:
        """Replace manifest.json in one step: the new generation is what readers load next."""
        temporary = self.directory / "manifest.json.tmp"
        temporary.write_text(json.dumps(manifest.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
        os.replace(temporary, self.directory / "manifest.json")

    def _purge(self, db: sqlite3.Connection, segments: list[Segment], g: int) -> None:
        """Delete the records of articles removed before the previous generation that no segment
        holds any more (readers of the previous generation may still ask for the others)."""
        held = set(np.unique(np.concatenate([article_nums_of(s.keys) for s in segments])).tolist()) if segments else set()
        gone = [n for (n,) in db.execute("SELECT num FROM articles WHERE removed IS NOT NULL AND removed < ?", (g,))
                if n not in held]
        with db:
            for num in gone:
                delete_records(db, num)
            db.executemany("DELETE FROM articles WHERE num = ?", [(n,) for n in gone])
