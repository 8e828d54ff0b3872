"""An engine that follows its index: a rebuild (here or by `qa build` elsewhere) is seen on the next question.

A build publishes a new generation of the store all at once (the local store replaces its
manifest file: a new inode; Milvus updates its manifest record), so `current()` compares the
store's stamp with the one it loaded — one `stat` per question for the local store — and opens
the new generation when they differ, reusing what did not change (the local store's segments).
A load that overlaps another publication is detected (the stamp changed while loading) and thrown
away, so an engine never mixes two generations; questions already running keep their engine.
"""

from __future__ import annotations

import logging
import threading
from .config import Settings
from .embedding import Embedder
from .engine import Engine
from .errors import QAError
from .scoring import Scorer
from .stores import Location, location_for

log = logging.getLogger(__name__)


class LiveEngine:
    """The engine over the index now at settings.index_dir; safe to share between threads."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None, scorer: Scorer | None = None,
                 engine: Engine | None = None) -> None:
        self.settings = settings
        self.location: Location = location_for(settings)
        self._reloading = threading.Lock()
        self._stamp = self.location.stamp()
        self._engine = engine or Engine.open(settings, embedder=embedder, scorer=scorer, location=self.location)
        self.reloads = 0

    @property
    def embedder(self) -> Embedder:
        return self._engine.retriever.embedder

    def current(self) -> Engine:
        """The engine over the newest complete index (loading it first if it changed on disk)."""
        stamp = self.location.stamp()
        if stamp is None or stamp == self._stamp:
            return self._engine
        with self._reloading:
            if stamp != self._stamp:
                self._reload(stamp)
        return self._engine

    def _reload(self, stamp: tuple) -> None:
        old = self._engine
        manifest = self.location.manifest()
        embedder = old.retriever.embedder if manifest and manifest.model == old.store.manifest.model else None
        try:
            engine = Engine.open(self.settings, embedder=embedder, scorer=old.scorer, location=self.location,
                                 reuse=old.store)
        except (QAError, OSError, ValueError) as error:  # mid-swap or broken: keep answering from the old one
            log.warning("the index at %s changed but could not be loaded yet (%s); still using the previous one",
                        self.settings.index_dir, error)
            return
        if self.location.stamp() != stamp:
            engine.store.close()
            return  # another swap happened while loading: the next question loads the newest
        engine.llm = old.llm
        self._engine, self._stamp = engine, stamp
        self.reloads += 1
        log.info("loaded the rebuilt index at %s (%d chunks)", self.location.describe(), engine.store.manifest.chunks)
