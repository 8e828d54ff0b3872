"""Reading articles: the seeds' metadata and broken lines, encodings, JSONL, bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.errors import CorpusError
from qa.ingest.corpus import article_id, load_articles, make_article, repair_paragraphs
from qa.ingest.metadata_lines import parse_source_line
from qa.ingest.text_decoding import decode_text

from .conftest import NEWS, SEEDS


def test_seeds_give_three_articles_with_metadata(seed_articles):
    titles = [a.title for a in seed_articles]
    assert titles == ["2024 中国 5G+ 工业互联网大会在武汉开幕",
                      "洪桥街道：加速“一户一档”构建，助推“全民参保”进程",
                      "江西中欧班列累计开行突破2000列"]
    first, second, third = seed_articles
    assert (first.source, first.date, first.date_raw, first.date_inferred) == ("中国网", "2024-11-19", "11月19日", "article")
    assert (second.source, second.date, second.date_inferred) == ("中国新报", "2024-11-18", "file")  # day from the lede
    assert third.source == ""
    # A source line that credits reporters stays as the text's first line (who reported it is a
    # question readers ask); one that credits no one leaves the text (see below).
    assert first.text.startswith("中国网 11月19日 讯（记者 王瑞芳）\n11月19日，以") and first.reporters == ("王瑞芳",)
    assert second.text.startswith("中国新报讯（罗志雄）\n11月18日") and second.reporters == ("罗志雄",)


def test_seed_broken_paragraphs_are_joined(seed_articles):
    first, second, _ = seed_articles
    assert "坚持双向发力，持续强化" in first.text
    assert "湖北正坚定贯彻习近平总书记视察湖北" in first.text
    assert "遴选出400家高水平的5G工厂" in first.text
    assert "升级版实施方案" in first.text
    assert "详细解读和操作示范培训" in second.text
    # Real paragraph breaks stay: the lede and the next paragraph are separate.
    assert "主持开幕式。\n王忠林在致辞中指出" in first.text
    assert len(first.text.split("\n")) == 13  # the byline, then 12 paragraphs


def test_repair_keeps_subheadings_and_finished_paragraphs():
    assert repair_paragraphs(["一、总体要求", "坚持稳中求进。", "新的段落。"]) == [
        "一、总体要求", "坚持稳中求进。", "新的段落。"]
    assert repair_paragraphs(["他说：“我们会努力。”", "下一段。"]) == ["他说：“我们会努力。”", "下一段。"]
    assert repair_paragraphs(["据介绍，该项目总投资", "50亿元。"]) == ["据介绍，该项目总投资50亿元。"]


@pytest.mark.parametrize("line, expected", [
    ("中国网 11月19日 讯（记者 王瑞芳）", ("中国网", "11月19日")),
    ("中国新报讯（罗志雄）", ("中国新报", "")),
    ("新华社酒泉10月30日电（记者 李国利）", ("新华社", "10月30日")),
    ("来源：人民网", ("人民网", "")),
    ("会议要求，各部门要看到紧迫性", None),
    ("11月19日，X8208次中欧班列准备驶离。", None),
])
def test_source_lines(line, expected):
    assert parse_source_line(line) == expected


def test_a_source_line_that_credits_no_one_leaves_the_text():
    article = make_article("a.txt", "标题", "新华社北京11月19日电\n\n会议强调，要坚持稳中求进。")
    assert article.text == "会议强调，要坚持稳中求进。" and article.source == "新华社" and article.reporters == ()
    broken = make_article("b.txt", "标题", "中国网 11月19日\n讯（记者 王瑞芳、李四）\n会议强调，要坚持稳中求进。")
    assert broken.text == "中国网 11月19日 讯（记者 王瑞芳、李四）\n会议强调，要坚持稳中求进。"
    assert broken.reporters == ("王瑞芳", "李四")


def test_news_folder_reads_md_txt_gbk_and_jsonl():
    report = load_articles([NEWS])
    by_title = {a.title: a for a in report.articles}
    assert report.skipped == []
    assert set(by_title) == {"神舟十九号载人飞船发射取得圆满成功", "南方多地迎来强降雨", "杭州亚运会志愿者招募启动",
                             "我国首条跨海高铁开通运营", "故宫博物院推出数字文物库"}
    gbk = by_title["杭州亚运会志愿者招募启动"]
    assert gbk.source == "本报" and "计划招募志愿者约3万名" in gbk.text
    shenzhou = by_title["神舟十九号载人飞船发射取得圆满成功"]
    assert (shenzhou.source, shenzhou.date_raw) == ("新华社", "10月30日")
    # No year in the article or its file: undated, not given the year of wire.jsonl beside it.
    assert (shenzhou.date, shenzhou.date_inferred) == ("10月30日", "")
    rain = by_title["南方多地迎来强降雨"]  # a headless .txt: the first line is the title
    assert (rain.source, rain.date_raw, rain.date) == ("中国气象局", "11月5日", "11月5日") and rain.text.startswith("11月5日，")
    rail = by_title["我国首条跨海高铁开通运营"]
    assert (rail.source, rail.date, rail.url) == ("人民网", "2023-09-28", "https://example.com/fuxia")


def test_utf8_bom_and_gbk_decode():
    assert decode_text("新闻".encode("utf-8-sig"), "a") == "新闻"
    assert decode_text("新闻联播".encode("gbk"), "a") == "新闻联播"
    assert decode_text("第一行\r\n第二行".encode(), "a") == "第一行\n第二行"


def test_bad_files_are_skipped_by_name_and_the_rest_is_kept(tmp_path: Path):
    (tmp_path / "good.md").write_text("# 标题\n\n正文第一句。", encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.md").write_text(" \n\n", encoding="utf-8")
    (tmp_path / "photo.txt").write_bytes(bytes(range(256)) * 20)
    (tmp_path / "feed.jsonl").write_text(
        json.dumps({"title": "好", "text": "可用的一条。"}, ensure_ascii=False) + "\n{not json\n"
        + json.dumps({"title": "缺正文"}, ensure_ascii=False) + "\n", encoding="utf-8")
    report = load_articles([tmp_path])
    assert sorted(a.title for a in report.articles) == ["好", "标题"]
    joined = "\n".join(report.skipped)
    for name in ("empty.txt", "blank.md", "photo.txt", "feed.jsonl:2", "feed.jsonl:3"):
        assert name in joined
    with pytest.raises(CorpusError, match="blank.md|empty.txt|photo.txt"):
        load_articles([tmp_path], strict=True)


def test_missing_corpus_says_where(tmp_path: Path):
    with pytest.raises(CorpusError, match="corpus not found at .*nowhere"):
        load_articles([tmp_path / "nowhere"])


def test_article_ids_are_stable_and_distinct():
    first = load_articles([SEEDS]).articles
    again = load_articles([SEEDS]).articles
    assert [a.id for a in first] == [a.id for a in again]
    assert len({a.id for a in first}) == 3
    assert article_id("a.md", "标题") != article_id("b.md", "标题")


def test_repeated_titles_in_one_file_get_distinct_ids(tmp_path: Path):
    (tmp_path / "x.md").write_text("# 快讯\n第一条。\n# 快讯\n第二条。\n", encoding="utf-8")
    articles = load_articles([tmp_path]).articles
    assert len({a.id for a in articles}) == 2
