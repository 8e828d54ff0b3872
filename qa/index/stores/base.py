"""The store interface: what the engine, the chat and the evaluation ask of an index, the records it
keeps, and what each kind of store does at a location (`Backend`).

Every backend (qa/index/stores/local.py: SQLite + FAISS + bm25s in a folder; qa/index/stores/milvus.py: Milvus
Lite or a Milvus server) holds the same records — articles, their chunks and sentences with their
vectors — and answers the same questions about them. Chunk and sentence keys are integers that
say where they come from: the article's number × ARTICLE_SPAN + their position in the article, so
a sentence's neighbours are key ± 1 and an article's records are one key range. Only this module
does that arithmetic: callers use the helpers below (`record_key`, `article_num_of`, `lead_key`,
`article_key_range`, `IndexedArticle.chunk_keys`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Protocol

import numpy as np

from qa.errors import IndexMismatchError
from qa.ingest.chunking import Chunk, Sentence

# 6: an over-long sentence is never cut inside a number ("1,800MB/s"; same fields as 5); 5: articles
# keep their origin (OCR, a feed's summary); 4: their reporters; 3: stores (SQLite records, segments,
# generations); 2: one folder of .jsonl/.npy files
FORMAT_VERSION = 6
# Formats a store still reads (an older one answers, knowing less, until `qa build` rebuilds it in full,
# reusing the vectors of every chunk whose text is unchanged).
READABLE_FORMATS = (3, 4, 5, 6)
REPORTER_SEPARATOR = "、"  # reporters in one text field ("刘仲华、张慧中"), as bylines write them
ARTICLE_SPAN = 1 << 20  # positions per article in a chunk or sentence key
DEFAULT_COLLECTION = "default"
COLLECTION_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


def check_collection(name: str) -> str:
    """The collection name, or IndexMismatchError saying what a name may be."""
    name = (name or DEFAULT_COLLECTION).strip()
    if not COLLECTION_NAME.match(name):
        raise IndexMismatchError(f"the collection name {name!r} is not usable: use a letter, then letters, digits "
                                 "or _ (at most 64), e.g. --collection finance_2023")
    return name


def record_key(article_num: int, position: int) -> int:
    """The key of an article's chunk or sentence."""
    return article_num * ARTICLE_SPAN + position


def article_num_of(key: int) -> int:
    """The number of the article that holds the chunk or sentence with this key."""
    return key // ARTICLE_SPAN


def article_nums_of(keys: np.ndarray) -> np.ndarray:
    """`article_num_of` of each key of an array."""
    return keys // ARTICLE_SPAN


def article_key_range(article_num: int) -> tuple[int, int]:
    """[first, last + 1) of the keys an article's chunks and sentences may have."""
    return record_key(article_num, 0), record_key(article_num + 1, 0)


def lead_key(key: int) -> int:
    """The key of the first chunk (the lead) of the article that holds the chunk with this key."""
    return record_key(article_num_of(key), 0)


def joined_reporters(reporters: tuple[str, ...] | list[str]) -> str:
    """Reporters as one stored text field."""
    return REPORTER_SEPARATOR.join(reporters)


def split_reporters(stored: str | None) -> tuple[str, ...]:
    """Reporters from their stored text field."""
    return tuple(r for r in (stored or "").split(REPORTER_SEPARATOR) if r)


@dataclass(frozen=True)
class IndexedArticle:
    """An article as the store lists it: where it came from, how many chunks it gave, its story."""

    id: str
    title: str
    source: str
    date: str
    url: str
    path: str
    chunks: int
    date_inferred: str = ""  # where a missing year came from ("file", "article", "corpus"; "" = given)
    story: str = ""  # the id of the earliest article of its near-duplicate group (itself when alone)
    text_key: str = ""  # a hash of its text: the key of its story signature
    num: int = 0  # the store's number for it: its records' keys start at num × ARTICLE_SPAN
    content: str = ""  # a hash of everything the index takes from it: changed content → re-indexed
    reporters: tuple[str, ...] = ()  # as the byline credits them ("王瑞芳"); `source` is the outlet
    origin: str = ""  # "" the file's own text; "ocr" read off an image; "summary" a feed's summary of the page

    def listing(self) -> dict:
        """What `articles.jsonl`-style listings and the API show of it."""
        return {k: v for k, v in asdict(self).items() if k not in ("num", "content")}

    @property
    def lead_key(self) -> int:
        """The key of its first chunk (the lead) and of its first sentence."""
        return record_key(self.num, 0)

    def chunk_keys(self) -> list[int]:
        """The keys of its chunks, in order."""
        return [record_key(self.num, i) for i in range(self.chunks)]


@dataclass(frozen=True)
class StoredSentence:
    key: int
    sentence: Sentence


@dataclass
class Manifest:
    """What an index was built with and what it holds; read and checked in one place."""

    model: str
    dim: int
    chunk_size: int
    chunk_overlap: int
    format: int = FORMAT_VERSION
    articles: int = 0
    chunks: int = 0
    ann: str = "flat"
    generation: int = 0  # one more with every write; readers see the records of their generation
    built_at: str = ""
    seconds: float = 0.0
    corpus: list[str] = field(default_factory=list)
    corpus_fingerprint: str = ""
    year: int | None = None  # the year given for dates without one (`qa build --year`), kept for later builds
    dataset: str = ""
    segments: list[dict] = field(default_factory=list)  # the local store's immutable parts
    backend: dict = field(default_factory=dict)  # the Milvus store's build and term totals

    @classmethod
    def from_dict(cls, raw: object, where: str) -> "Manifest":
        """The manifest, or IndexMismatchError saying how to mend it."""
        if not isinstance(raw, dict):
            raise IndexMismatchError(f"the index at {where} is damaged (unreadable manifest): rebuild it with `qa build`")
        if raw.get("format") not in READABLE_FORMATS:
            readable = " and ".join(map(str, READABLE_FORMATS))
            raise IndexMismatchError(f"the index at {where} has format {raw.get('format')}, this version reads {readable}: "
                                     "rebuild it with `qa build` (unchanged texts are not embedded again)")
        known = {f.name for f in fields(cls)}
        try:
            return cls(**{k: v for k, v in raw.items() if k in known})
        except TypeError as error:
            raise IndexMismatchError(f"the index at {where} is damaged ({error}): rebuild it with `qa build`") from None

    def to_dict(self) -> dict:
        return asdict(self)

    def check_model(self, model: str | None, where: str) -> None:
        """IndexMismatchError when the index was built with another model than `model` (None: any)."""
        if model and self.model != model:
            raise IndexMismatchError(
                f"the index at {where} was built with the model {self.model!r}, not {model!r}: "
                f"rebuild it with `qa build --model {model}`, or use --model {self.model}")


@dataclass
class Changes:
    """One write to a store: the articles that come in (with their records and vectors) and the
    numbers of those that go; `stories` re-assigns the story of articles that stay."""

    added: list[IndexedArticle] = field(default_factory=list)
    signatures: np.ndarray | None = None  # the added articles' story signatures, in order
    chunks: list[tuple[int, Chunk, str, list[str]]] = field(default_factory=list)  # key, chunk, hash, terms
    chunk_vectors: np.ndarray | None = None
    sentences: list[tuple[int, Sentence, str]] = field(default_factory=list)  # key, sentence, hash
    sentence_vectors: np.ndarray | None = None
    removed: list[int] = field(default_factory=list)  # article numbers
    stories: dict[int, str] = field(default_factory=dict)  # article number → its new story id

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.stories)

    @classmethod
    def joined(cls, parts: Iterable["Changes"], dim: int) -> "Changes":
        """The parts of one write as a single change (for a store that needs it whole)."""
        whole = cls()
        signatures, chunk_vectors, sentence_vectors = [], [np.zeros((0, dim), np.float32)], [np.zeros((0, dim), np.float32)]
        for part in parts:
            whole.added += part.added
            whole.chunks += part.chunks
            whole.sentences += part.sentences
            whole.removed += part.removed
            whole.stories.update(part.stories)
            if part.signatures is not None:
                signatures.append(part.signatures)
            for vectors, into in ((part.chunk_vectors, chunk_vectors), (part.sentence_vectors, sentence_vectors)):
                if vectors is not None:
                    into.append(vectors)
        whole.signatures = np.concatenate(signatures) if signatures else None
        whole.chunk_vectors, whole.sentence_vectors = np.concatenate(chunk_vectors), np.concatenate(sentence_vectors)
        return whole


class Store(Protocol):
    """An index the engine can ask. Reads see one generation; `write` makes the next one."""

    manifest: Manifest
    location: str

    def dense_search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(chunk key, cosine) of the k nearest chunks."""

    def lexical_search(self, terms: list[str], k: int) -> list[tuple[int, float]]:
        """(chunk key, BM25 score) of the k best chunks with a positive score."""

    def chunks(self, keys: list[int]) -> dict[int, Chunk]:
        """The chunks with these keys."""

    def chunk_vectors(self, keys: list[int]) -> np.ndarray:
        """Their vectors, in the order of `keys`."""

    def sentences_of(self, article_nums: list[int]) -> dict[int, list[StoredSentence]]:
        """Each article's sentences, in order."""

    def sentence_vectors(self, keys: list[int]) -> np.ndarray:
        """The sentences' vectors, in the order of `keys`."""

    def passage_containing(self, article_id: str, start: int, end: int) -> Chunk | None:
        """The shortest chunk of the article that contains the span [start, end)."""

    def term_weights(self, terms: list[str]) -> dict[str, float]:
        """BM25's IDF of each term (terms never seen get the highest)."""

    def articles(self, limit: int | None = None) -> list[IndexedArticle]:
        """Every article (the first `limit`), in the order they were indexed."""

    def articles_by_id(self, ids: list[str]) -> dict[str, IndexedArticle]:
        """The articles with these ids."""

    def articles_by_byline(self, name: str) -> list[IndexedArticle]:
        """The articles crediting `name`, as one of their reporters or as their source (outlet)."""

    def story_members(self, stories: list[str]) -> dict[str, list[IndexedArticle]]:
        """The articles of each story, earliest first."""

    def signatures(self) -> dict[str, np.ndarray]:
        """text key → story signature of every article (a build reuses them)."""

    def cached_vectors(self, hashes: list[str]) -> dict[str, np.ndarray]:
        """content hash → vector of the chunks and sentences the store already holds."""

    def next_article_num(self) -> int:
        """A number no article of the store has had (numbers are never reused)."""

    def write(self, parts: Iterable[Changes], manifest: Manifest) -> None:
        """Apply the parts of one change (taken one at a time) and publish them as the next
        generation, all at once for readers."""

    def stamp(self) -> object:
        """Changes when another generation is published (cheap: asked before every question)."""

    def close(self) -> None:
        ...


class Backend(Protocol):
    """One kind of store at one location (a collection of a folder, of a Milvus Lite file, of a Milvus
    server): what `Location` asks of it. qa/index/stores/__init__.py chooses the kind from the URI once."""

    @property
    def lock_dir(self) -> Path:
        """What the writer lock is named after (qa/locking.py puts `<name>.lock` beside it)."""

    def describe(self) -> str:
        """Where the index is, for people."""

    def open(self, model: str | None = None, reuse: Store | None = None) -> Store:
        """The published store (checking the model, if given); `reuse` lends what an earlier opening loaded."""

    def manifest(self) -> Manifest | None:
        """The published manifest (None: no index yet, or one this version cannot read)."""

    def begin_full(self, manifest: Manifest) -> Store:
        """An empty store that becomes this location's only when `finish_full` publishes it."""

    def finish_full(self, store: Store) -> None:
        """Make the fully written store the one every later `open` finds; drop the previous one."""

    def stamp(self) -> object:
        """Changes when a new generation or a new index is published (asked before every question)."""

    def collections(self) -> list[str]:
        """The collections that hold an index in this store."""

    def is_leftover(self, store: Store) -> bool:
        """Whether `store` is what a full build cut short left behind: it answers and lends its
        vectors, but the next build replaces it in full."""

    def legacy_vectors(self) -> dict[str, np.ndarray]:
        """content hash → vector of an index of a format this version no longer opens, at this location."""
