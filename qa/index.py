"""The persisted index under `embeddings/`: chunks, their vectors, a FAISS index and BM25.

Layout: manifest.json, articles.jsonl (what the knowledge-base view lists, with each article's
near-duplicate story) and story_signatures.npy (their MinHash signatures), chunks.jsonl,
vectors.npy, faiss.index, bm25/, and the sentence-level evidence the answer step scores by
meaning: sentences.jsonl and sentence_vectors.npy. A build writes a
sibling `<dir>.new`, then swaps it in with two renames; a build killed at any moment leaves
the previous index (at `<dir>`, or at `<dir>.old` between the renames) loadable.
"""

from __future__ import annotations

import bisect
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .chunking import Chunk, Sentence, split_article, split_sentences
from .corpus import Article
from .embedding import Embedder
from .errors import IndexMismatchError, IndexMissingError
from .dates import ISO_DATE
from .stories import NUM_PERM, group_stories, signature, text_key

FORMAT_VERSION = 2  # 2: sentence vectors
# Above this many chunks search goes through HNSW instead of an exact scan: at 20,000 e5 vectors an
# exact scan takes ~1.2 ms (a tenth of embedding the query), at 50,000 ~4 ms, while HNSW keeps
# recall@10 ≈ 0.99 under 0.5 ms (benchmarks/ann_threshold.py, README "Benchmark").
ANN_THRESHOLD = 20_000
HNSW_NEIGHBOURS = 32
HNSW_EF_SEARCH = 128
EMBED_BATCH = 32


@dataclass
class BuildReport:
    """What a build did; `removed` counts articles that were in the previous index and are gone."""

    articles: int
    chunks: int
    embedded: int
    reused: int
    sentences_embedded: int
    removed: int
    seconds: float
    model: str
    dated: int = 0  # articles with an ISO publication date
    sourced: int = 0  # articles with a recognised source
    grouped: int = 0  # articles in a story with other outlets' copies
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for people."""
        return (f"{self.articles} articles → {self.chunks} chunks: embedded {self.embedded}, "
                f"reused {self.reused}, removed {self.removed} articles, {self.sentences_embedded} sentences "
                f"embedded, {self.dated} dated and {self.sourced} with a source, {self.grouped} in stories told "
                f"more than once, {self.seconds:.1f} s, "
                f"model {self.model}")


@dataclass(frozen=True)
class IndexedArticle:
    """An article as the index lists it: where it came from and how many chunks it gave."""

    id: str
    title: str
    source: str
    date: str
    url: str
    path: str
    chunks: int
    date_inferred: str = ""  # where a missing year came from ("file", "article", "corpus"; "" = given)
    story: str = ""  # the id of the earliest article of its near-duplicate group (itself when alone)
    text_key: str = ""  # the key of its story signature in story_signatures.npy


@dataclass
class Index:
    """A loaded index: chunks aligned with their vectors, the FAISS index and the BM25 index,
    and the articles' sentences aligned with theirs."""

    directory: Path
    manifest: dict
    chunks: list[Chunk]
    vectors: np.ndarray
    ann: object  # faiss.Index
    bm25: object  # bm25s.BM25
    sentences: list[Sentence] = field(default_factory=list)
    sentence_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    articles: list[IndexedArticle] = field(default_factory=list)
    _by_article: dict[str, list[int]] = field(default_factory=dict, repr=False)
    _chunks_by_article: dict[str, list[int]] = field(default_factory=dict, repr=False)
    _listed: dict[str, IndexedArticle] = field(default_factory=dict, repr=False)
    _stories: dict[str, list[IndexedArticle]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for row, sentence in enumerate(self.sentences):
            self._by_article.setdefault(sentence.article_id, []).append(row)
        for rows in self._by_article.values():
            rows.sort(key=lambda r: self.sentences[r].start)
        for row, chunk in enumerate(self.chunks):
            self._chunks_by_article.setdefault(chunk.article_id, []).append(row)
        for article in self.articles:
            self._listed[article.id] = article
            self._stories.setdefault(article.story or article.id, []).append(article)

    def story_of(self, article_id: str) -> str:
        """The story an article belongs to (its own id when it has no near-duplicate)."""
        listed = self._listed.get(article_id)
        return (listed.story or listed.id) if listed else article_id

    def retellings(self, article_id: str) -> list[IndexedArticle]:
        """The other articles of the article's story (other outlets' copies), earliest first."""
        return [a for a in self._stories.get(self.story_of(article_id), []) if a.id != article_id]

    def sentence_rows(self, chunk: Chunk) -> list[int]:
        """Rows (into `sentences`, `sentence_vectors`) of the sentences inside the chunk, in order."""
        rows = self._by_article.get(chunk.article_id, [])
        starts = [self.sentences[r].start for r in rows]
        first = bisect.bisect_left(starts, chunk.start)
        return [r for r in rows[first: bisect.bisect_right(starts, chunk.end)] if self.sentences[r].end <= chunk.end]

    def dense_search(self, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(chunk position, cosine) of the k nearest chunks."""
        k = min(k, len(self.chunks))
        if k <= 0:
            return []
        scores, ids = self.ann.search(np.ascontiguousarray(query_vector.reshape(1, -1), dtype=np.float32), k)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def passage_containing(self, article_id: str, start: int, end: int) -> Chunk | None:
        """The chunk of the article that contains the span [start, end), if one does."""
        inside = [c for c in (self.chunks[r] for r in self._chunks_by_article.get(article_id, []))
                  if c.start <= start and end <= c.end]
        return min(inside, key=lambda c: c.end - c.start, default=None)

    def lexical_search(self, terms: list[str], k: int) -> list[tuple[int, float]]:
        """(chunk position, BM25 score) of the k best chunks with a positive score."""
        known = [t for t in terms if t in self.bm25.vocab_dict]
        if not known or not self.chunks:
            return []
        scores = self.bm25.get_scores(known)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]


def make_ann(vectors: np.ndarray):
    """Exact inner product (cosine on unit vectors) for small indexes, HNSW above ANN_THRESHOLD."""
    import faiss

    dim = vectors.shape[1]
    if len(vectors) > ANN_THRESHOLD:
        ann = faiss.IndexHNSWFlat(dim, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        ann.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        ann = faiss.IndexFlatIP(dim)
    if len(vectors):
        ann.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return ann


def make_bm25(chunks: list[Chunk]):
    """A BM25 index over the chunks' jieba terms (title included)."""
    import bm25s

    from .text import lexical_terms

    bm25 = bm25s.BM25()
    bm25.index([lexical_terms(c.embed_text) or [""] for c in chunks] or [[""]], show_progress=False)
    return bm25


def _read_records(path: Path, kind: type) -> tuple[list, list[str]]:
    """The records of a chunks.jsonl or sentences.jsonl file, and their content hashes."""
    records, hashes = [], []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            hashes.append(record.pop("hash"))
            records.append(kind(**record))
    return records, hashes


def _read_chunks(path: Path) -> tuple[list[Chunk], list[str]]:
    return _read_records(path, Chunk)


def _read_sentences(path: Path) -> tuple[list[Sentence], list[str]]:
    return _read_records(path, Sentence)


def _read_articles(path: Path) -> list[IndexedArticle]:
    """The article list (an index written before it existed has none: an empty list)."""
    if not path.is_file():
        return []
    with path.open(encoding="utf-8") as lines:
        return [IndexedArticle(**json.loads(line)) for line in lines]


def resolve_index_dir(directory: Path) -> Path | None:
    """The folder holding the usable index: `directory`, or `<dir>.old` if a swap was cut short."""
    for candidate in (directory, directory.with_name(directory.name + ".old")):
        if (candidate / "manifest.json").is_file():
            return candidate
    return None


def _manifest_at(found: Path) -> dict | None:
    try:
        manifest = json.loads((found / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def read_manifest(directory: Path) -> dict | None:
    """The manifest of the usable index at `directory`, or None when there is no readable one."""
    found = resolve_index_dir(Path(directory))
    return _manifest_at(found) if found else None


def load_index(directory: Path, model: str | None = None) -> Index:
    """Load the index at `directory`; with `model`, check it was built with that embedder."""
    import bm25s
    import faiss

    found = resolve_index_dir(Path(directory))
    if found is None:
        raise IndexMissingError(f"no index found at {directory}: run `qa build` (or `qa build --index {directory}`)")
    manifest = _manifest_at(found)
    if manifest is None:
        raise IndexMismatchError(f"the index at {directory} is damaged (unreadable manifest.json): "
                                 "rebuild it with `qa build`")
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexMismatchError(f"the index at {directory} has format {manifest.get('format')}, "
                                 f"this version reads {FORMAT_VERSION}: rebuild it with `qa build`")
    if model and manifest["model"] != model:
        raise IndexMismatchError(
            f"the index at {directory} was built with the model {manifest['model']!r}, not {model!r}: "
            f"rebuild it with `qa build --model {model}`, or use --model {manifest['model']}")
    chunks, _ = _read_chunks(found / "chunks.jsonl")
    sentences, _ = _read_sentences(found / "sentences.jsonl")
    vectors = np.load(found / "vectors.npy")
    bm25 = bm25s.BM25.load(str(found / "bm25"), load_corpus=False, show_progress=False)
    return Index(found, manifest, chunks, vectors, faiss.read_index(str(found / "faiss.index")), bm25,
                 sentences, np.load(found / "sentence_vectors.npy"), _read_articles(found / "articles.jsonl"))


def _previous_vectors(directory: Path, model: str) -> tuple[dict[str, np.ndarray], set[str]]:
    """The vector cache (content hash → vector, chunks and sentences) and article ids of the
    previous index, if compatible."""
    found = resolve_index_dir(directory)
    if found is None:
        return {}, set()
    try:
        manifest = _manifest_at(found) or {}
        chunks, hashes = _read_chunks(found / "chunks.jsonl")
        article_ids = {c.article_id for c in chunks}
        if manifest.get("model") != model or manifest.get("format") != FORMAT_VERSION:
            return {}, article_ids
        cache = dict(zip(hashes, np.load(found / "vectors.npy")))
        _, sentence_hashes = _read_sentences(found / "sentences.jsonl")
        cache.update(zip(sentence_hashes, np.load(found / "sentence_vectors.npy")))
    except (OSError, ValueError, KeyError, TypeError):
        return {}, set()  # an unreadable previous index only means nothing is reused
    return cache, article_ids


Progress = Callable[[str, int, int], None]  # (what, done, total): the page's progress bar


def _previous_signatures(directory: Path) -> dict[str, np.ndarray]:
    """text key → story signature of the previous index (nothing when it has none or is unreadable)."""
    found = resolve_index_dir(directory)
    try:
        listed = _read_articles(found / "articles.jsonl") if found else []
        signatures = np.load(found / "story_signatures.npy") if listed else []
    except (OSError, ValueError, TypeError):
        return {}
    if len(signatures) != len(listed):
        return {}
    return {a.text_key: row for a, row in zip(listed, signatures) if a.text_key}


def _embed_missing(embedder: Embedder, texts_by_hash: dict[str, str], progress: bool,
                   what: str = "passages", on_progress: Progress | None = None) -> dict[str, np.ndarray]:
    from tqdm import tqdm

    hashes = list(texts_by_hash)
    vectors: dict[str, np.ndarray] = {}
    with tqdm(total=len(hashes), desc=f"embedding {what}", unit="text", disable=not progress or not hashes) as bar:
        for at in range(0, len(hashes), EMBED_BATCH):
            batch = hashes[at: at + EMBED_BATCH]
            for key, vector in zip(batch, embedder.encode_passages([texts_by_hash[h] for h in batch])):
                vectors[key] = vector
            bar.update(len(batch))
            if on_progress:
                on_progress(what, min(at + EMBED_BATCH, len(hashes)), len(hashes))
    return vectors


def _write_records(path: Path, records: list, hashes: list[str]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for record, key in zip(records, hashes):
            out.write(json.dumps({**asdict(record), "hash": key}, ensure_ascii=False) + "\n")


def _stacked(lookup: dict[str, np.ndarray], hashes: list[str], dim: int) -> np.ndarray:
    return np.stack([lookup[h] for h in hashes]).astype(np.float32) if hashes else np.zeros((0, dim), np.float32)


def _listed(articles: list[Article], chunks: list[Chunk], stories: dict[str, str]) -> list[IndexedArticle]:
    counts: dict[str, int] = {}
    for chunk in chunks:
        counts[chunk.article_id] = counts.get(chunk.article_id, 0) + 1
    return [IndexedArticle(a.id, a.title, a.source, a.date, a.url, a.path, counts.get(a.id, 0), a.date_inferred,
                           stories.get(a.id, a.id), text_key(a.text)) for a in articles]


def _story_signatures(articles: list[Article], previous: dict[str, np.ndarray]) -> np.ndarray:
    """The articles' MinHash signatures, reusing the previous index's for unchanged texts."""
    rows = [previous.get(text_key(a.text)) for a in articles]
    rows = [row if row is not None else signature(a.text) for row, a in zip(rows, articles)]
    return np.stack(rows) if rows else np.zeros((0, NUM_PERM), np.uint64)


def _write(directory: Path, manifest: dict, listed: list[IndexedArticle], signatures: np.ndarray,
           chunks: list[Chunk], sentences: list[Sentence], lookup: dict[str, np.ndarray], dim: int) -> None:
    import faiss

    directory.mkdir(parents=True)
    with (directory / "articles.jsonl").open("w", encoding="utf-8") as out:
        for article in listed:
            out.write(json.dumps(asdict(article), ensure_ascii=False) + "\n")
    np.save(directory / "story_signatures.npy", signatures)
    hashes = [c.content_hash for c in chunks]
    vectors = _stacked(lookup, hashes, dim)
    _write_records(directory / "chunks.jsonl", chunks, hashes)
    np.save(directory / "vectors.npy", vectors)
    sentence_hashes = [s.content_hash for s in sentences]
    _write_records(directory / "sentences.jsonl", sentences, sentence_hashes)
    np.save(directory / "sentence_vectors.npy", _stacked(lookup, sentence_hashes, dim))
    faiss.write_index(make_ann(vectors), str(directory / "faiss.index"))
    make_bm25(chunks).save(str(directory / "bm25"), show_progress=False)
    # The manifest goes last: a folder without one is never taken for an index.
    (directory / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")


def _swap_in(new: Path, directory: Path) -> None:
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


def build_index(articles: list[Article], directory: Path, embedder: Embedder, chunk_size: int,
                chunk_overlap: int, progress: bool = True, extra_manifest: dict | None = None,
                on_progress: Progress | None = None) -> BuildReport:
    """Chunk, embed (reusing cached vectors) and write the index; swap it in only when complete."""
    started = time.perf_counter()
    directory = Path(directory)
    chunks = [chunk for article in articles for chunk in split_article(article, chunk_size, chunk_overlap)]
    sentences = [sentence for article in articles for sentence in split_sentences(article, chunk_size)]
    hashes = [c.content_hash for c in chunks]
    cached, previous_articles = _previous_vectors(directory, embedder.name)
    missing = {h: c.embed_text for h, c in zip(hashes, chunks) if h not in cached}
    fresh = _embed_missing(embedder, missing, progress, on_progress=on_progress)
    missing_sentences = {s.content_hash: s.text for s in sentences if s.content_hash not in cached}
    fresh_sentences = _embed_missing(embedder, missing_sentences, progress, "sentences", on_progress)
    lookup = {**cached, **fresh, **fresh_sentences}
    dim = int(next(iter(lookup.values())).shape[0]) if lookup else embedder.dim
    signatures = _story_signatures(articles, _previous_signatures(directory))
    stories = group_stories([a.id for a in articles], [a.date for a in articles], signatures)
    listed = _listed(articles, chunks, stories)
    told = {}
    for story in stories.values():
        told[story] = told.get(story, 0) + 1
    report = BuildReport(
        articles=len(articles), chunks=len(chunks), embedded=len(fresh),
        reused=sum(1 for h in hashes if h not in fresh), sentences_embedded=len(fresh_sentences),
        removed=len(previous_articles - {a.id for a in articles}), seconds=0.0, model=embedder.name,
        dated=sum(1 for a in articles if ISO_DATE.match(a.date)), sourced=sum(1 for a in articles if a.source),
        grouped=sum(1 for story in stories.values() if told[story] > 1))
    manifest = {
        "format": FORMAT_VERSION, "model": embedder.name, "dim": dim,
        "chunk_size": chunk_size, "chunk_overlap": chunk_overlap,
        "articles": len(articles), "chunks": len(chunks), "sentences": len(sentences),
        "ann": "hnsw" if len(chunks) > ANN_THRESHOLD else "flat",
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), **(extra_manifest or {}),
    }
    new = directory.with_name(directory.name + ".new")
    shutil.rmtree(new, ignore_errors=True)  # what an interrupted build left behind
    directory.parent.mkdir(parents=True, exist_ok=True)
    report.seconds = round(time.perf_counter() - started, 3)
    manifest["seconds"] = report.seconds
    _write(new, manifest, listed, signatures, chunks, sentences, lookup, dim)
    _swap_in(new, directory)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def term_weights(bm25, terms: list[str]) -> dict[str, float]:
    """BM25's IDF of each term (terms the index has never seen get the highest IDF)."""
    indptr = bm25.scores["indptr"]
    n_docs = bm25.scores["num_docs"]
    weights = {}
    for term in terms:
        token = bm25.vocab_dict.get(term)
        df = int(indptr[token + 1] - indptr[token]) if token is not None and token + 1 < len(indptr) else 0
        weights[term] = float(np.log(1 + (n_docs - df + 0.5) / (df + 0.5)))
    return weights
