"""Retrieval modes against known relevant chunks, fusion, and width/script variants."""

from __future__ import annotations

import numpy as np
import pytest

from qa.search.retrieval import reciprocal_rank_fusion, top_and_each_sides_best

from .conftest import DATA, read_jsonl

QUESTIONS = [q for q in read_jsonl(DATA / "seed_questions.jsonl") if q["title"]]


def test_rrf_matches_the_formula():
    fused = reciprocal_rank_fusion([[3, 1, 2], [1, 4]], k=60)
    assert fused[1] == pytest.approx(1 / 62 + 1 / 61)
    assert fused[3] == pytest.approx(1 / 61)
    assert fused[4] == pytest.approx(1 / 62)
    assert max(fused, key=fused.get) == 1


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_modes_find_the_known_chunk(engine, mode):
    hits = engine.retriever.search("大会设置了哪些实物交互体验展示区？", 5, mode)
    assert "实物交互体验展示区" in hits[0].chunk.text
    hits = engine.retriever.search("中欧班列这次装载的货物要运往哪个国家？", 5, mode)
    assert "俄罗斯" in hits[0].chunk.text


@pytest.mark.parametrize("mode, least", [("bm25", 0.9), ("dense", 0.9), ("hybrid", 0.95)])
def test_gold_article_ranks_first_for_most_seed_questions(engine, mode, least):
    top = [engine.retriever.search(q["question"], 5, mode)[0].chunk.title == q["title"] for q in QUESTIONS]
    assert np.mean(top) >= least


def test_hybrid_scores_are_fused_from_both_sides(engine):
    hits = engine.retriever.search("武汉顶级节点标识注册量达到多少？", 5, "hybrid")
    assert hits[0].dense is not None and hits[0].lexical is not None
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_each_sides_first_is_read_though_the_fusion_ranks_it_lower(engine):
    """BM25 ranks the opening chunk first for the theme (主题) of the conference; the dense side
    prefers the many chunks that repeat "5G+工业互联网", and the fusion puts it sixth. It is still
    read, after the five, and it answers."""
    question = "2024中国5G+工业互联网大会的主题是什么？"
    hits = engine.retriever.search(question, 5, "hybrid")
    assert not any("实数融合" in h.chunk.text for h in hits[:5])
    assert "实数融合" in hits[5].chunk.text and hits[5].lexical == max(h.lexical or 0 for h in hits)
    assert "实数融合 智造翘楚" in engine.ask(question).text
    deeper = engine.retriever.search(question, 50, "hybrid")  # what `qa eval` searches
    assert [h.key for h in top_and_each_sides_best(deeper, 5)] == [h.key for h in hits]


def test_dense_search_matches_brute_force(engine):
    query = engine.retriever.query_vector("湖北经济总量达到多少？")
    hits = engine.retriever.search("湖北经济总量达到多少？", 5, "dense")
    keys = [int(k) for segment in engine.store.segments for k in segment.keys]
    expected = np.argsort(-(engine.store.chunk_vectors(keys) @ query))[:5]
    assert [h.key for h in hits] == [keys[i] for i in expected]


@pytest.mark.parametrize("variant", ["中歐班列這次裝載的貨物要運往哪個國家？", "中欧班列Ｘ８２０８次的货物运往哪个国家？"])
def test_traditional_and_full_width_queries_still_match_lexically(engine, variant):
    hits = engine.retriever.search(variant, 3, "bm25")
    assert hits and "俄罗斯" in hits[0].chunk.text


def test_unknown_mode_names_the_choices(engine):
    with pytest.raises(ValueError, match="hybrid, bm25, dense"):
        engine.retriever.search("问题", 3, "magic")


@pytest.mark.parametrize("phrased", ["中欧班列是怎么回事？", "中欧班列怎么样？", "中歐班列是怎麼回事？"])
def test_words_that_only_phrase_a_question_do_not_search(engine, phrased):
    """"…是怎么回事？" asks about 中欧班列; a passage saying "怎么回事" answers nothing, so BM25 scores
    the question as the topic alone (chunks still hold the words: they are not stop words)."""
    asked = engine.retriever.search(phrased, 5, "bm25")
    topic = engine.retriever.search("中欧班列", 5, "bm25")
    assert [(h.key, h.lexical) for h in asked] == [(h.key, h.lexical) for h in topic]
