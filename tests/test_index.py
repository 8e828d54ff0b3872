"""The index: FAISS against brute force, save → load, incremental rebuilds, safe swaps."""

from __future__ import annotations

import numpy as np
import pytest

from qa.corpus import Article, load_articles
from qa.errors import IndexMismatchError, IndexMissingError
from qa.index import build_index, load_index, make_ann
from qa.text import lexical_terms

from .conftest import NEWS, HashingEmbedder


def _build(articles, directory, embedder=None):
    return build_index(articles, directory, embedder or HashingEmbedder(), 160, 1, progress=False)


@pytest.mark.parametrize("n", [50, 600])
def test_faiss_matches_numpy_brute_force(n, monkeypatch):
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(n, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = vectors[:20] + 0.1 * rng.normal(size=(20, 32)).astype(np.float32)
    monkeypatch.setattr("qa.index.ANN_THRESHOLD", 100)  # the HNSW path at n=600
    ann = make_ann(vectors)
    hits = 0
    for query in queries:
        _, ids = ann.search(query[None, :], 5)
        truth = np.argsort(-(vectors @ query))[:5]
        hits += len(set(ids[0]) & set(truth))
        assert ids[0][0] == truth[0]
    assert hits / (5 * len(queries)) >= (1.0 if n <= 100 else 0.95)


def test_save_load_round_trip_with_real_e5(tmp_path, seed_articles, e5):
    report = _build(seed_articles, tmp_path / "index", e5)
    assert (report.articles, report.embedded, report.reused) == (3, report.chunks, 0)
    index = load_index(tmp_path / "index", model="e5-small")
    assert len(index.chunks) == report.chunks == index.vectors.shape[0] == index.ann.ntotal
    assert index.manifest["model"] == "e5-small" and index.manifest["dim"] == 384
    texts = {a.id: a.text for a in seed_articles}
    for chunk in index.chunks:
        assert texts[chunk.article_id][chunk.start:chunk.end] == chunk.text
    query = e5.encode_queries(["中欧班列这次装载的货物要运往哪个国家？"])[0]
    [(best, _)] = index.dense_search(query, 1)
    assert "俄罗斯" in index.chunks[best].text
    brute = int(np.argmax(index.vectors @ query))
    assert best == brute
    lexical = index.lexical_search(lexical_terms("实物交互体验展示区"), 3)
    assert "实物交互体验展示区" in index.chunks[lexical[0][0]].text


def test_sentence_vectors_are_built_once_and_match_the_embedder(tmp_path, seed_articles, e5):
    index_dir = tmp_path / "index"
    report = _build(seed_articles, index_dir, e5)
    index = load_index(index_dir)
    assert report.sentences_embedded == len(index.sentences) == index.sentence_vectors.shape[0]
    texts = {a.id: a.text for a in seed_articles}
    for sentence in index.sentences:
        assert texts[sentence.article_id][sentence.start:sentence.end] == sentence.text
    for chunk in index.chunks:  # a chunk is made of whole sentences, in order
        rows = index.sentence_rows(chunk)
        assert rows and index.sentences[rows[0]].start == chunk.start and index.sentences[rows[-1]].end == chunk.end
        assert all(index.sentences[a].end <= index.sentences[b].start for a, b in zip(rows, rows[1:]))
    row = next(r for r, s in enumerate(index.sentences) if "俄罗斯" in s.text)
    fresh = e5.encode_passages([index.sentences[row].text])[0]
    assert float(fresh @ index.sentence_vectors[row]) > 0.999  # the stored vector is the sentence's own


def test_incremental_rebuild(tmp_path, seed_articles):
    directory = tmp_path / "index"
    first = _build(seed_articles, directory)
    again = _build(seed_articles, directory)
    assert (again.embedded, again.reused, again.removed, again.sentences_embedded) == (0, first.chunks, 0, 0)
    extra = Article(id="new1", title="新增文章", text="今天新开了一家图书馆。馆内藏书十万册。")
    added = _build([*seed_articles, extra], directory)
    assert added.embedded == 1 and added.reused == first.chunks and added.sentences_embedded == 2
    removed = _build(seed_articles[:2], directory)
    assert removed.removed == 2 and removed.embedded == 0
    assert {c.article_id for c in load_index(directory).chunks} == {a.id for a in seed_articles[:2]}


def test_missing_and_mismatched_index_say_what_to_do(tmp_path, seed_articles):
    with pytest.raises(IndexMissingError, match="qa build"):
        load_index(tmp_path / "nothing")
    _build(seed_articles, tmp_path / "index")
    with pytest.raises(IndexMismatchError, match=r"built with the model 'test-hashing'.*qa build --model e5-small"):
        load_index(tmp_path / "index", model="e5-small")


def test_damaged_index_says_to_rebuild(tmp_path, seed_articles):
    _build(seed_articles, tmp_path / "index")
    (tmp_path / "index" / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="damaged.*qa build"):
        load_index(tmp_path / "index")
    assert _build(seed_articles, tmp_path / "index").chunks > 0  # a rebuild mends it


def test_swap_cut_short_keeps_the_previous_index(tmp_path, seed_articles):
    directory = tmp_path / "index"
    _build(seed_articles, directory)
    # The moment between the two renames: the old index sits at index.old, nothing at index.
    directory.rename(tmp_path / "index.old")
    (tmp_path / "index.new").mkdir()  # a half-written new index without a manifest
    assert len(load_index(directory).chunks) > 0
    report = _build(seed_articles, directory)
    assert report.embedded == 0  # the vectors were found at index.old
    assert directory.is_dir() and not (tmp_path / "index.old").exists() and not (tmp_path / "index.new").exists()


def test_news_folder_builds(tmp_path):
    articles = load_articles([NEWS]).articles
    report = _build(articles, tmp_path / "index")
    assert report.articles == 5 and report.chunks >= 5
