"""`qa build` as a function: read the corpus, build the index, know when it is out of date."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from qa.config import DEFAULT_MODEL, Settings
from qa.errors import CorpusError
from qa.index.embedding import Embedder, make_embedder
from qa.index.incremental import BuildReport, Progress, build_index
from qa.index.stores import FORMAT_VERSION, location_for
from qa.ingest.corpus import READER_VERSION, article_files, load_articles
from qa.locking import index_lock


def corpus_fingerprint(roots: tuple[Path, ...], year: int | None = None) -> str:
    """A hash of the corpus files' names and contents, of the reader's version and of the year given
    for dates without one (a fresh clone or a copy is not 'changed'; a new way of reading them is)."""
    digest = hashlib.sha1(READER_VERSION.encode())
    if year:
        digest.update(f"\0year {year}".encode())
    for root in roots:
        root = Path(root)
        for file in article_files(root):
            digest.update(f"{file.relative_to(root) if root.is_dir() else file.name}\0".encode())
            digest.update(hashlib.sha1(file.read_bytes()).digest())
    return digest.hexdigest()


def index_is_current(settings: Settings) -> bool:
    """True when the index exists, uses the settings' model and chunking, and matches the corpus files."""
    manifest = location_for(settings).manifest()
    if manifest is None:
        return False
    return (manifest.format == FORMAT_VERSION and manifest.model == (settings.model or manifest.model)
            and manifest.chunk_size == settings.chunk_size
            and manifest.chunk_overlap == settings.chunk_overlap
            and manifest.corpus_fingerprint == corpus_fingerprint(settings.corpus, settings.year or manifest.year))


def build(settings: Settings, strict: bool = False, progress: bool = True, wait: bool = True,
          on_wait: Callable[[str], None] | None = None, embedder: Embedder | None = None,
          on_progress: Progress | None = None, what: str = "qa build") -> BuildReport:
    """Read the articles under settings.corpus and (re)build the index at settings.index_dir,
    holding the index's writer lock (waiting for another build, or BuildRunningError without `wait`).
    `embedder` saves loading the model again when the caller has it (the chat does)."""
    with index_lock(location_for(settings).lock_dir, what=what, wait=wait, on_wait=on_wait):
        return _build_locked(settings, strict, progress, embedder, on_progress)


def _build_locked(settings: Settings, strict: bool, progress: bool, embedder: Embedder | None,
                  on_progress: Progress | None) -> BuildReport:
    location = location_for(settings)
    previous = location.manifest()
    year = settings.year or (previous.year if previous else None)  # a year once given stays, like the model
    loaded = load_articles(settings.corpus, strict=strict, year=year)
    if not loaded.articles:
        where = ", ".join(str(p) for p in settings.corpus)
        raise CorpusError(f"no articles found in {where}: add .md/.txt/.jsonl/.pdf/.html/.docx files or .png/.jpg/.webp screenshots (see README, `qa build`)")
    model = settings.model or (previous.model if previous else DEFAULT_MODEL)  # keep the index's model unless told
    if embedder is None or embedder.name != model:
        embedder = make_embedder(model)
    report = build_index(
        loaded.articles, location, embedder, settings.chunk_size,
        settings.chunk_overlap, progress=progress, on_progress=on_progress,
        extra_manifest={"corpus": [str(p) for p in settings.corpus], "year": year,
                        "corpus_fingerprint": corpus_fingerprint(settings.corpus, year)})
    report.skipped = loaded.skipped
    return report
