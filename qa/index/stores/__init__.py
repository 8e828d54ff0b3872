"""Where an index lives, chosen by `--store URI` (QA_STORE) and `--collection NAME` (QA_COLLECTION).

    no --store                  the embedded default: a folder (--index, then collections/NAME in it)
    --store PATH.db             Milvus Lite, embedded, in that file (as pymilvus reads such a URI)
    --store http(s)://host:port a Milvus server (Standalone or Distributed); token in QA_MILVUS_TOKEN

Every command goes through a `Location` (`location_for(settings)`): open the store to ask it, read its
manifest, start a full build that readers see only once it is complete, and say when a new generation
was published.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

from qa.config import Settings, home_cache
from qa.errors import IndexMismatchError
from qa.index.stores.base import FORMAT_VERSION, Changes, IndexedArticle, Manifest, Store, StoredSentence, record_key
from qa.index.stores.local import LocalStore, read_manifest, resolve_index_dir

__all__ = ["FORMAT_VERSION", "Changes", "IndexedArticle", "Location", "Manifest", "Store", "StoredSentence",
           "record_key", "DEFAULT_COLLECTION", "location_for"]

DEFAULT_COLLECTION = "default"
_COLLECTION_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


def check_collection(name: str) -> str:
    """The collection name, or IndexMismatchError saying what a name may be."""
    name = (name or DEFAULT_COLLECTION).strip()
    if not _COLLECTION_NAME.match(name):
        raise IndexMismatchError(f"the collection name {name!r} is not usable: use a letter, then letters, digits "
                                 "or _ (at most 64), e.g. --collection finance_2023")
    return name


def is_milvus(uri: str) -> bool:
    return uri.endswith(".db") or uri.startswith(("http://", "https://", "tcp://", "unix:"))


@dataclass(frozen=True)
class Location:
    """One collection in one store: the local folder or a Milvus collection set."""

    index_dir: Path
    uri: str = ""
    collection: str = DEFAULT_COLLECTION
    milvus_token: str = field(default="", repr=False)  # signs in to a Milvus server (Settings.milvus_token)
    user_cache: Path = field(default_factory=home_cache)  # where a Milvus server's lock is (Settings.user_cache)

    @property
    def folder(self) -> Path:
        """The local store's folder: --index for the default collection, a sibling for the others."""
        if self.collection == DEFAULT_COLLECTION:
            return Path(self.index_dir)
        return _collections_dir(Path(self.index_dir)) / self.collection

    @property
    def lock_dir(self) -> Path:
        """What the writer lock is named after (qa/locking.py puts `<name>.lock` beside it). A Milvus
        server's lock is on this machine only: run one `qa build` per collection at a time."""
        if self.uri.endswith(".db"):
            return Path(f"{self.uri[:-3]}-{self.collection}")
        if is_milvus(self.uri):
            server = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.uri.split("://", 1)[-1])
            return Path(self.user_cache) / "locks" / f"{server}-{self.collection}"
        return self.folder

    def describe(self) -> str:
        if is_milvus(self.uri):
            return f"{self.uri} (collection {self.collection})"
        return str(self.folder)

    def milvus(self):
        """The Milvus store class, its client for this URI signed in with the token."""
        from qa.index.stores.milvus import MilvusStore, connect

        connect(self.uri, self.milvus_token)
        return MilvusStore

    def open(self, model: str | None = None, reuse: Store | None = None) -> Store:
        if is_milvus(self.uri):
            return self.milvus().open(self.uri, self.collection, model)
        return LocalStore.open(self.folder, model, reuse if isinstance(reuse, LocalStore) else None)

    def manifest(self) -> Manifest | None:
        """The published manifest (None: no index yet, or one this version cannot read)."""
        if is_milvus(self.uri):
            return self.milvus().read_manifest(self.uri, self.collection)
        return read_manifest(self.folder)

    def begin_full(self, manifest: Manifest) -> Store:
        """An empty store that becomes this location's only when `finish_full` publishes it."""
        if is_milvus(self.uri):
            return self.milvus().create(self.uri, self.collection, manifest)
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        return LocalStore.create(self.folder.with_name(self.folder.name + ".new"), manifest)

    def finish_full(self, store: Store) -> None:
        """Make the fully written store the one every later `open` finds; drop the previous one."""
        store.close()
        if is_milvus(self.uri):
            self.milvus().switch_to(self.uri, self.collection, store)
            return
        _swap_in(Path(store.location), self.folder)

    def stamp(self) -> object:
        """Changes when a new generation or a new index is published (asked before every question)."""
        if is_milvus(self.uri):
            return self.milvus().stamp_of(self.uri, self.collection)
        found = resolve_index_dir(self.folder)
        if found is None:
            return None
        try:
            stat = os.stat(found / "manifest.json")
        except OSError:
            return None
        return found.name, stat.st_ino, stat.st_mtime_ns

    def collections(self) -> list[str]:
        """The collections that hold an index in this store."""
        if is_milvus(self.uri):
            return self.milvus().collections(self.uri)
        holder = _collections_dir(Path(self.index_dir))
        named = sorted(p.name for p in holder.glob("*") if _COLLECTION_NAME.match(p.name)
                       and resolve_index_dir(p) is not None) if holder.is_dir() else []
        default = [DEFAULT_COLLECTION] if resolve_index_dir(Path(self.index_dir)) is not None else []
        return default + named

    def with_collection(self, name: str) -> "Location":
        return replace(self, collection=check_collection(name))


def location_for(settings: Settings) -> Location:
    """The location the settings name (--index, --store, --collection)."""
    return Location(Path(settings.index_dir), settings.store or "", check_collection(settings.collection),
                    settings.milvus_token, settings.user_cache)


def _collections_dir(index_dir: Path) -> Path:
    """Where the local store keeps named collections: `embeddings-collections/NAME` beside `embeddings`."""
    return index_dir.with_name(index_dir.name + "-collections")


def _swap_in(new: Path, directory: Path) -> None:
    """Two renames: `<dir>` → `<dir>.old`, `<dir>.new` → `<dir>`; a build killed between them
    leaves `<dir>.old`, which `resolve_index_dir` finds."""
    old = directory.with_name(directory.name + ".old")
    if old.exists() and (directory / "manifest.json").is_file():
        shutil.rmtree(old)  # a leftover from an earlier interrupted swap, superseded
    if directory.exists():
        if old.exists():
            shutil.rmtree(directory)
        else:
            directory.rename(old)
    new.rename(directory)
    shutil.rmtree(old, ignore_errors=True)
