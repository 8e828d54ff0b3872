"""Where the local store lives: a folder per collection (--index for the default one, a sibling
`<index>-collections/NAME` for the others). A full build is written to `<folder>.new` and published
by swapping folders; the store inside a folder is qa/index/stores/local.py."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa.index.stores.base import COLLECTION_NAME, DEFAULT_COLLECTION, Manifest, Store
from qa.index.stores.local import LocalStore, read_manifest, resolve_index_dir

if TYPE_CHECKING:
    from qa.index.stores import Location


def collection_folder(index_dir: Path, collection: str) -> Path:
    """The local store's folder: --index for the default collection, a sibling for the others."""
    if collection == DEFAULT_COLLECTION:
        return Path(index_dir)
    return _collections_dir(Path(index_dir)) / collection


class LocalBackend:
    """The local store at a location: one folder, embedded and offline."""

    def __init__(self, location: "Location") -> None:
        self.index_dir = Path(location.index_dir)
        self.folder = collection_folder(self.index_dir, location.collection)

    @staticmethod
    def serves(uri: str) -> bool:
        """The default: a location no other kind of store claims (no --store)."""
        return True

    @property
    def lock_dir(self) -> Path:
        return self.folder

    def describe(self) -> str:
        return str(self.folder)

    def open(self, model: str | None = None, reuse: Store | None = None) -> Store:
        return LocalStore.open(self.folder, model, reuse if isinstance(reuse, LocalStore) else None)

    def manifest(self) -> Manifest | None:
        return read_manifest(self.folder)

    def begin_full(self, manifest: Manifest) -> Store:
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        return LocalStore.create(self.folder.with_name(self.folder.name + ".new"), manifest)

    def finish_full(self, store: Store) -> None:
        store.close()
        _swap_in(Path(store.location), self.folder)

    def stamp(self) -> object:
        found = resolve_index_dir(self.folder)
        if found is None:
            return None
        try:
            stat = os.stat(found / "manifest.json")
        except OSError:
            return None
        return found.name, stat.st_ino, stat.st_mtime_ns

    def collections(self) -> list[str]:
        holder = _collections_dir(self.index_dir)
        named = sorted(p.name for p in holder.glob("*") if COLLECTION_NAME.match(p.name)
                       and resolve_index_dir(p) is not None) if holder.is_dir() else []
        default = [DEFAULT_COLLECTION] if resolve_index_dir(self.index_dir) is not None else []
        return default + named

    def is_leftover(self, store: Store) -> bool:
        """A swap was cut short: the store open is the one at `<folder>.old`."""
        return Path(store.location) != self.folder

    def legacy_vectors(self) -> dict[str, np.ndarray]:
        """content hash → vector from an index of format 2 (one folder of .jsonl and .npy files), so
        that upgrading the format embeds nothing again."""
        found = resolve_index_dir(self.folder)
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
