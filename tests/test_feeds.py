"""Feeds and links against a real news site on 127.0.0.1 (Python's http.server, tests/news_site.py):
RSS 2.0 and Atom, a 304 on the second update, an updated item replacing its chunks, the same story
from two feeds cited once, a page fetched by its link and cited with it, and every kind of failing
feed reported in its row while the others are updated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.errors import FeedError, FetchError
from qa.ingest.feeds import Feed, FeedList, decode_feed, parse_every
from qa.ingest.fetch import FetchPolicy, check_url, fetch

from .conftest import run_qa
from .news_site import NewsSite, Page, article_html, atom, rss

QINGDAO = ("青岛港开通至越南胡志明市集装箱直航航线", [
    "10月12日，青岛港至越南胡志明市的集装箱直航航线正式开通，首航船舶装载货物1200标准箱。",
    "该航线每周一班，单程航行时间约8天，主要运输家电、轮胎和纺织品。",
    "青岛港有关负责人表示，新航线将进一步密切山东与东南亚国家的经贸往来。"])
# The same story as another outlet ran it: one story, cited once.
QINGDAO_AGAIN = ("青岛港新开越南胡志明市直航航线", [
    "10月12日，青岛港至越南胡志明市的集装箱直航航线正式开通，首航船舶装载货物1200标准箱。",
    "该航线每周一班，单程航行时间约8天，主要运输家电、轮胎和纺织品。",
    "青岛港有关负责人表示，新航线将进一步密切山东与东南亚国家的经贸往来。"])
LANZHOU = ("兰州新区冷链物流中心投入使用", [
    "10月11日，兰州新区冷链物流中心正式投入使用，总投资4.6亿元，冷库容量达到12万吨。",
    "中心由甘肃省公路航空旅游投资集团建设，可满足西北地区果蔬和肉类的储运需求。"])


def wenzhou(entrants: str) -> tuple[str, list[str]]:
    return ("温州马拉松报名人数创新高", [
        f"10月10日，2023温州马拉松报名结束，报名人数达到{entrants}，创下赛事举办以来的新高。",
        "本届赛事设全程马拉松、半程马拉松和迷你跑三个项目，将于11月26日鸣枪开跑。"])


@pytest.fixture()
def site():
    served = NewsSite()
    yield served
    served.close()


def _publish(site: NewsSite, path: str, story: tuple[str, list[str]], source: str = "测试新闻网") -> dict:
    site.pages[path] = Page(article_html(story[0], story[1], source=source, author="记者 李明"))
    return {"title": story[0], "link": site.url + path, "summary": story[1][0]}


def _qa(*args: str, check: bool = True):
    return run_qa(*args, check=check, env={"QA_READER": "off"})


def _ask(index: Path, question: str, e5) -> dict:
    """The answer as `qa ask --json` gives it (asked in this process: the commands under test are the feeds')."""
    from qa.answer.engine import Engine
    from qa.config import Settings

    engine = Engine.open(Settings(index_dir=index, reader="off"), embedder=e5)
    return engine.ask(question).to_json()


def test_a_feed_brings_its_articles_in_and_answers_cite_their_pages(site, tmp_path, e5):
    kb, index = tmp_path / "articles", tmp_path / "index"
    kb.mkdir()
    qingdao = _publish(site, "/news/qingdao.html", QINGDAO)
    site.pages["/rss.xml"] = Page(rss("测试新闻网", [qingdao]), content_type="application/rss+xml")
    lanzhou = _publish(site, "/news/lanzhou.html", LANZHOU, source="陇上日报")
    site.pages["/atom.xml"] = Page(atom("陇上日报", [lanzhou]), content_type="application/atom+xml")
    where = ("--corpus", str(kb), "--index", str(index))

    added = _qa("feeds", "add", site.url + "/rss.xml", *where)
    assert "1 new or changed articles" in added.stdout and "articles →" in added.stdout
    _qa("feeds", "add", site.url + "/atom.xml", *where)
    assert any("xinwen-qa" in agent for agent in site.agents)  # a clear User-Agent

    answer = _ask(index, "青岛港新航线的首航船装了多少标准箱？", e5)
    assert "1200" in answer["answer"]
    cited = answer["citations"][0]
    assert cited["url"] == site.url + "/news/qingdao.html" and cited["source"] == "测试新闻网"
    assert list(cited["reporters"]) == ["李明"] and cited["date"] == "2023-10-12"
    atom_answer = _ask(index, "兰州新区冷链物流中心的冷库容量是多少？", e5)
    assert "12万吨" in atom_answer["answer"] and atom_answer["citations"][0]["url"].endswith("/news/lanzhou.html")
    pages = json.loads(_qa("feeds", "list", *where, "--json").stdout)
    assert [(f["title"], f["new"], f["articles"], f["error"]) for f in pages] == [
        ("测试新闻网", 1, 1, ""), ("陇上日报", 1, 1, "")]

    again = _qa("feeds", "update", *where)  # nothing changed: each feed answers 304, nothing is built
    assert site.statuses("/rss.xml")[-1] == 304 and site.statuses("/atom.xml")[-1] == 304
    assert site.statuses("/news/qingdao.html") == [200]  # the page was not fetched again
    assert "no new articles" in again.stdout and "articles →" not in again.stdout


def test_an_updated_item_replaces_its_chunks_and_a_story_from_two_feeds_is_cited_once(site, tmp_path, e5):
    kb, index = tmp_path / "articles", tmp_path / "index"
    kb.mkdir()
    where = ("--corpus", str(kb), "--index", str(index))
    first = _publish(site, "/sport/wenzhou.html", wenzhou("3.2万人"))
    site.pages["/sport.xml"] = Page(rss("体育频道", [first]), content_type="application/rss+xml")
    port = _publish(site, "/port/qingdao.html", QINGDAO)
    site.pages["/port.xml"] = Page(rss("测试新闻网", [port]), content_type="application/rss+xml")
    again = _publish(site, "/harbour/qingdao.html", QINGDAO_AGAIN, source="海港日报")
    site.pages["/harbour.xml"] = Page(rss("海港日报", [again]), content_type="application/rss+xml")
    for feed in ("/sport.xml", "/port.xml", "/harbour.xml"):
        _qa("feeds", "add", site.url + feed, *where)

    updated = _publish(site, "/sport/wenzhou.html", wenzhou("4.1万人"))  # same GUID and link, new text
    site.pages["/sport.xml"] = Page(rss("体育频道", [updated]), content_type="application/rss+xml")
    _qa("feeds", "update", *where)
    answer = _ask(index, "温州马拉松有多少人报名？", e5)
    assert "4.1万人" in answer["answer"] and "3.2万人" not in answer["answer"]
    from qa.index.stores import Location

    [article] = [a for a in Location(index).open().articles() if a.title == wenzhou("")[0]]  # one, replaced
    chunks = Location(index).open().chunks(article.chunk_keys())
    assert "4.1万人" in "".join(c.text for c in chunks.values())
    assert "3.2万人" not in "".join(c.text for c in chunks.values())  # the old text's chunks are gone
    assert len(list((kb / "web").rglob("*.jsonl"))) == 3

    story = _ask(index, "青岛港至胡志明市航线每周几班？", e5)
    urls = [c["url"] for c in story["citations"]]
    assert len(set(urls)) == 1  # one story, cited once; the other outlet named beside it
    cited = story["citations"][0]
    assert set(cited["also"]) & {"海港日报", "测试新闻网"}


def test_the_same_link_in_two_feeds_is_fetched_and_saved_once(site, tmp_path):
    item = _publish(site, "/news/qingdao.html", QINGDAO)
    site.pages["/a.xml"] = Page(rss("甲", [item]), content_type="application/rss+xml")
    site.pages["/b.xml"] = Page(rss("乙", [dict(item, guid="another-guid")]), content_type="application/rss+xml")
    feeds = FeedList(tmp_path)
    for path in ("/a.xml", "/b.xml"):
        feeds.add(site.url + path, FetchPolicy())
    reports = feeds.update(FetchPolicy())
    assert [r.new for r in reports] == [1, 0]
    assert site.statuses("/news/qingdao.html") == [200]
    assert len(list((tmp_path / "web").rglob("*.jsonl"))) == 1


def test_every_failing_feed_is_said_in_its_row_and_the_others_are_updated(site, tmp_path):
    good = _publish(site, "/news/qingdao.html", QINGDAO)
    site.pages["/good.xml"] = Page(rss("好的订阅源", [good]), content_type="application/rss+xml")
    site.pages["/slow.xml"] = Page(rss("慢", [good]), delay=3)
    site.pages["/error.xml"] = Page(b"oops", status=500, content_type="text/plain")
    site.pages["/broken.xml"] = Page(b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title><item><tit',
                                     content_type="application/rss+xml")
    site.pages["/page.html"] = Page(article_html(*LANZHOU))
    site.pages["/huge.xml"] = Page(huge_mb=50)
    site.pages["/loop1.xml"] = Page(location="/loop2.xml")
    site.pages["/loop2.xml"] = Page(location="/loop1.xml")
    lanzhou = _publish(site, "/news/lanzhou.html", LANZHOU)
    site.pages["/gbk.xml"] = Page(rss("陇上日报", [lanzhou], encoding="gbk", declared="utf-8"),
                                  content_type="application/rss+xml")  # GBK bytes said to be UTF-8
    names = ["/slow.xml", "/missing.xml", "/error.xml", "/broken.xml", "/page.html", "/huge.xml", "/loop1.xml",
             "/gbk.xml", "/good.xml"]
    feeds = FeedList(tmp_path)
    feeds.save([Feed(url=site.url + name) for name in names])

    reports = feeds.update(FetchPolicy(timeout=1.0))
    said = {name: report.error for name, report in zip(names, reports)}
    assert "no answer within 1 s" in said["/slow.xml"]
    assert "404" in said["/missing.xml"] and "500" in said["/error.xml"]
    assert "malformed" in said["/broken.xml"]
    assert "not an RSS or Atom feed (an HTML page)" in said["/page.html"]
    assert "over the 10 MB limit" in said["/huge.xml"]
    assert "redirects in a loop" in said["/loop1.xml"]
    assert said["/gbk.xml"] == "" and said["/good.xml"] == ""
    rows = {f.url: f for f in feeds.feeds()}
    assert rows[site.url + "/good.xml"].new == 1 and rows[site.url + "/gbk.xml"].title == "陇上日报"
    assert rows[site.url + "/error.xml"].error_zh.startswith("网站返回错误 500")
    saved = [json.loads(p.read_text(encoding="utf-8")) for p in (tmp_path / "web").rglob("*.jsonl")]
    assert sorted(r["title"] for r in saved) == sorted([QINGDAO[0], LANZHOU[0]])


def test_a_page_that_cannot_be_fetched_keeps_the_feeds_summary_marked_as_such(site, tmp_path):
    item = {"title": "秋季运动会开幕", "link": site.url + "/gone.html",
            "summary": "<p>10月9日，某市秋季运动会开幕，共有<b>3000</b>名运动员参加。</p>"}
    site.pages["/rss.xml"] = Page(rss("测试新闻网", [item]), content_type="application/rss+xml")
    feeds = FeedList(tmp_path)
    feeds.add(site.url + "/rss.xml", FetchPolicy())
    [report] = feeds.update(FetchPolicy())
    assert report.new == 1 and report.summaries == 1
    [saved] = [json.loads(p.read_text(encoding="utf-8")) for p in (tmp_path / "web").rglob("*.jsonl")]
    assert saved["origin"] == "summary" and saved["text"] == "10月9日，某市秋季运动会开幕，共有3000名运动员参加。"
    assert saved["url"] == site.url + "/gone.html" and saved["date"] == "2023-10-12"
    site.pages["/gone.html"] = Page(article_html("秋季运动会开幕", ["10月9日，某市秋季运动会开幕，共有3000名运动员参加，设田径、游泳等12个大项。"]))
    site.pages["/rss.xml"] = Page(rss("测试新闻网", [item, dict(item, title="另一条", link=site.url + "/x.html")]),
                                  content_type="application/rss+xml")
    [again] = feeds.update(FetchPolicy())  # the page is back: the summary gives way to the article
    [saved] = [json.loads(p.read_text(encoding="utf-8")) for p in (tmp_path / "web").rglob("*.jsonl")
               if "gone" in json.loads(p.read_text(encoding="utf-8"))["url"]]
    assert again.new == 2 and "origin" not in saved and "12个大项" in saved["text"]


def test_adding_a_page_that_is_no_feed_is_refused_on_one_line(site, tmp_path):
    site.pages["/page.html"] = Page(article_html(*LANZHOU))
    refused = _qa("feeds", "add", site.url + "/page.html", "--corpus", str(tmp_path), "--index",
                  str(tmp_path / "index"), check=False)
    assert refused.returncode == 2 and "not an RSS or Atom feed" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and not (tmp_path / ".feeds.json").exists()


def test_a_link_is_fetched_extracted_without_running_its_scripts_and_cited(site, tmp_path, e5):
    kb, index = tmp_path / "articles", tmp_path / "index"
    kb.mkdir()
    _publish(site, "/news/lanzhou.html", LANZHOU, source="陇上日报")
    added = _qa("add", site.url + "/news/lanzhou.html#comments", "--corpus", str(kb), "--index", str(index))
    assert "兰州新区冷链物流中心投入使用" in added.stdout
    [saved] = [json.loads(p.read_text(encoding="utf-8")) for p in (kb / "web").rglob("*.jsonl")]
    assert "脚本改写了页面" not in saved["text"] and "首页" not in saved["text"] and "版权所有" not in saved["text"]
    answer = _qa("ask", "兰州新区冷链物流中心总投资多少？", "--index", str(index)).stdout
    assert "4.6亿元" in answer and site.url + "/news/lanzhou.html" in answer


def test_only_http_addresses_and_no_private_ones_when_refused():
    for bad in ("file:///etc/passwd", "ftp://example.com/feed", "javascript:alert(1)", "example.com/rss", ""):
        with pytest.raises(FetchError, match="only http:// and https://"):
            check_url(bad, FetchPolicy())
    closed = FetchPolicy(allow_private=False)
    for private in ("http://127.0.0.1:8080/", "http://localhost/feed", "http://10.1.2.3/", "http://192.168.0.1/",
                    "http://169.254.169.254/latest/meta-data/", "http://[::1]/"):
        with pytest.raises(FetchError, match="private or local address") as refused:
            check_url(private, closed)
        assert "--allow-private-urls" in str(refused.value)


def test_a_redirect_into_a_refused_scheme_is_not_followed(site):
    site.pages["/away"] = Page(location="file:///etc/passwd")
    with pytest.raises(FetchError, match="only http:// and https://"):
        fetch(site.url + "/away", FetchPolicy())


def test_a_feed_in_gbk_is_read_whatever_it_declares():
    text = '<?xml version="1.0" encoding="utf-8"?><rss><channel><title>陇上日报</title></channel></rss>'
    assert "陇上日报" in decode_feed(text.encode("gbk"))
    assert "陇上日报" in decode_feed(text.replace("utf-8", "iso-8859-1").encode("gbk"))
    assert "陇上日报" in decode_feed(text.encode("utf-8"), "text/xml; charset=gbk")


def test_watch_intervals():
    assert [parse_every(x) for x in ("90s", "30m", "2h", "1d", "5")] == [90, 1800, 7200, 86400, 300]
    for bad in ("", "0m", "soon", "-5m"):
        with pytest.raises(FeedError, match="30m"):
            parse_every(bad)
