"""The Milvus store's connection and collections: one client per URI and process, and what each
collection of a knowledge base holds. Per collection NAME and build B:

    qa_NAME_meta          the published manifest (which build, which generation) and pending ones
    qa_NAME_B_chunks      key, dense vector (FLAT, inner product), BM25 sparse vector, text and metadata
    qa_NAME_B_sentences   key, vector, text
    qa_NAME_B_articles    the article list, stories and story signatures
    qa_NAME_B_terms       document frequency of each term (the answer step's IDF, the query's weights)

A full build fills a new build's collections; publishing it drops every other build's.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from dataclasses import replace

from qa.errors import IndexMismatchError, StoreUnavailableError
from qa.index.stores.base import Manifest

PARTS = ("chunks", "sentences", "articles", "terms")
ARTICLE_FIELDS = ["id", "title", "source", "date", "url", "path", "chunks", "date_inferred", "story", "text_key",
                  "num", "content", "reporters", "origin"]
FIELDS_OF_FORMAT = {3: ARTICLE_FIELDS[:-2], 4: ARTICLE_FIELDS[:-1]}  # older articles collections lack the last fields
CHUNK_FIELDS = ["key", "id", "article_id", "title", "source", "date", "text", "start", "end"]
_clients: dict[str, object] = {}
_loaded: set[tuple[str, str]] = set()  # (uri, meta collection) known to exist and loaded
_clients_lock = threading.Lock()


def connect(uri: str, token: str = ""):
    """This process's client for `uri`, made on first use and signed in with `token` (QA_MILVUS_TOKEN: a
    server's "user:password" or API key; Milvus Lite needs none). One client per URI and process: Milvus
    Lite serves one process per file."""
    import logging

    if uri.endswith(".db"):  # the client pings the in-process Milvus Lite server, which logs it as an error
        os.environ.setdefault("GRPC_VERBOSITY", "NONE")  # told to grpc before it loads: not a setting of ours
    try:
        from pymilvus import MilvusClient
    except ImportError:
        raise StoreUnavailableError("--store names Milvus, which needs pymilvus (and milvus-lite for a .db file): "
                                    "pip install 'xinwen-qa[milvus]'") from None
    logging.getLogger("pymilvus").setLevel(logging.ERROR)  # Milvus Lite's iterators warn on every query
    if uri.endswith(".db"):  # ... and its in-process server logs the timestamp call it does not implement
        logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
    with _clients_lock:
        if uri not in _clients:
            try:
                _clients[uri] = MilvusClient(uri=uri, token=token)
            except Exception as error:  # pymilvus raises its own and grpc's exceptions
                raise StoreUnavailableError(unavailable(uri, error)) from None
        return _clients[uri]


def forget_clients() -> None:
    """Drop this process's clients and what they loaded, so that another process may open a Milvus
    Lite file (benchmarks/scale.py hands its file to `qa serve`)."""
    with _clients_lock:
        _clients.clear()
        _loaded.clear()


def client_for(uri: str):
    """The client `connect` made for `uri`: every way into a Milvus store goes through its backend
    (qa/index/stores/milvus_backend.py), which connects first, with the settings' token."""
    return _clients[uri]


def unavailable(uri: str, error: Exception) -> str:
    """What to tell when the store at `uri` cannot be reached or opened."""
    if uri.endswith(".db"):
        return (f"cannot open the Milvus Lite store {uri} ({type(error).__name__}: {error}). Milvus Lite serves one "
                "process at a time: if a `qa chat` has it open, stop it or serve the file with "
                f"`milvus-lite server --data-dir {uri} --port 19530` and use --store http://127.0.0.1:19530")
    return f"cannot reach the Milvus server at {uri} ({type(error).__name__}: {error}): is it running? (token: QA_MILVUS_TOKEN)"


def meta_name(collection: str) -> str:
    return f"qa_{collection}_meta"


def part_names(collection: str, build: str) -> dict[str, str]:
    """The name of each of a build's collections."""
    return {part: f"qa_{collection}_{build}_{part}" for part in PARTS}


def read_manifest(uri: str, collection: str) -> Manifest | None:
    """The published manifest of the collection (None: none, or not one this version reads)."""
    client = client_for(uri)
    meta = meta_name(collection)
    try:
        if (uri, meta) not in _loaded:  # asked before every question: check and load once per process
            if not client.has_collection(meta):
                return None
            client.load_collection(meta)
            _loaded.add((uri, meta))
        rows = client.query(meta, ids=["manifest"], output_fields=["value"])
    except StoreUnavailableError:
        raise
    except Exception as error:
        raise StoreUnavailableError(unavailable(uri, error)) from None
    if not rows:
        return None
    try:
        return Manifest.from_dict(json.loads(rows[0]["value"]), f"{uri} (collection {collection})")
    except (ValueError, IndexMismatchError):
        return None


def published_collections(uri: str) -> list[str]:
    """The collections of the store at `uri` that hold a published index."""
    names = [n[3:-5] for n in client_for(uri).list_collections() if n.startswith("qa_") and n.endswith("_meta")]
    return sorted(n for n in names if read_manifest(uri, n) is not None)


def create_build(uri: str, collection: str, manifest: Manifest) -> Manifest:
    """Empty collections for a new build of the collection (and its meta collection, the first time);
    the manifest they start from, at generation 0."""
    client = client_for(uri)
    build = f"b{time.time_ns():x}"
    manifest = replace(manifest, generation=0, backend={"build": build, "next_num": 1, "terms": 0})
    meta = meta_name(collection)
    if not client.has_collection(meta):
        _create(client, meta, "meta", 0)
    for part, name in part_names(collection, build).items():
        _create(client, name, part, manifest.dim)
    return manifest


def drop_other_builds(client, collection: str, keep: set[str]) -> None:
    """Drop the collections of every build of the collection but those named in `keep`."""
    builds = re.compile(rf"^qa_{collection}_b[0-9a-f]+_({'|'.join(PARTS)})$")
    for name in client.list_collections():
        if builds.match(name) and name not in keep:
            client.drop_collection(name)


def _create(client, name: str, part: str, dim: int) -> None:
    """A collection of one of the store's kinds, with its indexes, loaded."""
    from pymilvus import DataType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    index = client.prepare_index_params()
    text = dict(datatype=DataType.VARCHAR, max_length=65535)
    short = dict(datatype=DataType.VARCHAR, max_length=1024)
    if part == "meta":
        schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=256)
        schema.add_field("value", **text)
    elif part == "terms":
        schema.add_field("key", DataType.INT64, is_primary=True)
        schema.add_field("df", DataType.INT64)
    elif part == "articles":
        schema.add_field("num", DataType.INT64, is_primary=True)
        for field in ("id", "title", "source", "date", "url", "path", "date_inferred", "story", "text_key", "content",
                      "reporters", "origin"):
            schema.add_field(field, **(text if field in ("title", "url", "path") else short))
        schema.add_field("chunks", DataType.INT64)
        schema.add_field("signature", **text)
        schema.add_field("added", DataType.INT64)
        schema.add_field("removed", DataType.INT64)
    else:
        schema.add_field("key", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        schema.add_field("article_num", DataType.INT64)
        schema.add_field("added", DataType.INT64)
        schema.add_field("article_id", **short)
        schema.add_field("text", **text)
        schema.add_field("start", DataType.INT64)
        schema.add_field("end", DataType.INT64)
        schema.add_field("hash", DataType.VARCHAR, max_length=64)
        index.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
        if part == "chunks":
            for field in ("id", "title", "source", "date"):
                schema.add_field(field, **(text if field == "title" else short))
            schema.add_field("length", DataType.INT64)  # terms, for BM25's average document length
            schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
            index.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    if part in ("meta", "terms", "articles"):  # Milvus wants a vector field in every collection
        schema.add_field("marker", DataType.FLOAT_VECTOR, dim=2)
        index.add_index(field_name="marker", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=schema, index_params=index)
