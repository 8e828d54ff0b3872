"""One story from many outlets, grouped at build time and cited once: on the dated reports (one
republished by 中新网) and on real near-duplicates of the news corpus."""

from __future__ import annotations

import gzip
import json
from datetime import date

import numpy as np
import pytest

from qa.answer.evidence import one_per_story
from qa.ingest.corpus import load_articles
from qa.ingest.stories import group_stories, signature

from .conftest import DATA, SHARED_DATA, run_qa

NEWS = SHARED_DATA / "news" / "crud_news_10k.jsonl.gz"


def _stories(articles) -> dict[str, str]:
    signatures = np.stack([signature(a.text) for a in articles])
    return group_stories([a.id for a in articles], [a.date for a in articles], signatures)


def test_republished_copies_share_the_earliest_ones_story():
    articles = load_articles([DATA / "dated"]).articles
    stories = _stories(articles)
    by_source_year = {(a.source, a.date[:4]): a for a in articles}
    original, copy = by_source_year[("国家统计局", "2024")], by_source_year[("中新网", "2024")]
    assert stories[copy.id] == stories[original.id] == original.id  # named after the earlier one
    others = [a for a in articles if a.date[:4] != "2024"]
    assert all(stories[a.id] == a.id for a in others)  # last year's report is another story


@pytest.mark.skipif(not NEWS.is_file(), reason=f"the news corpus is expected at {NEWS}")
def test_real_wire_copies_are_grouped_and_updates_are_not():
    with gzip.open(NEWS, "rt", encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines]

    def find(fragment: str, start: str = "") -> dict:
        return next(r for r in records if fragment in r["text"] and r["text"].startswith(start))

    from qa.ingest.corpus import make_article

    pairs = {
        "same story, one with 原标题": (find("华龙洞遗址", "原标题"), find("华龙洞遗址", "据最新一期")),
        "typhoon warnings 12 hours apart": (find("中央气象台7月25日18时发布台风橙色预警"), find("中央气象台7月25日06时发布台风黄色预警")),
    }
    grouped = {}
    for name, (first, second) in pairs.items():
        articles = [make_article("news.jsonl", "", r["text"], date=r["date"], ordinal=i)
                    for i, r in enumerate((first, second))]
        stories = _stories(articles)
        grouped[name] = stories[articles[0].id] == stories[articles[1].id]
    assert grouped == {"same story, one with 原标题": True, "typhoon warnings 12 hours apart": False}


def test_a_story_is_cited_once_with_the_other_outlets(tmp_path):
    index = tmp_path / "index"
    built = json.loads(run_qa("build", "--corpus", str(DATA / "dated"), "--index", str(index), "--json",
                              check=True).stdout)
    assert built["grouped"] == 2
    asked = json.loads(run_qa("ask", "最新公布的前三季度居民人均可支配收入是多少？", "--index", str(index),
                              "--as-of", str(date(2024, 11, 29)), "--json", check=True).stdout)
    assert [(c["source"], c["also"]) for c in asked["citations"]] == [("国家统计局", ["中新网"])]
    assert "30941元" in asked["answer"]


def test_every_chunk_of_a_single_article_is_kept(engine):
    hits = engine.retriever.search("2024中国5G+工业互联网大会在武汉开幕", 10, "hybrid")
    assert len({h.chunk.article_id for h in hits}) < len(hits)  # several chunks of one article
    assert one_per_story(engine.store, hits) == hits
