"""Building an index: read what the store holds, index only the articles that changed, publish.

An article's records are keyed by its number (qa/index/stores/base.py). A build compares the articles
with those the store lists: unchanged ones (same id, same content) are left alone, new and changed
ones get a new number and their chunks and sentences, removed ones are marked removed — so an
update costs in proportion to the change. Vectors are looked up by content hash before anything is
embedded. A store built with another model or chunking (or an older format) is rebuilt in full,
beside the old one, which keeps answering until the new one is published.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from qa.index.embedding import Embedder
from qa.index.stores import (
    FORMAT_VERSION,
    Changes,
    IndexedArticle,
    Location,
    Manifest,
    Store,
    record_key,
)
from qa.index.stores.base import joined_reporters
from qa.ingest.chunking import split_article, split_sentences
from qa.ingest.corpus import Article
from qa.ingest.dates import ISO_DATE
from qa.ingest.stories import NUM_PERM, group_stories, signature, text_key
from qa.ingest.text import lexical_terms

EMBED_BATCH = 32
ARTICLES_PER_PART = 5_000  # a build holds this many new articles (≈ 35,000 news chunks) in memory at once
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
              article.date_inferred, article.text, joined_reporters(article.reporters), article.origin)
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
    if location.is_leftover(store):
        return None, store  # a swap was cut short: the index at `<dir>.old` lends its vectors to a full build
    if manifest.format != FORMAT_VERSION:
        return None, store  # an older format keeps fewer fields: rebuilt in full, every vector reused
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
    legacy = location.legacy_vectors() if full else {}
    previous = store.articles() if store else (donor.articles() if donor else [])
    if full:
        store = location.begin_full(manifest)
    cache = _VectorCache([s for s in (store, donor) if s is not None], legacy)
    try:
        plan = _plan(articles, store, previous if not full else [])
        report = BuildReport(
            articles=len(articles), chunks=plan.kept_chunks, embedded=0, reused=0, sentences_embedded=0,
            removed=len({a.id for a in previous} - {a.id for a in articles}), seconds=0.0, model=embedder.name,
            dated=sum(1 for a in articles if ISO_DATE.match(a.date)), sourced=sum(1 for a in articles if a.source),
            grouped=_grouped(plan.stories))
        manifest.articles, manifest.chunks = report.articles, plan.kept_chunks
        manifest.built_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        if plan or full or manifest_changed(store.manifest, manifest):
            store.write(_parts(plan, cache, embedder, chunk_size, chunk_overlap, report, manifest, started,
                               progress, on_progress), manifest)
        report.reused = report.chunks - report.embedded
        if full:
            location.finish_full(store)
    finally:
        for opened in (store, donor):
            if opened is not None:
                opened.close()
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _grouped(stories: dict[str, str]) -> int:
    """How many articles share their story with another."""
    told = Counter(stories.values())
    return sum(1 for story in stories.values() if told[story] > 1)


def manifest_changed(old: Manifest, new: Manifest) -> bool:
    """Whether a write without changed articles is still needed (the corpus was moved, say)."""
    return (old.corpus, old.corpus_fingerprint, old.dataset) != (new.corpus, new.corpus_fingerprint, new.dataset)


def _plan(articles: list[Article], store: Store, listed: list[IndexedArticle]) -> "_Plan":
    """Which articles stay, come in (with their new numbers) and go; everyone's story."""
    known = {a.id: a for a in listed}
    keys = [content_key(a) for a in articles]
    kept = {a.id for a, key in zip(articles, keys) if a.id in known and known[a.id].content == key}
    fresh = [(a, key) for a, key in zip(articles, keys) if a.id not in kept]
    next_num = store.next_article_num()
    stored = store.signatures() if listed else {}
    signature_of = {}
    for article in articles:
        sig = stored.get(known[article.id].text_key if article.id in kept else text_key(article.text))
        signature_of[article.id] = sig if sig is not None else signature(article.text)
    ordered = np.stack([signature_of[a.id] for a in articles]) if articles else np.zeros((0, NUM_PERM), np.uint64)
    stories = group_stories([a.id for a in articles], [a.date for a in articles], ordered)
    return _Plan(fresh=fresh, nums={a.id: next_num + n for n, (a, _) in enumerate(fresh)},
                 removed=[a.num for a in listed if a.id not in kept],
                 restoried={known[i].num: s for i, s in stories.items() if i in kept and known[i].story != s},
                 stories=stories, signature_of=signature_of,
                 kept_chunks=sum(known[i].chunks for i in kept))


@dataclass
class _Plan:
    fresh: list[tuple[Article, str]]  # the articles to index, with their content keys
    nums: dict[str, int]  # their new numbers
    removed: list[int]  # numbers of the articles that go (or change)
    restoried: dict[int, str]  # kept articles whose story changed
    stories: dict[str, str]  # every article's story
    signature_of: dict[str, np.ndarray]
    kept_chunks: int

    def __bool__(self) -> bool:
        return bool(self.fresh or self.removed or self.restoried)


def _parts(plan: _Plan, cache: _VectorCache, embedder: Embedder, chunk_size: int, chunk_overlap: int,
           report: BuildReport, manifest: Manifest, started: float, progress: bool,
           on_progress: Progress | None) -> Iterator[Changes]:
    """The write, in parts of at most ARTICLES_PER_PART new articles, each chunked and embedded when
    the store asks for it: a build holds one part in memory, however large the corpus. The first
    part also carries the removals and story changes. Counts what it embeds in `report`; once the
    last part is out, the manifest has the number of chunks the store will hold and the seconds
    the build took to make them."""
    batches = [plan.fresh[at: at + ARTICLES_PER_PART] for at in range(0, len(plan.fresh), ARTICLES_PER_PART)]
    for n, batch in enumerate(batches or [[]]):
        part = Changes(removed=plan.removed, stories=plan.restoried) if n == 0 else Changes()
        what = "" if len(batches) <= 1 else f" (part {n + 1}/{len(batches)})"
        for article, key in batch:
            num = plan.nums[article.id]
            chunks = split_article(article, chunk_size, chunk_overlap)
            part.chunks.extend((record_key(num, i), c, c.content_hash, lexical_terms(c.embed_text))
                               for i, c in enumerate(chunks))
            part.sentences.extend((record_key(num, i), s, s.content_hash)
                                  for i, s in enumerate(split_sentences(article, chunk_size)))
            part.added.append(IndexedArticle(article.id, article.title, article.source, article.date, article.url,
                                             article.path, len(chunks), article.date_inferred,
                                             plan.stories.get(article.id, article.id), text_key(article.text),
                                             num, key, article.reporters, article.origin))
        chunk_texts = {c.content_hash: c.embed_text for _, c, _, _ in part.chunks}
        sentence_texts = {s.content_hash: s.text for _, s, _ in part.sentences}
        vectors = cache.lookup(list(chunk_texts) + list(sentence_texts))
        made = _embed_missing(embedder, {h: t for h, t in chunk_texts.items() if h not in vectors}, progress,
                              "passages" + what, on_progress)
        made_sentences = _embed_missing(embedder, {h: t for h, t in sentence_texts.items() if h not in vectors},
                                        progress, "sentences" + what, on_progress)
        vectors.update(made)
        vectors.update(made_sentences)
        part.chunk_vectors = _stacked(vectors, [h for _, _, h, _ in part.chunks], embedder.dim)
        part.sentence_vectors = _stacked(vectors, [h for _, _, h in part.sentences], embedder.dim)
        part.signatures = (np.stack([plan.signature_of[a.id] for a, _ in batch]) if batch
                           else np.zeros((0, NUM_PERM), np.uint64))
        report.chunks += len(part.chunks)
        report.embedded += len(made)
        report.sentences_embedded += len(made_sentences)
        yield part
    manifest.chunks, manifest.seconds = report.chunks, round(time.perf_counter() - started, 3)


def _stacked(lookup: dict[str, np.ndarray], hashes: list[str], dim: int) -> np.ndarray:
    return np.stack([lookup[h] for h in hashes]).astype(np.float32) if hashes else np.zeros((0, dim), np.float32)
