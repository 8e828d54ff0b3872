"""News from the web in the page, driven by headless Chromium against a real `qa chat`: a link pasted
in the page answered with a citation that links to it, and `qa watch` bringing in an item published
while the chat runs (the page lists the feed with its last update)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest

from .conftest import (
    ROOT,
    SEEDS,
    TEST_ENV,
    ask_in_page,
    needs_chromium,
    run_qa,
    served_chat,
)
from .news_site import NewsSite, Page, article_html, rss
from .test_feeds import LANZHOU, QINGDAO

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def site():
    served = NewsSite()
    yield served
    served.close()


@pytest.fixture(scope="module")
def chat(tmp_path_factory, seed_index_dir, site):
    """The chat over the seeds (their index's vectors reused); its URL and folders."""
    root = tmp_path_factory.mktemp("page-web")
    shutil.copytree(seed_index_dir, root / "index")
    shutil.copytree(SEEDS, root / "articles")
    where = ("--corpus", str(root / "articles"), "--index", str(root / "index"))
    with served_chat(root, *where, env={"QA_READER": "off"}) as url:
        yield url, where


def _ask(page, question: str) -> str:
    """Ask in the chat tab; the sources panel's HTML once the answer is complete."""
    page.get_by_role("tab", name="对话").click()
    ask_in_page(page, question)
    return page.locator("#sources").inner_html()


def _asked(url: str, question: str) -> list[dict]:
    """The citations the running chat's OpenAI-compatible API gives for the question."""
    body = json.dumps({"model": "xinwen-qa", "messages": [{"role": "user", "content": question}]}).encode("utf-8")
    request = urllib.request.Request(url + "v1/chat/completions", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())["citations"]


def test_a_link_pasted_in_the_page_is_answered_with_a_citation_linking_to_it(page, site):
    link = site.url + "/news/lanzhou.html"
    site.pages["/news/lanzhou.html"] = Page(article_html(*LANZHOU, source="陇上日报"))
    page.get_by_role("tab", name="网页与订阅").click()
    page.locator("#web-url input, #web-url textarea").first.fill(link)
    page.locator("#web-add").click()
    page.wait_for_function("document.querySelector('#web-status').innerText.includes('索引已更新')", timeout=120_000)
    assert "兰州新区冷链物流中心投入使用" in page.locator("#web-status").inner_text()
    sources = _ask(page, "兰州新区冷链物流中心总投资多少？")
    assert "4.6亿元" in page.locator("#chat").inner_text()
    link_shown = page.locator(f'#sources a.source-link[href="{link}"]')
    assert link_shown.count() == 1 and link_shown.inner_text() == LANZHOU[0] and "陇上日报" in sources


def test_a_bad_link_is_said_in_the_panel_in_chinese(page, site):
    page.get_by_role("tab", name="网页与订阅").click()
    box = page.locator("#web-url input, #web-url textarea").first
    box.fill("file:///etc/passwd")
    page.locator("#web-add").click()
    page.wait_for_function("document.querySelector('#web-status').innerText.includes('不是网址')", timeout=30_000)
    assert box.input_value() == "file:///etc/passwd"  # kept, to be corrected
    box.fill(site.url + "/no-such-page.html")
    page.locator("#web-add").click()
    page.wait_for_function("document.querySelector('#web-status').innerText.includes('404')", timeout=30_000)


def test_qa_watch_brings_in_an_item_published_while_the_chat_runs(page, chat, site, tmp_path):
    url, where = chat
    site.pages["/news/qingdao.html"] = Page(article_html(*QINGDAO))
    first = {"title": QINGDAO[0], "link": site.url + "/news/qingdao.html", "summary": QINGDAO[1][0]}
    site.pages["/rss.xml"] = Page(rss("测试新闻网", [first]), content_type="application/rss+xml")
    run_qa("feeds", "add", site.url + "/rss.xml", *where, check=True, env={"QA_READER": "off"})
    log = (tmp_path / "watch.log").open("w", encoding="utf-8")
    watch = subprocess.Popen([sys.executable, "-m", "qa", "watch", "--every", "2s", *where], cwd=ROOT,
                             env={**os.environ, **TEST_ENV, "QA_READER": "off"},
                             stdout=log, stderr=subprocess.STDOUT)
    try:
        site.pages["/news/wenzhou.html"] = Page(article_html("温州马拉松报名人数创新高", [
            "10月10日，2023温州马拉松报名结束，报名人数达到4.1万人，创下赛事举办以来的新高。"]))
        later = {"title": "温州马拉松报名人数创新高", "link": site.url + "/news/wenzhou.html", "summary": "报名人数达到4.1万人"}
        site.pages["/rss.xml"] = Page(rss("测试新闻网", [later, first]), content_type="application/rss+xml")
        deadline = time.monotonic() + 180
        while "/news/wenzhou.html" not in [p for p, status in site.requests if status == 200]:
            assert time.monotonic() < deadline and watch.poll() is None, (tmp_path / "watch.log").read_text()
            time.sleep(0.5)
        while not any(c["url"].endswith("/news/wenzhou.html") for c in _asked(url, "温州马拉松有多少人报名？")):
            assert time.monotonic() < deadline, (tmp_path / "watch.log").read_text()  # the build is not done yet
            time.sleep(2)
        sources = _ask(page, "温州马拉松有多少人报名？")
        assert "4.1万人" in page.locator("#chat").inner_text() and "wenzhou.html" in sources
        page.get_by_role("tab", name="网页与订阅").click()
        page.wait_for_function("document.querySelector('#feed-list').innerText.includes('测试新闻网')", timeout=30_000)
        listed = page.locator("#feed-list").inner_text()
        assert site.url + "/rss.xml" in listed and "尚未更新" not in listed  # with its last update
    finally:
        watch.terminate()
        watch.wait(timeout=60)
        log.close()
