"""Building the index: FAISS against brute force, build → open, incremental rebuilds that touch only
what changed, safe swaps, and an index of the older format upgraded without embedding again."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from qa.errors import IndexMismatchError, IndexMissingError
from qa.index.incremental import build_index
from qa.index.stores import Location
from qa.index.stores.segment import make_ann
from qa.ingest.chunking import split_article
from qa.ingest.corpus import Article, load_articles
from qa.ingest.text import lexical_terms

from .conftest import DATA, NEWS, SHARED_DATA, HashingEmbedder


def _build(articles, directory, embedder=None):
    return build_index(articles, directory, embedder or HashingEmbedder(), 160, 1, progress=False)


def _open(directory, model=None):
    return Location(directory).open(model=model)


def _every_chunk(store):
    keys = [int(k) for segment in store.segments for k in segment.keys]
    return keys, store.chunks(keys)


@pytest.mark.parametrize("n", [50, 600])
def test_faiss_matches_numpy_brute_force(n, monkeypatch):
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(n, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = vectors[:20] + 0.1 * rng.normal(size=(20, 32)).astype(np.float32)
    monkeypatch.setattr("qa.index.stores.segment.ANN_THRESHOLD", 100)  # the HNSW path (8-bit vectors) at n=600
    ann = make_ann(vectors)
    hits = 0
    for query in queries:
        _, ids = ann.search(query[None, :], 5)
        truth = np.argsort(-(vectors @ query))[:5]
        hits += len(set(ids[0]) & set(truth))
        assert ids[0][0] == truth[0]
    assert hits / (5 * len(queries)) >= (1.0 if n <= 100 else 0.95)


@pytest.mark.parametrize("threshold", [10**6, 100])  # exact search; HNSW (8-bit vectors) at n=600
def test_dense_search_leaves_out_the_skipped_rows(tmp_path, monkeypatch, threshold):
    """Removed articles' rows stay in a segment until it is merged; the search itself leaves them
    out, whichever rows are skipped (the parameters made for one array are not reused for another)."""
    from qa.index.stores.segment import Segment

    monkeypatch.setattr("qa.index.stores.segment.ANN_THRESHOLD", threshold)
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(600, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    segment = Segment.write(tmp_path / "segment", np.arange(600) + 5000, vectors, [["词"]] * 600)
    for skip in (np.arange(0, 600, 3), np.arange(0, 600, 2), np.arange(0, 600, 3)):
        allowed = np.setdiff1d(np.arange(600), skip)
        for query in vectors[:12]:
            found = [key - 5000 for key, _ in segment.dense_search(query, 5, skip)]
            truth = allowed[np.argsort(-(vectors[allowed] @ query))[:5]]
            assert len(found) == 5 and not set(found) & set(skip.tolist())
            assert found[0] == truth[0] and (threshold == 100 or found == truth.tolist())


def test_build_then_open_with_real_e5(tmp_path, seed_articles, e5):
    report = _build(seed_articles, tmp_path / "index", e5)
    assert (report.articles, report.embedded, report.reused) == (3, report.chunks, 0)
    store = _open(tmp_path / "index", model="e5-small")
    keys, chunks = _every_chunk(store)
    assert len(chunks) == report.chunks == store.manifest.chunks
    assert store.manifest.model == "e5-small" and store.manifest.dim == 384
    texts = {a.id: a.text for a in seed_articles}
    for chunk in chunks.values():
        assert texts[chunk.article_id][chunk.start:chunk.end] == chunk.text
    query = e5.encode_queries(["中欧班列这次装载的货物要运往哪个国家？"])[0]
    [(best, _)] = store.dense_search(query, 1)
    assert "俄罗斯" in chunks[best].text
    assert best == keys[int(np.argmax(store.chunk_vectors(keys) @ query))]  # exact search
    lexical = store.lexical_search(lexical_terms("实物交互体验展示区"), 3)
    assert "实物交互体验展示区" in chunks[lexical[0][0]].text


def test_sentence_vectors_are_built_once_and_match_the_embedder(tmp_path, seed_articles, e5):
    index_dir = tmp_path / "index"
    report = _build(seed_articles, index_dir, e5)
    store = _open(index_dir)
    keys, chunks = _every_chunk(store)
    by_article = store.sentences_of(sorted({k >> 20 for k in keys}))
    sentences = [s for listed in by_article.values() for s in listed]
    assert report.sentences_embedded == len(sentences)
    texts = {a.id: a.text for a in seed_articles}
    for stored in sentences:
        assert texts[stored.sentence.article_id][stored.sentence.start:stored.sentence.end] == stored.sentence.text
    for key, chunk in chunks.items():  # a chunk is made of whole sentences, in order
        inside = [s.sentence for s in by_article[key >> 20] if chunk.start <= s.sentence.start and s.sentence.end <= chunk.end]
        assert inside and inside[0].start == chunk.start and inside[-1].end == chunk.end
    russia = next(s for s in sentences if "俄罗斯" in s.sentence.text)
    fresh = e5.encode_passages([russia.sentence.text])[0]
    assert float(fresh @ store.sentence_vectors([russia.key])[0]) > 0.999  # the stored vector is the sentence's own


def test_incremental_rebuild_touches_only_what_changed(tmp_path, seed_articles):
    directory = tmp_path / "index"
    first = _build(seed_articles, directory)
    generation = _open(directory).manifest.generation
    again = _build(seed_articles, directory)
    assert (again.embedded, again.reused, again.removed, again.sentences_embedded) == (0, first.chunks, 0, 0)
    assert _open(directory).manifest.generation == generation  # nothing changed: nothing written
    extra = Article(id="new1", title="新增文章", text="今天新开了一家图书馆。馆内藏书十万册。")
    added = _build([*seed_articles, extra], directory)
    assert added.embedded == 1 and added.reused == first.chunks and added.sentences_embedded == 2
    store = _open(directory)
    assert [s["chunks"] for s in store.manifest.segments] == [first.chunks, 1]  # one small segment added
    assert "图书馆" in store.chunks([store.lexical_search(["图书馆"], 1)[0][0]])[store.lexical_search(["图书馆"], 1)[0][0]].text
    removed = _build(seed_articles[:2], directory)
    assert removed.removed == 2 and removed.embedded == 0
    store = _open(directory)
    assert {a.id for a in store.articles()} == {a.id for a in seed_articles[:2]}
    found = store.chunks([k for k, _ in store.lexical_search(lexical_terms("中欧班列 图书馆 工业互联网"), 50)])
    assert {c.article_id for c in found.values()} <= {a.id for a in seed_articles[:2]}
    kept = {a.num for a in store.articles()}
    gone = [int(k) for segment in store.segments for k in segment.keys if int(k) >> 20 not in kept]
    assert gone  # still in a segment, left out by the search itself
    nearest = store.dense_search(store.chunk_vectors(gone[:1])[0], 5)
    assert len(nearest) == 5 and all(k >> 20 in kept for k, _ in nearest)


def test_a_changed_article_is_reindexed_and_the_old_version_is_gone(tmp_path, seed_articles):
    directory = tmp_path / "index"
    _build(seed_articles, directory)
    edited = Article(id=seed_articles[0].id, title=seed_articles[0].title, source=seed_articles[0].source,
                     date=seed_articles[0].date, text=seed_articles[0].text + "\n补充：大会共吸引观众三万人次。")
    report = _build([edited, *seed_articles[1:]], directory)
    assert 0 < report.embedded <= 2 and report.removed == 0
    store = _open(directory)
    [listed] = [a for a in store.articles() if a.id == edited.id]
    assert listed.chunks == len(split_article(edited))
    hit = store.lexical_search(["观众", "三万"], 1)[0][0]
    assert store.chunks([hit])[hit].article_id == edited.id
    assert store.passage_containing(edited.id, len(seed_articles[0].text) + 1, len(edited.text)) is not None


def test_a_write_cut_short_is_invisible_and_undone(tmp_path, seed_articles, monkeypatch):
    directory = tmp_path / "index"
    _build(seed_articles[:2], directory)
    before = _open(directory)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed before publishing")

    monkeypatch.setattr("qa.index.stores.local.LocalStore._publish", crash)
    with pytest.raises(KeyboardInterrupt):
        _build(seed_articles, directory)
    monkeypatch.undo()
    after = _open(directory)  # the records were written, the generation was not published
    assert after.manifest.generation == before.manifest.generation
    assert {a.id for a in after.articles()} == {a.id for a in seed_articles[:2]}
    assert _build(seed_articles, directory).articles == 3
    assert {a.id for a in _open(directory).articles()} == {a.id for a in seed_articles}


def test_many_updates_merge_segments_and_keep_answering(tmp_path, seed_articles, monkeypatch):
    directory = tmp_path / "index"
    monkeypatch.setattr("qa.index.stores.compaction.COMPACT_SHARE", 10.0)  # only the segment count decides here
    extras = [Article(id=f"x{n}", title=f"短讯{n}", text=f"第{n}号图书馆今天开馆。馆内藏书{n}万册。") for n in range(6)]
    for n in range(len(extras) + 1):
        _build([*seed_articles, *extras[:n]], directory)
    store = _open(directory)
    assert len(store.manifest.segments) <= 4 + 1
    assert sum(s["chunks"] for s in store.manifest.segments) == store.manifest.chunks
    hits = store.chunks([k for k, _ in store.lexical_search(["图书馆"], 10)])
    assert {c.article_id for c in hits.values()} == {a.id for a in extras}
    assert len(list((directory / "segments").iterdir())) <= len(store.manifest.segments) + 2


def test_missing_and_mismatched_index_say_what_to_do(tmp_path, seed_articles):
    with pytest.raises(IndexMissingError, match="qa build"):
        _open(tmp_path / "nothing")
    _build(seed_articles, tmp_path / "index")
    with pytest.raises(IndexMismatchError, match=r"built with the model 'test-hashing'.*qa build --model e5-small"):
        _open(tmp_path / "index", model="e5-small")


def test_damaged_index_says_to_rebuild(tmp_path, seed_articles):
    _build(seed_articles, tmp_path / "index")
    (tmp_path / "index" / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="damaged.*qa build"):
        _open(tmp_path / "index")
    assert _build(seed_articles, tmp_path / "index").chunks > 0  # a rebuild mends it


def test_swap_cut_short_keeps_the_previous_index(tmp_path, seed_articles):
    directory = tmp_path / "index"
    _build(seed_articles, directory)
    # The moment between the two renames: the old index sits at index.old, nothing at index.
    directory.rename(tmp_path / "index.old")
    (tmp_path / "index.new").mkdir()  # a half-written new index without a manifest
    assert _open(directory).manifest.chunks > 0
    report = _build(seed_articles, directory)
    assert report.embedded == 0  # the vectors were found at index.old
    assert directory.is_dir() and not (tmp_path / "index.old").exists() and not (tmp_path / "index.new").exists()


def test_an_index_of_the_older_format_is_upgraded_without_embedding(tmp_path, seed_articles):
    directory = tmp_path / "index"
    _build(seed_articles, directory)
    store = _open(directory)
    keys, chunks = _every_chunk(store)
    old = tmp_path / "old"  # format 2: chunks.jsonl + vectors.npy, sentences.jsonl + sentence_vectors.npy
    old.mkdir()
    (old / "manifest.json").write_text(json.dumps({"format": 2, "model": "test-hashing"}), encoding="utf-8")
    (old / "chunks.jsonl").write_text("".join(json.dumps({"hash": c.content_hash}) + "\n" for c in chunks.values()))
    np.save(old / "vectors.npy", store.chunk_vectors(keys))
    sentences = [s for listed in store.sentences_of(sorted({k >> 20 for k in keys})).values() for s in listed]
    (old / "sentences.jsonl").write_text("".join(json.dumps({"hash": s.sentence.content_hash}) + "\n" for s in sentences))
    np.save(old / "sentence_vectors.npy", store.sentence_vectors([s.key for s in sentences]))
    with pytest.raises(IndexMismatchError, match="format 2.*qa build"):
        _open(old)
    report = _build(seed_articles, old)
    assert (report.embedded, report.sentences_embedded) == (0, 0)
    assert _open(old).manifest.chunks == report.chunks


def test_news_folder_builds(tmp_path):
    articles = load_articles([NEWS]).articles
    report = _build(articles, tmp_path / "index")
    assert report.articles == 5 and report.chunks >= 5


def test_reopening_after_a_full_rebuild_does_not_reuse_the_old_segments(tmp_path, seed_articles):
    directory = tmp_path / "index"
    _build(seed_articles[:1], directory)
    before = _open(directory)
    report = build_index(seed_articles, directory, HashingEmbedder(), 80, 1, progress=False)  # new chunking: in full
    after = Location(directory).open(reuse=before)
    assert sum(len(s) for s in after.segments) == report.chunks == after.manifest.chunks
    assert not {s.name for s in after.segments} & {s.name for s in before.segments}


NATURAL_NEWS = DATA / "natural" / "news.jsonl"


def _searched(store, queries):
    embedder = HashingEmbedder()
    return [(store.lexical_search(lexical_terms(q), 10), store.dense_search(embedder.encode_queries([q])[0], 10))
            for q in queries]


def test_a_large_build_is_written_in_parts_and_reads_as_one(tmp_path, seed_articles, monkeypatch):
    """A build holds one part of its new articles in memory at a time; the index it publishes is
    the one a single write makes: the same records, one segment, the same search results."""
    articles = [*seed_articles, *load_articles([NATURAL_NEWS]).articles]
    whole = _build(articles, tmp_path / "whole")
    monkeypatch.setattr("qa.index.incremental.ARTICLES_PER_PART", 4)
    parts = _build(articles, tmp_path / "parts")
    assert (parts.articles, parts.chunks, parts.embedded, parts.sentences_embedded, parts.grouped) == \
        (whole.articles, whole.chunks, whole.embedded, whole.sentences_embedded, whole.grouped)
    one, other = _open(tmp_path / "whole"), _open(tmp_path / "parts")
    assert other.manifest.chunks == one.manifest.chunks == whole.chunks
    assert len(other.manifest.segments) == 1
    assert _every_chunk(other) == _every_chunk(one)
    assert other.articles() == one.articles()
    queries = ["制造业PMI是多少", "中欧班列运往哪里", "台风登陆", "大熊猫化石在哪里发现"]
    assert _searched(other, queries) == _searched(one, queries)


class _FailingEmbedder(HashingEmbedder):
    """Fails when it is given a text with `marker`: a build killed part-way through its parts."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def encode_passages(self, texts):
        if any(self.marker in text for text in texts):
            raise MemoryError("out of memory in the last part")
        return self._encode(texts)


def test_a_build_cut_short_between_parts_leaves_the_previous_index(tmp_path, seed_articles, monkeypatch):
    directory = tmp_path / "index"
    _build(seed_articles, directory)
    before = _open(directory)
    monkeypatch.setattr("qa.index.incremental.ARTICLES_PER_PART", 4)
    more = [*seed_articles, *load_articles([NATURAL_NEWS]).articles]
    with pytest.raises(MemoryError):
        _build(more, directory, _FailingEmbedder(marker=more[-1].text[:12]))  # the last of 9 parts
    after = _open(directory)
    assert after.manifest.generation == before.manifest.generation
    assert {a.id for a in after.articles()} == {a.id for a in seed_articles}
    assert _searched(after, ["中欧班列"]) == _searched(before, ["中欧班列"])
    report = _build(more, directory)
    assert report.articles == len(more)
    assert {a.id for a in _open(directory).articles()} == {a.id for a in more}


def test_bm25_that_skips_common_postings_finds_the_same_best_chunks(tmp_path, monkeypatch):
    """At scale BM25 does not score every chunk holding a common term (MaxScore, compiled); on real
    text (CMRC 2018 passages and questions) it returns the same k best chunks, with bit-identical
    scores, as scoring every posting, and it scores fewer."""
    from qa.index.stores import segment as segment_module
    from qa.index.stores.segment import Segment

    data = json.loads((SHARED_DATA / "cmrc2018" / "dev.json").read_text(encoding="utf-8"))["data"]
    paragraphs = [p for article in data for p in article["paragraphs"]][:300]
    terms = [lexical_terms(p["context"]) for p in paragraphs]
    vectors = np.eye(len(terms), 8, dtype=np.float32)
    segment = Segment.write(tmp_path / "segment", np.arange(len(terms)), vectors, terms)
    questions = [lexical_terms(qa["question"]) for p in paragraphs for qa in p["qas"]][:300]
    skip = np.arange(0, len(terms), 7)
    pruned = 0
    for question in questions:
        # As a store of several segments asks: each term's part scaled to the IDF of them all.
        ratio = {term: 0.8 + 0.1 * (i % 5) for i, term in enumerate(question)}
        for k in (1, 5, 50):
            for skipped in (None, skip):
                for idf_ratio in (None, ratio):
                    monkeypatch.setattr(segment_module, "MAXSCORE_ABOVE", 10**9)
                    every = segment.top(question, k, idf_ratio, skipped)
                    monkeypatch.setattr(segment_module, "MAXSCORE_ABOVE", 0)
                    skipping = segment.top(question, k, idf_ratio, skipped)
                    assert sorted(zip(-every[1], every[0])) == sorted(zip(-skipping[1], skipping[0]))
                    assert every[1].dtype == skipping[1].dtype
        if segment._postings(question, None):
            candidates, _ = segment._candidates(segment._postings(question, None), 5, None)
            touched = np.unique(np.concatenate([p.rows for p in segment._postings(question, None)]))
            pruned += len(candidates) < len(touched)
    assert pruned > len(questions) / 2
    # Searches running at once (the compiled loop lets go of the GIL) find what each finds alone.
    monkeypatch.setattr(segment_module, "MAXSCORE_ABOVE", 0)
    alone = [segment.top(question, 5, None, skip) for question in questions]
    with ThreadPoolExecutor(4) as callers:
        together = list(callers.map(lambda question: segment.top(question, 5, None, skip), questions))
    assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(alone, together))


def test_bm25_that_skips_keeps_the_lowest_rows_of_chunks_tied_at_the_kth_score(tmp_path, monkeypatch):
    """A republished story makes identical chunks, hence identical scores: with every CMRC passage
    stored four times, the compiled MaxScore returns the same k chunks as scoring every posting
    (of those tied at the k-th score, the lowest rows), removed rows included."""
    from qa.index.stores import segment as segment_module
    from qa.index.stores.segment import Segment

    data = json.loads((SHARED_DATA / "cmrc2018" / "dev.json").read_text(encoding="utf-8"))["data"]
    paragraphs = [p for article in data for p in article["paragraphs"]][:60]
    terms = [lexical_terms(p["context"]) for p in paragraphs] * 4
    segment = Segment.write(tmp_path / "segment", np.arange(len(terms)), np.eye(len(terms), 8, dtype=np.float32), terms)
    questions = [lexical_terms(qa["question"]) for p in paragraphs for qa in p["qas"]][:120]
    skip = np.arange(0, len(terms), 5)
    for question in questions:
        for k in (1, 3, 10):
            for skipped in (None, skip):
                monkeypatch.setattr(segment_module, "MAXSCORE_ABOVE", 10**9)
                every = segment.top(question, k, None, skipped)
                monkeypatch.setattr(segment_module, "MAXSCORE_ABOVE", 0)
                skipping = segment.top(question, k, None, skipped)
                assert np.array_equal(np.sort(every[0]), np.sort(skipping[0]))
                assert sorted(every[1]) == sorted(skipping[1])
