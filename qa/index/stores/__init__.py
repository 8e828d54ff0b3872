"""Where an index lives, chosen by `--store URI` (QA_STORE) and `--collection NAME` (QA_COLLECTION).

    no --store                  the embedded default: a folder (--index, then collections/NAME in it)
    --store PATH.db             Milvus Lite, embedded, in that file (as pymilvus reads such a URI)
    --store http(s)://host:port a Milvus server (Standalone or Distributed); token in QA_MILVUS_TOKEN

Every command goes through a `Location` (`location_for(settings)`): open the store to ask it, read its
manifest, start a full build that readers see only once it is complete, and say when a new generation
was published. The kind of store is chosen from the URI once, when the Location is made (`BACKENDS`);
callers get a `Store` and never ask which kind it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from qa.config import Settings, home_cache
from qa.index.stores.base import (
    DEFAULT_COLLECTION,
    FORMAT_VERSION,
    Backend,
    Changes,
    IndexedArticle,
    Manifest,
    Store,
    StoredSentence,
    check_collection,
    record_key,
)
from qa.index.stores.local_backend import LocalBackend, collection_folder
from qa.index.stores.milvus_backend import MilvusBackend

__all__ = ["FORMAT_VERSION", "Changes", "IndexedArticle", "Location", "Manifest", "Store", "StoredSentence",
           "record_key", "DEFAULT_COLLECTION", "check_collection", "location_for"]

# The kinds of store, asked in turn whether they serve a location's URI: the first that does is its
# backend. The local folder serves any URI the others do not claim (no --store).
BACKENDS: tuple[type, ...] = (MilvusBackend, LocalBackend)


def backend_for(location: "Location") -> Backend:
    """The backend of the kind of store that serves the location's URI."""
    kind = next(kind for kind in BACKENDS if kind.serves(location.uri))
    return kind(location)


@dataclass(frozen=True)
class Location:
    """One collection in one store: the local folder or a Milvus collection set."""

    index_dir: Path
    uri: str = ""
    collection: str = DEFAULT_COLLECTION
    milvus_token: str = field(default="", repr=False)  # signs in to a Milvus server (Settings.milvus_token)
    user_cache: Path = field(default_factory=home_cache)  # where a Milvus server's lock is (Settings.user_cache)
    backend: Backend = field(init=False, repr=False, compare=False)  # chosen from `uri`, once

    def __post_init__(self) -> None:
        object.__setattr__(self, "backend", backend_for(self))

    @property
    def folder(self) -> Path:
        """The local store's folder: --index for the default collection, a sibling for the others."""
        return collection_folder(Path(self.index_dir), self.collection)

    @property
    def lock_dir(self) -> Path:
        """What the writer lock is named after (qa/locking.py puts `<name>.lock` beside it)."""
        return self.backend.lock_dir

    def describe(self) -> str:
        return self.backend.describe()

    def open(self, model: str | None = None, reuse: Store | None = None) -> Store:
        """The published store (checking the model, if given); `reuse` lends what an earlier opening loaded."""
        return self.backend.open(model, reuse)

    def manifest(self) -> Manifest | None:
        """The published manifest (None: no index yet, or one this version cannot read)."""
        return self.backend.manifest()

    def begin_full(self, manifest: Manifest) -> Store:
        """An empty store that becomes this location's only when `finish_full` publishes it."""
        return self.backend.begin_full(manifest)

    def finish_full(self, store: Store) -> None:
        """Make the fully written store the one every later `open` finds; drop the previous one."""
        self.backend.finish_full(store)

    def stamp(self) -> object:
        """Changes when a new generation or a new index is published (asked before every question)."""
        return self.backend.stamp()

    def collections(self) -> list[str]:
        """The collections that hold an index in this store."""
        return self.backend.collections()

    def is_leftover(self, store: Store) -> bool:
        """Whether `store` (opened here) is what a full build cut short left behind: it answers and
        lends its vectors, but the next build replaces it in full."""
        return self.backend.is_leftover(store)

    def legacy_vectors(self) -> dict[str, np.ndarray]:
        """content hash → vector of an index of a format this version no longer opens, at this location
        (so that upgrading the format embeds nothing again)."""
        return self.backend.legacy_vectors()

    def with_collection(self, name: str) -> "Location":
        return replace(self, collection=check_collection(name))


def location_for(settings: Settings) -> Location:
    """The location the settings name (--index, --store, --collection)."""
    return Location(Path(settings.index_dir), settings.store or "", check_collection(settings.collection),
                    settings.milvus_token, settings.user_cache)
