"""The Milvus store, through pymilvus' MilvusClient: Milvus Lite (a local `.db`, embedded in this
process) or a Milvus server (Standalone or Distributed) with the same code.

Milvus keeps everything — vectors, texts, metadata and the lexical side — so a cluster serves
hybrid search with no local state. Its collections and the client are qa/index/stores/milvus_collections.py;
where a store is and how a full build is published, qa/index/stores/milvus_backend.py.

The lexical side is BM25 as bm25s computes it (qa/index/stores/bm25.py) on the same jieba terms,
stored as sparse vectors: the document side carries each term's saturated frequency, the query
side its IDF, and their inner product is the BM25 score — so the seeds get the answers of the
default store. Milvus' own BM25 function was not used: it tokenises for itself (no whitespace
tokenizer in Milvus Lite) and Milvus Lite returns its scores negated.

Records carry the generation that added them and readers filter on it; a full build fills a new
build's collections and switches the meta record to them when complete.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace

import numpy as np

from qa.index.stores.base import (
    Changes,
    IndexedArticle,
    Manifest,
    StoredSentence,
    article_num_of,
    joined_reporters,
)
from qa.index.stores.bm25 import idf
from qa.index.stores.milvus_collections import (
    ARTICLE_FIELDS,
    CHUNK_FIELDS,
    FIELDS_OF_FORMAT,
    client_for,
    drop_other_builds,
    meta_name,
    part_names,
)
from qa.index.stores.milvus_rows import (
    document_weights,
    indexed_article,
    quoted,
    sparse_indices,
    term_id,
    vectors_or_nones,
)
from qa.ingest.chunking import Chunk, Sentence

NOT_REMOVED = 1 << 62
INSERT_BATCH = 500


class MilvusStore:
    """One collection (knowledge base) of a Milvus store, read at one generation."""

    def __init__(self, uri: str, collection: str, manifest: Manifest, published: bool = True) -> None:
        self.uri = uri
        self.collection = collection
        self.location = f"{uri}#{collection}"
        self.manifest = manifest
        self.published = published  # False: a full build not yet switched to
        self.client = client_for(uri)
        self.names = part_names(collection, manifest.backend["build"])
        for name in self.names.values():
            self.client.load_collection(name)  # Milvus Lite reopens a file with every collection released
        self._removed = self._removed_articles()

    def publish_build(self) -> None:
        """Switch the meta record to this (full) build and drop the collections of every other build."""
        self.published = True
        self._publish(self.manifest)
        self.client.delete(meta_name(self.collection), filter='key like "pending:%"')
        drop_other_builds(self.client, self.collection, set(self.names.values()))

    def close(self) -> None:
        """Nothing to release: the client is shared by every store of its URI in this process."""

    def stamp(self) -> object:
        return self.manifest.backend.get("build"), self.manifest.generation

    # -- reading -------------------------------------------------------------------------------
    def _visible(self) -> str:
        g = int(self.manifest.generation)
        return f"added <= {g} and removed > {g}"

    def _live_chunks(self) -> str:
        where = f"added <= {int(self.manifest.generation)}"
        return where + (f" and article_num not in {quoted(sorted(self._removed))}" if self._removed else "")

    def _removed_articles(self) -> set[int]:
        g = int(self.manifest.generation)
        rows = self._all("articles", f"removed <= {g}", ["num"])
        return {r["num"] for r in rows}

    def _all(self, part: str, where: str, fields: list[str]) -> list[dict]:
        """Every row matching `where` (through an iterator: a server caps one query at 16,384 rows)."""
        rows: list[dict] = []
        iterator = self.client.query_iterator(self.names[part], batch_size=1000, filter=where, output_fields=fields)
        while True:
            batch = iterator.next()
            if not batch:
                iterator.close()
                return rows
            rows.extend(batch)

    def dense_search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        if k <= 0 or not self.manifest.chunks:
            return []
        found = self.client.search(self.names["chunks"], data=[np.asarray(vector, np.float32).tolist()],
                                   anns_field="vector", limit=k, filter=self._live_chunks(),
                                   output_fields=["article_num"], search_params={"metric_type": "IP"})
        return sorted(((int(h.id), float(h["distance"])) for h in found[0]), key=lambda h: (-h[1], h[0]))

    def lexical_search(self, terms: list[str], k: int) -> list[tuple[int, float]]:
        weights = self._query_weights(terms)
        if k <= 0 or not weights or not self.manifest.chunks:
            return []
        found = self.client.search(self.names["chunks"], data=[weights], anns_field="sparse", limit=k,
                                   filter=self._live_chunks(), output_fields=["article_num"],
                                   search_params={"metric_type": "IP"})
        hits = [(int(h.id), float(h["distance"])) for h in found[0] if h["distance"] > 0]
        return sorted(hits, key=lambda h: (-h[1], h[0]))

    def _frequencies(self, terms: list[str]) -> dict[int, int]:
        ids = list(dict.fromkeys(term_id(t) for t in terms))
        if not ids:
            return {}
        rows = self.client.query(self.names["terms"], ids=ids, output_fields=["df"])
        return {r["key"]: r["df"] for r in rows}

    def _query_weights(self, terms: list[str]) -> dict[int, float]:
        """The query side of BM25: each known term's IDF, once per time it occurs in the query."""
        df = self._frequencies(terms)
        weights: dict[int, float] = {}
        for term in terms:
            key = term_id(term)
            if df.get(key):
                weights[key] = weights.get(key, 0.0) + idf(self.manifest.chunks, df[key])
        return weights

    def term_weights(self, terms: list[str]) -> dict[str, float]:
        df = self._frequencies(terms)
        return {t: idf(self.manifest.chunks, df.get(term_id(t), 0)) for t in terms}

    def chunks(self, keys: list[int]) -> dict[int, Chunk]:
        if not keys:
            return {}
        rows = self.client.query(self.names["chunks"], ids=list(keys), output_fields=CHUNK_FIELDS)
        return {r["key"]: Chunk(*(r[f] for f in CHUNK_FIELDS[1:])) for r in rows}

    def _vectors(self, part: str, keys: list[int]) -> np.ndarray:
        if not keys:
            return np.zeros((0, self.manifest.dim), np.float32)
        rows = self.client.query(self.names[part], ids=list(dict.fromkeys(keys)), output_fields=["vector"])
        found = {r["key"]: np.asarray(r["vector"], np.float32) for r in rows}
        return np.stack([found[k] for k in keys])

    def chunk_vectors(self, keys: list[int]) -> np.ndarray:
        return self._vectors("chunks", keys)

    def sentence_vectors(self, keys: list[int]) -> np.ndarray:
        return self._vectors("sentences", keys)

    def sentences_of(self, article_nums: list[int]) -> dict[int, list[StoredSentence]]:
        nums = list(dict.fromkeys(article_nums))
        found: dict[int, list[StoredSentence]] = {n: [] for n in nums}
        if not nums:
            return found
        rows = self.client.query(self.names["sentences"], filter=f"article_num in {quoted(nums)}", limit=16384,
                                 output_fields=["key", "article_id", "text", "start", "end"])
        for r in sorted(rows, key=lambda r: r["key"]):
            found[article_num_of(r["key"])].append(
                StoredSentence(r["key"], Sentence(r["article_id"], r["text"], r["start"], r["end"])))
        return found

    def passage_containing(self, article_id: str, start: int, end: int) -> Chunk | None:
        nums = [a.num for a in self.articles_by_id([article_id]).values()]
        if not nums:
            return None
        rows = self.client.query(self.names["chunks"], output_fields=CHUNK_FIELDS,
                                 filter=f"article_num in {quoted(nums)} and start <= {int(start)} and end >= {int(end)}")
        best = min(rows, key=lambda r: (r["end"] - r["start"], r["key"]), default=None)
        return Chunk(*(best[f] for f in CHUNK_FIELDS[1:])) if best else None

    @property
    def _fields(self) -> list[str]:
        """The article fields this store's format has."""
        return FIELDS_OF_FORMAT.get(self.manifest.format, ARTICLE_FIELDS)

    def _articles(self, where: str) -> list[IndexedArticle]:
        rows = self._all("articles", f"{self._visible()}{' and ' + where if where else ''}", self._fields)
        return [indexed_article(r) for r in sorted(rows, key=lambda r: r["num"])]

    def articles(self, limit: int | None = None) -> list[IndexedArticle]:
        return self._articles("")[:limit]  # Milvus returns rows in no set order: all of them, then the first

    def articles_by_id(self, ids: list[str]) -> dict[str, IndexedArticle]:
        ids = list(dict.fromkeys(ids))
        return {a.id: a for a in self._articles(f"id in {quoted(ids)}")} if ids else {}

    def articles_by_byline(self, name: str) -> list[IndexedArticle]:
        where = f"source == {json.dumps(name, ensure_ascii=False)}"
        if "reporters" in self._fields and not re.search(r'[%_\\"]', name):  # no LIKE wildcards to escape
            where += f' or reporters like "%{name}%"'
        return [a for a in self._articles(f"({where})") if a.source == name or name in a.reporters]

    def story_members(self, stories: list[str]) -> dict[str, list[IndexedArticle]]:
        found: dict[str, list[IndexedArticle]] = {}
        stories = list(dict.fromkeys(stories))
        for article in self._articles(f"story in {quoted(stories)}") if stories else []:
            found.setdefault(article.story, []).append(article)
        return found

    def signatures(self) -> dict[str, np.ndarray]:
        rows = self._all("articles", self._visible(), ["text_key", "signature"])
        return {r["text_key"]: np.frombuffer(bytes.fromhex(r["signature"]), np.uint64) for r in rows if r["signature"]}

    def cached_vectors(self, hashes: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for part in ("chunks", "sentences"):
            for at in range(0, len(hashes), 1000):
                batch = hashes[at: at + 1000]
                rows = self._all(part, f"hash in {quoted(batch)}", ["hash", "vector"])
                found.update((r["hash"], np.asarray(r["vector"], np.float32)) for r in rows)
        return found

    def next_article_num(self) -> int:
        return int(self.manifest.backend.get("next_num", 1))

    # -- writing -------------------------------------------------------------------------------
    def write(self, parts: Iterable[Changes], manifest: Manifest) -> None:
        """Insert the new records, mark the removed articles, publish the next generation, then
        update the term statistics and delete what no reader needs any more. The parts are joined
        first: the BM25 weights of the new chunks need the corpus's mean length after the change."""
        changes = Changes.joined(parts, manifest.dim)
        g = int(self.manifest.generation)
        new = g + 1
        self._undo_unpublished(g)
        backend = dict(self.manifest.backend)
        total_terms = backend.get("terms", 0) + sum(len(terms or [""]) for *_, terms in changes.chunks)
        removed_rows = self._all("chunks", f"article_num in {quoted(changes.removed)}", ["key", "sparse", "length"]) \
            if changes.removed else []
        total_terms -= sum(r["length"] for r in removed_rows)
        live_chunks = manifest.chunks
        average = total_terms / max(live_chunks, 1)
        self._insert(changes, new, average)
        self._update_articles(changes.removed, new, {})
        self._update_articles(list(changes.stories), None, changes.stories)
        for name in self.names.values():
            self.client.flush(name)
        backend.update(terms=total_terms, next_num=max([self.next_article_num()] + [a.num + 1 for a in changes.added]))
        manifest = replace(manifest, generation=new, backend=backend, ann="flat")
        self._publish(manifest)
        self._count_terms(changes, removed_rows)
        self._purge(g)
        self.manifest, self._removed = manifest, self._removed_articles()

    def _undo_unpublished(self, g: int) -> None:
        for part in ("chunks", "sentences", "articles"):
            self.client.delete(self.names[part], filter=f"added > {g}")
        rows = self._all("articles", f"removed > {g} and removed < {NOT_REMOVED}", ARTICLE_FIELDS + ["signature", "added"])
        if rows:
            self.client.upsert(self.names["articles"], [{**r, "removed": NOT_REMOVED, "marker": [0.0, 0.0]} for r in rows])

    def _insert(self, changes: Changes, generation: int, average: float) -> None:
        signatures = changes.signatures if changes.signatures is not None else [None] * len(changes.added)
        articles = [{**{f: getattr(a, f) for f in ARTICLE_FIELDS}, "reporters": joined_reporters(a.reporters),
                     "signature": "" if s is None else
                     np.asarray(s, np.uint64).tobytes().hex(), "added": generation, "removed": NOT_REMOVED,
                     "marker": [0.0, 0.0]} for a, s in zip(changes.added, signatures)]
        chunks = [{"key": key, "id": c.id, "article_id": c.article_id, "title": c.title, "source": c.source,
                   "date": c.date, "text": c.text, "start": c.start, "end": c.end, "hash": h,
                   "article_num": article_num_of(key), "added": generation, "length": len(terms or [""]),
                   "vector": np.asarray(v, np.float32).tolist(), "sparse": document_weights(terms, average)}
                  for (key, c, h, terms), v in zip(changes.chunks, vectors_or_nones(changes.chunk_vectors, len(changes.chunks)))]
        sentences = [{"key": key, "article_id": s.article_id, "text": s.text, "start": s.start, "end": s.end,
                      "hash": h, "article_num": article_num_of(key), "added": generation,
                      "vector": np.asarray(v, np.float32).tolist()}
                     for (key, s, h), v in zip(changes.sentences, vectors_or_nones(changes.sentence_vectors, len(changes.sentences)))]
        for part, rows in (("articles", articles), ("chunks", chunks), ("sentences", sentences)):
            for at in range(0, len(rows), INSERT_BATCH):
                self.client.insert(self.names[part], rows[at: at + INSERT_BATCH])

    def _update_articles(self, nums: list[int], removed: int | None, stories: dict[int, str]) -> None:
        if not nums:
            return
        rows = self._all("articles", f"num in {quoted(nums)}", ARTICLE_FIELDS + ["signature", "added", "removed"])
        for row in rows:
            if removed is not None:
                row["removed"] = removed
            if row["num"] in stories:
                row["story"] = stories[row["num"]]
            row["marker"] = [0.0, 0.0]
        for at in range(0, len(rows), INSERT_BATCH):
            self.client.upsert(self.names["articles"], rows[at: at + INSERT_BATCH])

    def _publish(self, manifest: Manifest) -> None:
        key = "manifest" if self.published else f"pending:{manifest.backend['build']}"
        self.client.upsert(meta_name(self.collection),
                           [{"key": key, "value": json.dumps(manifest.to_dict(), ensure_ascii=False), "marker": [0.0, 0.0]}])
        self.client.flush(meta_name(self.collection))
        self.manifest = manifest

    def _count_terms(self, changes: Changes, removed_rows: list[dict]) -> None:
        """Document frequencies after the write: +1 per added chunk holding a term, -1 per removed one."""
        delta: Counter = Counter()
        for *_, terms in changes.chunks:
            delta.update({term_id(t) for t in (terms or [""])})
        for row in removed_rows:
            delta.subtract(set(sparse_indices(row["sparse"])))
        keys = [k for k, v in delta.items() if v]
        for at in range(0, len(keys), 1000):
            batch = keys[at: at + 1000]
            known = {r["key"]: r["df"] for r in self.client.query(self.names["terms"], ids=batch, output_fields=["df"])}
            self.client.upsert(self.names["terms"], [{"key": k, "df": max(0, known.get(k, 0) + delta[k]),
                                                      "marker": [0.0, 0.0]} for k in batch])
        self.client.flush(self.names["terms"])

    def _purge(self, g: int) -> None:
        """Delete the records of articles removed before the previous generation."""
        gone = [r["num"] for r in self._all("articles", f"removed <= {g}", ["num"])]
        for at in range(0, len(gone), 1000):
            batch = quoted(gone[at: at + 1000])
            for part in ("chunks", "sentences"):
                self.client.delete(self.names[part], filter=f"article_num in {batch}")
            self.client.delete(self.names["articles"], filter=f"num in {batch}")
