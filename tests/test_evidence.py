"""The rules of news evidence on their own (qa/answer/evidence.py), over real indexes: the asked
period, one report per story, the story's lead, and what a citation says of its article."""

from __future__ import annotations

from datetime import date

import pytest

from qa.answer.compose import Citation
from qa.answer.evidence import described, of_the_asked_time, one_per_story, with_lead
from qa.index.stores.base import lead_key
from qa.search.question_time import asked_time

from .conftest import DATA

AS_OF = date(2024, 11, 29)


@pytest.fixture(scope="module")
def dated(tmp_path_factory, e5):
    """An engine over three years of the same statistics release, one of them told by two outlets."""
    from qa.answer.engine import Engine
    from qa.config import Settings
    from qa.index.incremental import build_index
    from qa.ingest.corpus import load_articles

    directory = tmp_path_factory.mktemp("dated") / "index"
    build_index(load_articles([DATA / "dated"]).articles, directory, e5, 160, 1, progress=False)
    return Engine.open(Settings(index_dir=directory, reader="off"), embedder=e5)


def _hits(engine, question: str):
    return engine.retriever.search(question, 10, "hybrid")


def test_a_question_about_a_year_keeps_the_reports_published_in_it(dated):
    hits = _hits(dated, "2023年前三季度全国居民人均可支配收入实际增长多少？")
    assert len({h.chunk.date[:4] for h in hits}) == 3  # the search finds every year
    kept = of_the_asked_time(hits, asked_time("2023年前三季度全国居民人均可支配收入实际增长多少？", AS_OF))
    assert kept and {h.chunk.date[:4] for h in kept} == {"2023"}


def test_latest_keeps_the_newest_report_and_no_period_keeps_all(dated):
    hits = sorted(_hits(dated, "前三季度居民收入"), key=lambda h: h.chunk.date, reverse=True)
    latest = of_the_asked_time(hits, asked_time("最新公布的前三季度居民收入是多少？", AS_OF))
    assert {h.chunk.date[:10] for h in latest} == {"2024-10-18"}
    assert of_the_asked_time(hits, asked_time("前三季度居民收入是多少？", AS_OF)) == hits


def test_a_story_told_by_two_outlets_is_quoted_once_from_its_earliest_report(dated):
    hits = [h for h in _hits(dated, "前三季度居民收入实际增长4.9%") if h.chunk.date.startswith("2024")]
    assert {h.chunk.source for h in hits} == {"国家统计局", "中新网"}
    kept = one_per_story(dated.store, hits)
    assert {h.chunk.source for h in kept} == {"国家统计局"}  # 10:00, before 中新网's 15:32


def test_a_citation_names_the_other_outlets_of_its_story(dated):
    hit = next(h for h in _hits(dated, "前三季度居民收入实际增长4.9%") if h.chunk.source == "国家统计局"
               and h.chunk.date.startswith("2024"))
    citation = Citation(1, hit.chunk.article_id, hit.chunk.title, hit.chunk.source, hit.chunk.date,
                        hit.chunk.text[:20], hit.chunk.start, hit.chunk.start + 20, score=1.0)
    [told] = described(dated.store, [citation])
    assert told.also == ("中新网",)


def test_the_lead_of_the_best_hits_article_is_read_after_the_hits(engine):
    hits = engine.retriever.search("大会设置了哪些实物交互体验展示区？", 5, "hybrid")
    hits = [h for h in hits if h.key != lead_key(hits[0].key)]  # as a search that missed it
    read = with_lead(engine.store, hits)
    assert read[:-1] == hits
    lead = read[-1]
    assert lead.key == lead_key(hits[0].key) and lead.chunk.article_id == hits[0].chunk.article_id
    same_article = [h.chunk.start for h in hits if h.chunk.article_id == lead.chunk.article_id]
    assert lead.chunk.start < min(same_article)  # the article's first chunk
    assert with_lead(engine.store, read) == read  # already there: nothing added
