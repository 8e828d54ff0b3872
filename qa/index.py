"""Building an index: read what the store holds, index only the articles that changed, publish.

An article's records are keyed by its number (qa/stores/base.py). A build compares the articles
with those the store lists: unchanged ones (same id, same content) are left alone, new and changed
ones get a new number and their chunks and sentences, removed ones are marked removed — so an
update costs in proportion to the change. Vectors are looked up by content hash before anything is
embedded. A store built with another model or chunking (or an older format) is rebuilt in full,
beside the old one, which keeps answering until the new one is published.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .chunking import split_article, split_sentences
from .corpus import Article
from .dates import ISO_DATE
from .embedding import Embedder
from .stores import Changes, IndexedArticle, Location, Manifest, Store, record_key
from .stores.local import resolve_index_dir
from .stories import NUM_PERM, group_stories, signature, text_key
from .text import lexical_terms

EMBED_BATCH = 32
Progress = Callable[[str, int, int], None]  # (what, done, total): the page's progress bar


@dataclass
class BuildReport:
    """What a build did; `removed` counts articles that were in the previous index and are gone."""

    articles: int
    chunks: int
    embedded: int
    reused: int
    sentences_embedded: int
    removed: int
    seconds: float
    model: str
    dated: int = 0  # articles with an ISO publication date
    sourced: int = 0  # articles with a recognised source
    grouped: int = 0  # articles in a story with other outlets' copies
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for people."""
        return (f"{self.articles} articles → {self.chunks} chunks: embedded {self.embedded}, "
                f"reused {self.reused}, removed {self.removed} articles, {self.sentences_embedded} sentences "
                f"embedded, {self.dated} dated and {self.sourced} with a source, {self.grouped} in stories told "
                f"more than once, {self.seconds:.1f} s, "
                f"model {self.model}")


def content_key(article: Article) -> str:
    """A hash of everything the index takes from an article: a change means re-indexing it."""
    fields = (article.id, article.title, article.source, article.date, article.url, article.path,
              article.date_inferred, article.text)
    return hashlib.sha1("\0".join(fields).encode("utf-8")).hexdigest()


def as_location(target: Location | Path | str) -> Location:
    return target if isinstance(target, Location) else Location(Path(target))


def _embed_missing(embedder: Embedder, texts_by_hash: dict[str, str], progress: bool,
                   what: str = "passages", on_progress: Progress | None = None) -> dict[str, np.ndarray]:
    from tqdm import tqdm

    hashes = list(texts_by_hash)
    vectors: dict[str, np.ndarray] = {}
    with tqdm(total=len(hashes), desc=f"embedding {what}", unit="text", disable=not progress or not hashes) as bar:
        for at in range(0, len(hashes), EMBED_BATCH):
            batch = hashes[at: at + EMBED_BATCH]
            for key, vector in zip(batch, embedder.encode_passages([texts_by_hash[h] for h in batch])):
                vectors[key] = vector
            bar.update(len(batch))
            if on_progress:
                on_progress(what, min(at + EMBED_BATCH, len(hashes)), len(hashes))
    return vectors


def _legacy_vectors(directory: Path) -> dict[str, np.ndarray]:
    """content hash → vector from an index of format 2 (one folder of .jsonl and .npy files), so
    that upgrading the format embeds nothing again."""
    found = resolve_index_dir(directory)
    if found is None or not (found / "chunks.jsonl").is_file():
        return {}
    try:
        cache = {}
        for records, vectors in (("chunks.jsonl", "vectors.npy"), ("sentences.jsonl", "sentence_vectors.npy")):
            with (found / records).open(encoding="utf-8") as lines:
                hashes = [json.loads(line)["hash"] for line in lines]
            cache.update(zip(hashes, np.load(found / vectors)))
        return cache
    except (OSError, ValueError, KeyError):
        return {}


class _VectorCache:
    """Vectors the build need not compute: in the store being updated, in the index being replaced
    (when built with the same model) or in a format-2 index at the same place."""

    def __init__(self, stores: list[Store], legacy: dict[str, np.ndarray]) -> None:
        self.stores = stores
        self.legacy = legacy

    def lookup(self, hashes: list[str]) -> dict[str, np.ndarray]:
        found = {h: self.legacy[h] for h in hashes if h in self.legacy}
        for store in self.stores:
            missing = [h for h in hashes if h not in found]
            if missing:
                found.update(store.cached_vectors(missing))
        return found


def _open_for_update(location: Location, model: str, chunk_size: int, chunk_overlap: int) -> tuple[Store | None, Store | None]:
    """(the store to update in place, or None; a store whose vectors a full build may reuse, or None)."""
    manifest = location.manifest()
    if manifest is None or manifest.model != model:
        return None, None
    store = location.open()
    if not location.uri and Path(store.location) != location.folder:
        return None, store  # a swap was cut short: the index at `<dir>.old` lends its vectors to a full build
    if (manifest.chunk_size, manifest.chunk_overlap) == (chunk_size, chunk_overlap):
        return store, None
    return None, store


def build_index(articles: list[Article], target: Location | Path | str, embedder: Embedder, chunk_size: int,
                chunk_overlap: int, progress: bool = True, extra_manifest: dict | None = None,
                on_progress: Progress | None = None) -> BuildReport:
    """Index the articles at `target` (a Location, or a folder for the local store): in place when
    the store there was built with the same model and chunking, else in full beside it."""
    started = time.perf_counter()
    location = as_location(target)
    store, donor = _open_for_update(location, embedder.name, chunk_size, chunk_overlap)
    manifest = Manifest(model=embedder.name, dim=embedder.dim, chunk_size=chunk_size, chunk_overlap=chunk_overlap,
                        **(extra_manifest or {}))
    full = store is None
    legacy = _legacy_vectors(location.folder) if full and not location.uri else {}
    previous = store.articles() if store else (donor.articles() if donor else [])
    if full:
        store = location.begin_full(manifest)
    cache = _VectorCache([s for s in (store, donor) if s is not None], legacy)
    try:
        report, changes = _changes(articles, store, previous if not full else [], cache, embedder, chunk_size,
                                   chunk_overlap, progress, on_progress)
        report.removed = len({a.id for a in previous} - {a.id for a in articles})
        manifest.articles, manifest.chunks = report.articles, report.chunks
        manifest.built_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        manifest.seconds = round(time.perf_counter() - started, 3)
        if changes or full or manifest_changed(store.manifest, manifest):
            store.write(changes, manifest)
        if full:
            location.finish_full(store)
    finally:
        for opened in (store, donor):
            if opened is not None:
                opened.close()
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def manifest_changed(old: Manifest, new: Manifest) -> bool:
    """Whether a write without changed articles is still needed (the corpus was moved, say)."""
    return (old.corpus, old.corpus_fingerprint, old.dataset) != (new.corpus, new.corpus_fingerprint, new.dataset)


def _changes(articles: list[Article], store: Store, listed: list[IndexedArticle], cache: _VectorCache,
             embedder: Embedder, chunk_size: int, chunk_overlap: int, progress: bool,
             on_progress: Progress | None) -> tuple[BuildReport, Changes]:
    """What to write to make the store hold exactly `articles`, and the report of it."""
    known = {a.id: a for a in listed}
    keys = [content_key(a) for a in articles]
    kept = {a.id for a, key in zip(articles, keys) if a.id in known and known[a.id].content == key}
    fresh = [(a, key) for a, key in zip(articles, keys) if a.id not in kept]
    changes = Changes(removed=[a.num for a in listed if a.id not in kept])
    next_num = store.next_article_num()
    nums = {a.id: next_num + n for n, (a, _) in enumerate(fresh)}
    chunks_of = {a.id: split_article(a, chunk_size, chunk_overlap) for a, _ in fresh}
    for article, _ in fresh:
        num = nums[article.id]
        changes.chunks.extend((record_key(num, i), c, c.content_hash, lexical_terms(c.embed_text))
                              for i, c in enumerate(chunks_of[article.id]))
        changes.sentences.extend((record_key(num, i), s, s.content_hash)
                                 for i, s in enumerate(split_sentences(article, chunk_size)))
    chunk_texts = {c.content_hash: c.embed_text for _, c, _, _ in changes.chunks}
    sentence_texts = {s.content_hash: s.text for _, s, _ in changes.sentences}
    vectors = cache.lookup(list(chunk_texts) + list(sentence_texts))
    made = _embed_missing(embedder, {h: t for h, t in chunk_texts.items() if h not in vectors}, progress,
                          on_progress=on_progress)
    made_sentences = _embed_missing(embedder, {h: t for h, t in sentence_texts.items() if h not in vectors},
                                    progress, "sentences", on_progress)
    vectors.update(made)
    vectors.update(made_sentences)
    dim = embedder.dim if not vectors else len(next(iter(vectors.values())))
    changes.chunk_vectors = _stacked(vectors, [h for _, _, h, _ in changes.chunks], dim)
    changes.sentence_vectors = _stacked(vectors, [h for _, _, h in changes.sentences], dim)

    stored = store.signatures() if listed else {}
    fresh_signatures = [stored.get(text_key(a.text)) for a, _ in fresh]
    fresh_signatures = [sig if sig is not None else signature(a.text) for sig, (a, _) in zip(fresh_signatures, fresh)]
    signature_of = {a.id: sig for (a, _), sig in zip(fresh, fresh_signatures)}
    for article in articles:
        if article.id in kept:
            signature_of[article.id] = stored.get(known[article.id].text_key)
            if signature_of[article.id] is None:
                signature_of[article.id] = signature(article.text)
    ordered = np.stack([signature_of[a.id] for a in articles]) if articles else np.zeros((0, NUM_PERM), np.uint64)
    stories = group_stories([a.id for a in articles], [a.date for a in articles], ordered)
    changes.stories = {known[i].num: s for i, s in stories.items() if i in kept and known[i].story != s}
    changes.added = [IndexedArticle(a.id, a.title, a.source, a.date, a.url, a.path, len(chunks_of[a.id]),
                                    a.date_inferred, stories.get(a.id, a.id), text_key(a.text), nums[a.id], key)
                     for a, key in fresh]
    changes.signatures = np.stack(fresh_signatures) if fresh else np.zeros((0, NUM_PERM), np.uint64)

    told: dict[str, int] = {}
    for story in stories.values():
        told[story] = told.get(story, 0) + 1
    total_chunks = sum(len(c) for c in chunks_of.values()) + sum(known[i].chunks for i in kept)
    report = BuildReport(
        articles=len(articles), chunks=total_chunks, embedded=len(made),
        reused=total_chunks - len(made), sentences_embedded=len(made_sentences), removed=0, seconds=0.0,
        model=embedder.name, dated=sum(1 for a in articles if ISO_DATE.match(a.date)),
        sourced=sum(1 for a in articles if a.source),
        grouped=sum(1 for story in stories.values() if told[story] > 1))
    return report, changes


def _stacked(lookup: dict[str, np.ndarray], hashes: list[str], dim: int) -> np.ndarray:
    return np.stack([lookup[h] for h in hashes]).astype(np.float32) if hashes else np.zeros((0, dim), np.float32)
