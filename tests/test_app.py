"""The web chat started for real (`qa chat` on 127.0.0.1), driven by gradio_client and headless Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from .conftest import ROOT, SEEDS, TEST_ENV

XSS_ARTICLE = """# 网页安全测试<script>alert('title')</script>

来源：测试网

这篇文章包含脚本<script>alert('body')</script>和图片<img src=x onerror=alert('img')>，用于检验网页安全显示。
检验的结果是页面只显示文字，不执行任何脚本。
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"qa chat exited: {process.stderr.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"qa chat did not answer at {url} within {seconds} s")


def _start_chat(*args: str):
    """Start `qa chat` on a free port; returns the process and its URL once it answers."""
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "qa", "chat", "--port", str(port), *args], cwd=ROOT,
                               env={**os.environ, **TEST_ENV}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_up(url, process)
    except AssertionError:
        process.kill()
        raise
    return process, url


@pytest.fixture(scope="module")
def chat_url(tmp_path_factory):
    """`qa chat` over the seeds plus an article full of HTML, built on start-up."""
    corpus = tmp_path_factory.mktemp("chat") / "articles"
    shutil.copytree(SEEDS, corpus)
    (corpus / "xss.md").write_text(XSS_ARTICLE, encoding="utf-8")
    process, url = _start_chat("--corpus", str(corpus), "--index", str(corpus.parent / "index"))
    yield url
    process.terminate()
    process.wait(timeout=30)


def test_auth_requires_the_login(seed_index_dir, tmp_path):
    from gradio_client import Client
    from gradio_client.exceptions import AuthenticationError

    process, url = _start_chat("--index", str(seed_index_dir), "--corpus", str(tmp_path / "none"),
                               "--auth", "editor:secret")
    try:
        with pytest.raises(AuthenticationError):
            Client(url, verbose=False)
        answer = Client(url, auth=("editor", "secret"), verbose=False).predict("谁主持了大会开幕式？", api_name="/ask")
        assert "程用文" in answer["answer"]
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def client(chat_url):
    from gradio_client import Client

    return Client(chat_url, verbose=False)


def test_api_ask_returns_the_cli_json(client):
    answer = client.predict("大会设置了哪些实物交互体验展示区？", api_name="/ask")
    assert set(answer) >= {"question", "answer", "abstained", "citations"}
    assert not answer["abstained"] and "实物交互体验展示区" in answer["answer"]
    assert answer["citations"][0]["title"] == "2024 中国 5G+ 工业互联网大会在武汉开幕"
    assert "实物交互体验展示区" in answer["citations"][0]["quote"]


def test_api_ask_takes_the_conversation_for_follow_ups(client):
    first = client.predict("湖北前三季度经济增长多少？", [], api_name="/ask")
    assert "5.7%" in first["answer"]
    follow_up = client.predict("那武汉呢？", ["湖北前三季度经济增长多少？"], api_name="/ask")
    assert follow_up["abstained"]  # the articles give no figure for Wuhan
    resolved = client.predict("他现在担任什么职务？", ["盛阅春在大会上介绍了什么？"], api_name="/ask")
    assert "市长" in resolved["answer"]


def test_empty_question_is_a_readable_error_and_the_server_keeps_serving(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="the question is empty"):
        client.predict("   ", api_name="/ask")
    assert client.predict("中欧班列这次装载的货物要运往哪个国家？", api_name="/ask")["citations"]


def test_several_clients_at_once_all_get_answers(chat_url):
    from gradio_client import Client

    questions = ["中欧班列这次装载的货物要运往哪个国家？", "谁主持了大会开幕式？", "洪桥街道属于哪个县？",
                 "大会设置了哪些实物交互体验展示区？"]

    def ask(question: str) -> dict:
        return Client(chat_url, verbose=False).predict(question, api_name="/ask")

    with ThreadPoolExecutor(max_workers=len(questions)) as pool:
        answers = list(pool.map(ask, questions))
    assert all(a["citations"] for a in answers)
    assert "俄罗斯" in answers[0]["answer"] and "程用文" in answers[1]["answer"]


# --- headless Chromium -------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium not found: `sudo apt-get install chromium fonts-wqy-microhei` (or `make test`)")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture()
def page(browser, chat_url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.dialogs = dialogs
    page.goto(chat_url)
    yield page
    page.close()


def _ask(page, question: str) -> None:
    page.locator("#question textarea").fill(question)
    page.locator("#send").click()
    page.locator("#sources .source, #sources .empty-sources ul").first.wait_for(timeout=60_000)


@needs_chromium
def test_browser_question_shows_cited_answer_and_sources(page):
    _ask(page, "中欧班列这次装载的货物要运往哪个国家？")
    chat = page.locator("#chat").inner_text()
    assert "俄罗斯" in chat and "[1]" in chat
    sources = page.locator("#sources").inner_text()
    assert "江西中欧班列累计开行突破2000列" in sources and "11月19日" in sources
    assert "俄罗斯" in page.locator("#sources mark").first.inner_text()


@needs_chromium
def test_browser_follow_up_and_clear(page):
    _ask(page, "盛阅春在大会上介绍了什么？")
    page.locator("#sources .source").first.wait_for()
    page.locator("#question textarea").fill("他现在担任什么职务？")
    page.locator("#send").click()
    page.wait_for_function("document.querySelector('#chat').innerText.includes('市长')", timeout=60_000)
    page.locator("#clear").click()
    page.wait_for_function("!document.querySelector('#chat').innerText.includes('市长')", timeout=10_000)
    assert "提问后" in page.locator("#sources").inner_text()


@needs_chromium
def test_browser_shows_html_in_articles_and_questions_as_text(page):
    _ask(page, "网页安全测试检验的结果是什么<img src=x onerror=alert('q')>？")
    page.wait_for_timeout(1000)
    assert page.dialogs == []
    assert page.locator("#chat img[src='x']").count() == 0
    assert "onerror" in page.locator("#chat").inner_text()  # the question, shown as typed
    sources = page.locator("#sources")
    assert "<script>alert('title')</script>" in sources.inner_text()
    assert sources.locator("script").count() == 0


@needs_chromium
def test_browser_empty_question_shows_a_message_and_the_chat_goes_on(page):
    page.locator("#send").click()
    page.get_by_text("the question is empty").first.wait_for(timeout=20_000)
    _ask(page, "谁主持了大会开幕式？")
    assert "程用文" in page.locator("#chat").inner_text()
