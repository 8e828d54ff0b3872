"""Publication dates and wire datelines, on the shapes real Chinese news feeds use
(the examples are from ../shared/data/news/crud_news_10k.jsonl.gz)."""

from __future__ import annotations

import gzip
import json

import pytest

from qa.corpus import load_articles, make_article, with_corpus_years
from qa.dates import parse_date, parse_dateline
from qa.stores import Location

from .conftest import SHARED_DATA, run_qa


@pytest.mark.parametrize(("raw", "year", "expected"), [
    ("2023-07-28 16:40", None, ("2023-07-28T16:40", False)),
    ("2023-07-28 16：40", None, ("2023-07-28T16:40", False)),
    ("2023-07-29 11:49:25", None, ("2023-07-29T11:49", False)),
    ("2023-08-05", None, ("2023-08-05", False)),
    ("2023年08月02日", None, ("2023-08-02", False)),
    ("23-08-07 05:58", None, ("2023-08-07T05:58", False)),
    ("07-20 22:43", 2023, ("2023-07-20T22:43", True)),
    ("8-3 10:05", 2023, ("2023-08-03T10:05", True)),
    ("11月19日", 2024, ("2024-11-19", True)),
    ("11月19日", None, ("", False)),  # no year anywhere: not made up
    ("2023-02-30", None, ("", False)),
    ("", 2023, ("", False)),
])
def test_feed_dates_become_iso(raw, year, expected):
    assert parse_date(raw, year) == expected


@pytest.mark.parametrize(("text", "source", "place", "day", "reporters"), [
    ("人民网柏林7月28日电 （记者刘仲华、张慧中）7月27日晚，", "人民网", "柏林", "7月28日", ("刘仲华", "张慧中")),
    ("新华社北京10月24日电（记者 李明）记者24日从", "新华社", "北京", "10月24日", ("李明",)),
    ("中新社北京8月4日电 (记者 张素)近日，", "中新社", "北京", "8月4日", ("张素",)),
    ("中新网厦门7月27日电(杨伏山)今年第5号", "中新网", "厦门", "7月27日", ("杨伏山",)),
    ("IT之家 8 月 2 日消息，不少游戏粉丝", "IT之家", "", "8月2日", ()),
    ("央视网消息：据中国地震台网", "央视网", "", "", ()),
    ("荆楚网（湖北日报网）讯（记者 王五）8月1日", "荆楚网", "", "", ("王五",)),
    ("深圳新闻网2023年8月11日讯（记者 蔡雄彬）为弘扬", "深圳新闻网", "", "2023年8月11日", ("蔡雄彬",)),
    ("本报讯（记者 赵六）昨天", "", "", "", ("赵六",)),
])
def test_wire_datelines_give_source_place_and_reporters(text, source, place, day, reporters):
    dateline = parse_dateline(text)
    assert (dateline.source, dateline.place, dateline.date, dateline.reporters) == (source, place, day, reporters)


@pytest.mark.parametrize("text", ["7月27日晚，中国驻德国大使馆举行招待会。", "据报道，台风将于明天登陆。",
                                  "原标题：北京顺义区发生1.5级地震"])
def test_body_text_is_not_a_dateline(text):
    assert parse_dateline(text) is None


def test_a_dateline_gives_metadata_and_stays_in_the_lead():
    lead = "人民网柏林7月28日电 （记者刘仲华、张慧中）7月27日晚，中国驻德国大使馆举行招待会。"
    article = make_article("news/2023.jsonl", "德国举行招待会", lead)
    assert article.text == lead  # its day may be the only one the story names
    assert (article.source, article.place, article.reporters) == ("人民网", "柏林", ("刘仲华", "张慧中"))
    assert (article.date, article.date_raw, article.date_inferred) == ("2023-07-28", "7月28日", "file")


def test_metadata_lines_are_taken_out_of_the_text():
    body = ("发布时间：2023-10-18 来源：国家统计局\n"
            "今年前三季度，全国居民人均可支配收入29398元，比上年名义增长6.3%。\n责任编辑：王五")
    article = make_article("stats.md", "前三季度居民收入", body)
    assert article.text == "今年前三季度，全国居民人均可支配收入29398元，比上年名义增长6.3%。"
    assert (article.source, article.date, article.date_inferred) == ("国家统计局", "2023-10-18", "")


def test_a_missing_year_comes_from_the_article_then_the_corpus():
    own_day = make_article("a.md", "甲", "11月19日，大会开幕。\n2024年11月19日上午的开幕式上，多人致辞。")
    assert (own_day.date, own_day.date_inferred) == ("2024-11-19", "article")
    dated = make_article("b.jsonl", "乙", "正文。", date="2023-07-28 16:40")
    bare = make_article("c.jsonl", "丙", "正文。", date="07-20 22:43")
    assert bare.date == "07-20 22:43"  # nothing to go on yet
    _, _, filled = with_corpus_years([own_day, dated, bare])
    assert (filled.date, filled.date_raw, filled.date_inferred) in {
        ("2023-07-20T22:43", "07-20 22:43", "corpus"), ("2024-07-20T22:43", "07-20 22:43", "corpus")}


def test_seed_dates_are_inferred_and_say_so():
    first, second, third = load_articles(["seeds"]).articles
    assert [a.date for a in (first, second, third)] == ["2024-11-19", "2024-11-18", "2024-11-19"]
    assert [a.date_inferred for a in (first, second, third)] == ["article", "corpus", "corpus"]


NEWS = SHARED_DATA / "news" / "crud_news_10k.jsonl.gz"


@pytest.mark.skipif(not NEWS.is_file(), reason=f"the news corpus is expected at {NEWS}")
def test_build_reports_dated_and_sourced_articles_of_real_news(tmp_path):
    with gzip.open(NEWS, "rt", encoding="utf-8") as lines:
        records = [json.loads(next(lines)) for _ in range(12)]
    (tmp_path / "news.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records),
                                         encoding="utf-8")
    report = json.loads(run_qa("build", "--corpus", str(tmp_path / "news.jsonl"), "--index", str(tmp_path / "index"),
                               "--model", "e5-small", "--json", check=True).stdout)
    assert (report["articles"], report["dated"], report["sourced"]) == (12, 12, 4)  # 人民网, 中新网, 参考消息网, 中新社
    listed = Location(tmp_path / "index").open().articles()
    assert all(a.date[:4] == "2023" for a in listed if a.date[:1].isdigit() and "-" in a.date)
