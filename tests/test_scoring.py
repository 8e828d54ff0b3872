"""The answer scorer: its features against direct computations, the stored model, its failures."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qa.answer.evidence import with_lead
from qa.answer.scoring import (
    FEATURES,
    SCORER_PATH,
    constraint_terms,
    coverage,
    features,
    load_scorer,
)
from qa.errors import ModelLoadError
from qa.ingest.text import lexical_terms


def test_sentence_similarity_is_the_e5_cosine_of_the_sentence(engine, e5):
    question = "中欧班列这次装载的货物要运往哪个国家？"
    _, hits = engine.search(question)
    weights = engine.store.term_weights(lexical_terms(question))
    query_vector = e5.encode_queries([question])[0]
    candidates, table = features(question, query_vector, engine.store, hits, weights)
    assert table.shape == (len(candidates), len(FEATURES)) and len(candidates) >= len(hits)
    fresh = e5.encode_passages([c.text for c in candidates])  # embedded now, not read from the index
    np.testing.assert_allclose(table[:, FEATURES.index("sentence_sim")], fresh @ query_vector, atol=1e-3)
    np.testing.assert_allclose(table[:, FEATURES.index("coverage")], [coverage(weights, c.text) for c in candidates])
    best = candidates[int(np.argmax(engine.scorer.sentence.probabilities(table)))]
    assert "俄罗斯" in best.text


def test_the_lead_is_the_first_sentence_after_a_byline(engine):
    """The seed story opens with its byline line, which no chunk holds: its lead sentence is still
    the story's first sentence for the scorer, and the byline is never a candidate."""
    question = "2024中国5G+工业互联网大会是哪天在武汉开幕的？"
    _, hits = engine.search(question)
    weights = engine.store.term_weights(lexical_terms(question))
    candidates, table = features(question, engine.retriever.query_vector(question), engine.store,
                                 with_lead(engine.store, hits), weights)
    lead = next(c for c in candidates if c.text.startswith("11月19日，以“实数融合"))
    first = {c.text: v for c, v in zip(candidates, table[:, FEATURES.index("first_sentence")])
             if c.hit.chunk.article_id == lead.hit.chunk.article_id}
    assert first[lead.text] == 1.0 and sum(first.values()) == 1.0
    assert not any("记者 王瑞芳" in t for t in first)


def test_coverage_by_hand():
    weights = {"武汉": 1.0, "开幕": 3.0}
    assert coverage(weights, "大会在武汉开幕") == 1.0
    assert coverage(weights, "大会在武汉举行") == 0.25
    assert coverage({}, "任何文字") == 0.0


def test_constraint_terms_are_the_names_and_numbers_asked_about():
    assert {"武汉", "2023"} <= constraint_terms("2023年武汉GDP增长了多少？")
    assert constraint_terms("那趟班列运的是什么东西？") == set()


def test_the_shipped_scorer_loads_and_says_how_it_was_made():
    scorer = load_scorer()
    assert scorer.sentence.coef.shape == (len(FEATURES),)
    assert 0 < scorer.abstain_below < 1 and 0 <= scorer.keep_ratio <= 1
    assert "natural (odd ids)" in scorer.meta["trained_on"]


def test_a_missing_or_stale_scorer_says_how_to_rebuild_it(tmp_path):
    with pytest.raises(ModelLoadError, match="train_scorer.py"):
        load_scorer(tmp_path / "none.json")
    stored = json.loads(SCORER_PATH.read_text(encoding="utf-8"))
    stored["features"] = stored["features"][:-1]
    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps(stored), encoding="utf-8")
    with pytest.raises(ModelLoadError, match="other features"):
        load_scorer(stale)
