"""`qa build` as a function: read the corpus, build the index, know when it is out of date."""

from __future__ import annotations

import hashlib
from pathlib import Path

from .config import DEFAULT_MODEL, Settings
from .corpus import article_files, load_articles
from .embedding import make_embedder
from .errors import CorpusError
from .index import BuildReport, build_index, read_manifest


def corpus_fingerprint(roots: tuple[Path, ...]) -> str:
    """A hash of the corpus files' names and contents (a fresh clone or a copy is not 'changed')."""
    digest = hashlib.sha1()
    for root in roots:
        root = Path(root)
        for file in article_files(root):
            digest.update(f"{file.relative_to(root) if root.is_dir() else file.name}\0".encode())
            digest.update(hashlib.sha1(file.read_bytes()).digest())
    return digest.hexdigest()


def index_is_current(settings: Settings) -> bool:
    """True when the index exists, uses the settings' model and chunking, and matches the corpus files."""
    manifest = read_manifest(settings.index_dir)
    if manifest is None:
        return False
    return (manifest.get("model") == (settings.model or manifest.get("model"))
            and manifest.get("chunk_size") == settings.chunk_size
            and manifest.get("chunk_overlap") == settings.chunk_overlap
            and manifest.get("corpus_fingerprint") == corpus_fingerprint(settings.corpus))


def build(settings: Settings, strict: bool = False, progress: bool = True) -> BuildReport:
    """Read the articles under settings.corpus and (re)build the index at settings.index_dir."""
    loaded = load_articles(settings.corpus, strict=strict)
    if not loaded.articles:
        where = ", ".join(str(p) for p in settings.corpus)
        raise CorpusError(f"no articles found in {where}: add .md/.txt/.jsonl files (see README, `qa build`)")
    previous = read_manifest(settings.index_dir) or {}
    model = settings.model or previous.get("model") or DEFAULT_MODEL  # keep the index's model unless told
    report = build_index(
        loaded.articles, settings.index_dir, make_embedder(model), settings.chunk_size,
        settings.chunk_overlap, progress=progress,
        extra_manifest={"corpus": [str(p) for p in settings.corpus],
                        "corpus_fingerprint": corpus_fingerprint(settings.corpus)})
    report.skipped = loaded.skipped
    return report
