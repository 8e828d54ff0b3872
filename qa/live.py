"""An engine that follows its index: a rebuild (here or by `qa build` elsewhere) is seen on the next question.

A build swaps a complete index folder in with renames and writes its manifest last, so a new
manifest file (a new inode) means a new index. `current()` compares the manifest it loaded with
the one on disk — one `stat` per question — and loads the new index when they differ. A load that
overlaps another swap is detected (the manifest changed while reading) and thrown away, so an
engine never mixes two indexes; questions already running keep the engine they started with.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from .config import Settings
from .embedding import Embedder
from .engine import Engine
from .errors import QAError
from .index import read_manifest, resolve_index_dir
from .scoring import Scorer

log = logging.getLogger(__name__)


def index_stamp(index_dir: Path) -> tuple[str, int, int] | None:
    """Identifies the index now at `index_dir`: its folder, manifest inode and mtime (None: no index)."""
    found = resolve_index_dir(Path(index_dir))
    if found is None:
        return None
    try:
        stat = os.stat(found / "manifest.json")
    except OSError:
        return None
    return found.name, stat.st_ino, stat.st_mtime_ns


class LiveEngine:
    """The engine over the index now at settings.index_dir; safe to share between threads."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None, scorer: Scorer | None = None,
                 engine: Engine | None = None) -> None:
        self.settings = settings
        self._reloading = threading.Lock()
        self._stamp = index_stamp(settings.index_dir)
        self._engine = engine or Engine.open(settings, embedder=embedder, scorer=scorer)
        self.reloads = 0

    @property
    def embedder(self) -> Embedder:
        return self._engine.retriever.embedder

    def current(self) -> Engine:
        """The engine over the newest complete index (loading it first if it changed on disk)."""
        stamp = index_stamp(self.settings.index_dir)
        if stamp is None or stamp == self._stamp:
            return self._engine
        with self._reloading:
            if stamp != self._stamp:
                self._reload(stamp)
        return self._engine

    def _reload(self, stamp: tuple) -> None:
        old = self._engine
        manifest = read_manifest(self.settings.index_dir) or {}
        embedder = old.retriever.embedder if manifest.get("model") == old.index.manifest.get("model") else None
        try:
            engine = Engine.open(self.settings, embedder=embedder, scorer=old.scorer)
        except (QAError, OSError, ValueError) as error:  # mid-swap or broken: keep answering from the old one
            log.warning("the index at %s changed but could not be loaded yet (%s); still using the previous one",
                        self.settings.index_dir, error)
            return
        if index_stamp(self.settings.index_dir) != stamp:
            return  # another swap happened while loading: the next question loads the newest
        engine.llm = old.llm
        self._engine, self._stamp = engine, stamp
        self.reloads += 1
        log.info("loaded the rebuilt index at %s (%d chunks)", self.settings.index_dir, len(engine.index.chunks))
