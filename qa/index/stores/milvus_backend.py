"""Where a Milvus store lives: a collection of a Milvus Lite file (`--store PATH.db`, embedded) or of
a Milvus server (`--store http(s)://host:port`, token in QA_MILVUS_TOKEN). Every way in connects
first, with the settings' token; the store itself is qa/index/stores/milvus.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa.errors import IndexMissingError, StoreUnavailableError
from qa.index.stores.base import Manifest, Store
from qa.index.stores.milvus import MilvusStore
from qa.index.stores.milvus_collections import (
    connect,
    create_build,
    published_collections,
    read_manifest,
    unavailable,
)

if TYPE_CHECKING:
    from qa.index.stores import Location

URI_PREFIXES = ("http://", "https://", "tcp://", "unix:")  # a server, as pymilvus reads such a URI


class MilvusBackend:
    """A Milvus store at a location: one collection set of a Milvus Lite file or a Milvus server."""

    def __init__(self, location: "Location") -> None:
        self.uri = location.uri
        self.collection = location.collection
        self.token = location.milvus_token
        self.user_cache = Path(location.user_cache)

    @staticmethod
    def serves(uri: str) -> bool:
        """A Milvus Lite file (`.db`) or a server's address."""
        return uri.endswith(".db") or uri.startswith(URI_PREFIXES)

    @property
    def lock_dir(self) -> Path:
        """A Milvus Lite file's lock is beside it; a server's is on this machine only (in the user's
        cache): run one `qa build` per collection at a time."""
        if self.uri.endswith(".db"):
            return Path(f"{self.uri[:-3]}-{self.collection}")
        server = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.uri.split("://", 1)[-1])
        return self.user_cache / "locks" / f"{server}-{self.collection}"

    def describe(self) -> str:
        return f"{self.uri} (collection {self.collection})"

    def _connect(self) -> None:
        connect(self.uri, self.token)

    def open(self, model: str | None = None, reuse: Store | None = None) -> Store:
        manifest = self.manifest()
        if manifest is None:
            raise IndexMissingError(f"no index in {self.uri} (collection {self.collection}): run "
                                    f"`qa build --store {self.uri} --collection {self.collection}`")
        manifest.check_model(model, self.describe())
        try:
            return MilvusStore(self.uri, self.collection, manifest)
        except Exception as error:  # pymilvus' and grpc's exceptions: collections dropped or server gone
            raise StoreUnavailableError(unavailable(self.uri, error)) from None

    def manifest(self) -> Manifest | None:
        self._connect()
        return read_manifest(self.uri, self.collection)

    def begin_full(self, manifest: Manifest) -> Store:
        """Empty collections for a new build, published only by `finish_full`."""
        self._connect()
        return MilvusStore(self.uri, self.collection, create_build(self.uri, self.collection, manifest),
                           published=False)

    def finish_full(self, store: Store) -> None:
        """Publish the full build and drop the collections of every other build of the collection."""
        store.close()
        self._connect()
        if not isinstance(store, MilvusStore):
            raise TypeError(f"a Milvus location publishes a Milvus store, not {type(store).__name__}")
        store.publish_build()

    def stamp(self) -> object:
        manifest = self.manifest()
        return None if manifest is None else (manifest.backend.get("build"), manifest.generation)

    def collections(self) -> list[str]:
        self._connect()
        return published_collections(self.uri)

    def is_leftover(self, store: Store) -> bool:
        """Never: a full build is published by switching the meta record, in one step."""
        return False

    def legacy_vectors(self) -> dict[str, np.ndarray]:
        """None: Milvus stores were never of an older layout."""
        return {}
