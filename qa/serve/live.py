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
from dataclasses import replace

from qa.answer.engine import Engine
from qa.answer.scoring import Scorer
from qa.config import Settings
from qa.errors import IndexMismatchError, IndexMissingError, QAError
from qa.index.embedding import Embedder
from qa.index.stores import Location, location_for

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
        self._engine, self._stamp = engine, stamp
        self.reloads += 1
        log.info("loaded the rebuilt index at %s (%d chunks)", self.location.describe(), engine.store.manifest.chunks)


class LiveCollections:
    """The live engines of a store's named collections (knowledge bases), each opened on first use;
    the one the server started with comes first."""

    def __init__(self, first: LiveEngine) -> None:
        self.first = first
        self._live = {first.location.collection: first}
        self._opening = threading.Lock()

    def names(self) -> list[str]:
        """The collections that hold an index, the server's own first."""
        own = self.first.location.collection
        return [own] + [n for n in self.first.location.collections() if n != own]

    def get(self, name: str | None) -> LiveEngine:
        """The live engine of collection `name` (the server's own when None or empty)."""
        if name is not None and not isinstance(name, str):
            raise IndexMismatchError(f"a collection is named by a string, not {name!r}",
                                     zh="知识库的名称应是文字：请从列表中选择一个知识库。")
        if not name or name == self.first.location.collection:
            return self.first
        with self._opening:
            if name not in self._live:
                location = self.first.location.with_collection(name)
                manifest = location.manifest()
                if manifest is None:
                    raise IndexMissingError(f"there is no collection {name!r} in {location.describe()}: "
                                            f"build it with `qa build --collection {name} --corpus FOLDER`; "
                                            f"the collections are {', '.join(self.names())}",
                                            zh=f"没有名为“{name}”的知识库：请从列表中选择（"
                                               f"{'、'.join(self.names())}），或先用 qa build --collection 建立它。")
                embedder = self.first.embedder if manifest.model == self.first.embedder.name else None
                settings = replace(self.first.settings, collection=name, model=None)
                self._live[name] = LiveEngine(settings, embedder=embedder, scorer=self.first.current().scorer)
            return self._live[name]
