"""Publication dates and wire datelines, on the shapes real Chinese news feeds use
(the examples are from ../shared/data/news/crud_news_10k.jsonl.gz)."""

from __future__ import annotations

import gzip
import json
import shutil

import pytest

from qa.index.stores import Location
from qa.ingest.corpus import load_articles, make_article, with_file_years
from qa.ingest.dates import (
    parse_date,
    parse_dateline,
    shown_date,
    year_named_beside_day,
    year_written_with_day,
)

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


def test_a_missing_year_comes_from_the_article_its_path_or_its_file():
    own_day = make_article("a.md", "甲", "11月19日，大会开幕。\n2024年11月19日上午的开幕式上，多人致辞。")
    assert (own_day.date, own_day.date_inferred) == ("2024-11-19", "article")
    in_path = make_article("news/2023.jsonl", "乙", "正文。", date="07-20 22:43")
    assert (in_path.date, in_path.date_inferred) == ("2023-07-20T22:43", "file")
    dated = make_article("c.jsonl", "丙", "正文。", date="2022-07-28 16:40")
    bare = make_article("c.jsonl", "丁", "正文。", date="07-20 22:43")
    assert (bare.date, shown_date(bare.date)) == ("07-20 22:43", "日期不详")  # nothing in itself to go on
    _, filled = with_file_years([dated, bare])  # the other articles of its file
    assert (filled.date, filled.date_raw, filled.date_inferred) == ("2022-07-20T22:43", "07-20 22:43", "file")
    assert with_file_years([bare]) == [bare]  # alone in its file: undated, and nothing else is consulted
    assert with_file_years([dated, bare], year=2021)[1] == filled  # the user's year is for what has none
    (given,) = with_file_years([bare], year=2021)
    assert (given.date, given.date_inferred) == ("2021-07-20T22:43", "given")


def test_the_year_an_article_gives_its_own_day():
    lead = "中国网 11月19日 讯（记者 王瑞芳）\n11月19日，以“实数融合”为主题的2024中国5G+工业互联网大会在武汉开幕。"
    assert year_named_beside_day("11月19日", lead) == 2024  # the byline names the day but no year: the lead does
    assert year_named_beside_day("11月19日", "11月19日，江西中欧班列累计开行突破2000列。") is None  # a count
    assert year_named_beside_day("8月4日", "8月4日，会议回顾了2022年和2023年的工作。") == 2023  # the latest
    assert year_named_beside_day("8月4日", "会议在2023年召开。\n8月4日，代表报到。") is None  # another sentence
    assert year_written_with_day("07-20 22:43", "2023年7月20日晚，台风登陆。") == 2023
    assert year_written_with_day("11月19日", "2024年11月9日，大会筹备。") is None  # another day


def test_seed_dates_come_from_the_seeds_themselves():
    first, second, third = load_articles(["seeds"]).articles
    assert [a.date for a in (first, second, third)] == ["2024-11-19", "2024-11-18", "2024-11-19"]
    # The first names 2024 beside its day; the others take the year of their file's dated article.
    assert [a.date_inferred for a in (first, second, third)] == ["article", "file", "file"]


def test_one_new_article_never_redates_the_others(tmp_path):
    """The issue: one upload dated 2025 turned the seeds (2024, by their own text) into 2025 articles."""
    shutil.copytree("seeds", tmp_path / "seeds")
    (tmp_path / "seeds" / "later.md").write_text("# 新年音乐会举行\n\n2025年1月1日，新年音乐会在武汉举行。",
                                                   encoding="utf-8")
    (tmp_path / "seeds" / "drill.md").write_text("# 街道开展消防演练\n\n本报讯 3月5日，洪桥街道开展消防演练。",
                                                   encoding="utf-8")
    by_title = {a.title: a for a in load_articles([tmp_path / "seeds"]).articles}
    alone = {a.title: a.date for a in load_articles(["seeds"]).articles}
    assert {title: by_title[title].date for title in alone} == alone
    assert by_title["新年音乐会举行"].date == "2025-01-01"
    drill = by_title["街道开展消防演练"]  # no year anywhere: undated, whatever else is in the folder
    assert (drill.date, drill.date_inferred, shown_date(drill.date)) == ("3月5日", "", "日期不详")
    given = {a.title: a for a in load_articles([tmp_path / "seeds"], year=2023).articles}
    assert (given["街道开展消防演练"].date, given["街道开展消防演练"].date_inferred) == ("2023-03-05", "given")
    assert {title: given[title].date for title in alone} == alone  # a year of their own beats the given one


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


def test_a_year_given_with_an_upload_is_kept_in_its_name(tmp_path, seed_index_dir, engine):
    from qa.config import Settings
    from qa.errors import UploadError
    from qa.serve.knowledge_base import KnowledgeBase
    from qa.serve.live import LiveEngine

    folder = tmp_path / "articles"
    folder.mkdir()
    knowledge_base = KnowledgeBase(LiveEngine(Settings(corpus=(folder,), index_dir=seed_index_dir), engine=engine))
    drill = "# 街道开展消防演练\n\n本报讯 3月5日，洪桥街道开展消防演练。".encode()
    assert knowledge_base.add("演练.md", drill, year=2023.0).path.name == "演练-2023.md"  # gr.Number gives floats
    assert knowledge_base.add("演练.md", drill, year="").path.name == "演练.md"
    assert knowledge_base.add("2023演练.md", drill, year="2023").path.name == "2023演练.md"  # already named
    dates = {a.path: (a.date, a.date_inferred) for a in load_articles([folder]).articles}
    assert dates == {"articles/演练-2023.md": ("2023-03-05", "file"), "articles/演练.md": ("3月5日", ""),
                     "articles/2023演练.md": ("2023-03-05", "file")}
    for wrong in ("23", "二〇二三", 2023.5, 3000):
        with pytest.raises(UploadError, match="give a year from 1900 to 2099") as refused:
            knowledge_base.add("演练.md", drill, year=wrong)
        assert "年份" in refused.value.zh
    assert sorted(p.name for p in folder.iterdir()) == ["2023演练.md", "演练-2023.md", "演练.md"]  # nothing saved
