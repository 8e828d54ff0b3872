"""The page's first ten minutes, driven by headless Chromium against a real `qa chat`: clearing the
conversation, bad input said in place (in Chinese) while the page stays usable, the reading date,
deleting articles of a multi-article file, and a server log without tracebacks for user errors."""

from __future__ import annotations

import json
import re
import shutil
import time
from datetime import date

import pytest

from .conftest import DATA, NEWS, SEEDS, ask_in_page, needs_chromium, served_chat

ENGLISH = re.compile(r"[A-Za-z]{2,}(?:\s+[A-Za-z]{2,}){2,}")  # three English words in a row
UNREADABLE = "文件为空或无法识别：支持 .txt .md .jsonl .pdf .html .docx"


def _serve(root, *files):
    """`qa chat` over the seeds plus `files`, reusing the seed index's vectors."""
    corpus = root / "articles"
    shutil.copytree(SEEDS, corpus)
    for file in files:
        shutil.copy(file, corpus / file.name)
    return served_chat(root, "--corpus", str(corpus), "--index", str(root / "index"))


@pytest.fixture(scope="module")
def chat(tmp_path_factory, seed_index_dir):
    """The chat over the seeds and three years of dated reports; its URL, corpus and log file."""
    root = tmp_path_factory.mktemp("first-minutes")
    shutil.copytree(seed_index_dir, root / "index")
    with _serve(root, DATA / "dated" / "2023-income.md", DATA / "dated" / "reports.jsonl") as url:
        yield url, root / "articles", next(root.glob("qa-chat-*.log"))


def _clear(page) -> None:
    page.locator("#clear").click()
    page.wait_for_function("document.querySelector('#chat').innerText.trim() === '' || "
                           "document.querySelector('#chat').innerText.includes('请输入关于新闻资料的问题')", timeout=20_000)
    page.locator("#sources").get_by_text("提问后").wait_for(timeout=20_000)


def _ask(page, question: str) -> str:
    """Ask and wait for the answer (cited, or the refusal naming the nearest articles); the chat's text."""
    ask_in_page(page, question)
    return page.locator("#chat").inner_text()


def _said(page, text: str) -> str:
    """Wait until the conversation says `text`; the chat's text."""
    page.locator("#chat").get_by_text(text).first.wait_for(timeout=60_000)
    return page.locator("#chat").inner_text()


def _no_overlay(page) -> None:
    page.wait_for_timeout(500)
    assert page.locator(".toast-body").count() == 0  # no error pop-up over the page


def _choose(page, files) -> None:
    page.locator("#kb-upload input[type=file]").set_input_files([str(f) for f in files])
    for file in files:
        page.locator("#kb-upload").get_by_text(file.stem, exact=True).first.wait_for(timeout=30_000)


def _status(page, text: str) -> str:
    page.wait_for_function(f"document.querySelector('#kb-status').innerText.includes({json.dumps(text)})",
                           timeout=120_000)
    return page.locator("#kb-status").inner_text()


@needs_chromium
def test_clearing_the_conversation_forgets_its_questions(page):
    _ask(page, "湖北前三季度经济增长多少？")
    _ask(page, "那武汉呢？")  # read as "武汉前三季度经济增长多少？": the articles give no figure for Wuhan
    assert page.locator("#sources .empty-sources ul").count() == 1
    assert "5.7%" in _ask(page, "湖北前三季度经济增长多少？")  # the subject a follow-up would take again
    _clear(page)
    chat = _ask(page, "那武汉呢？")  # nothing to follow any more: a question about Wuhan itself
    assert page.locator("#sources .source").count() >= 1 and "武汉" in chat


@needs_chromium
def test_a_question_sent_while_an_answer_is_coming_is_answered_after_it(page):
    box = page.locator("#question textarea")
    box.fill("华为公司轮值董事长是谁？")
    page.locator("#send").click()
    page.wait_for_function("document.querySelector('#question textarea').value === ''", timeout=60_000)
    box.fill("湖北前三季度经济增长多少？")  # at once: the first answer may still be on its way
    page.locator("#send").click()
    page.wait_for_function("document.querySelector('#chat').innerText.includes('5.7%')", timeout=90_000)
    chat = page.locator("#chat").inner_text()
    assert "胡厚崑" in chat and chat.count("湖北前三季度经济增长多少") == 1
    assert box.input_value() == ""


@needs_chromium
def test_a_bad_question_is_said_in_the_conversation_and_the_box_stays_usable(page):
    page.locator("#send").click()
    _said(page, "问题为空：请输入一个问题。")
    _no_overlay(page)
    long_question = "请问" * 300
    page.locator("#question textarea").fill(long_question)
    page.locator("#send").click()
    chat = _said(page, "问题太长（600 字）：请缩短到 500 字以内再问。")
    _no_overlay(page)
    assert page.locator("#question textarea").input_value() == long_question  # kept, to be shortened
    assert not ENGLISH.search(chat)
    chat = _ask(page, "华为公司轮值董事长是谁？")
    assert "胡厚崑" in chat


@needs_chromium
def test_an_empty_upload_is_said_in_the_upload_panel(page, chat, tmp_path):
    corpus = chat[1]
    before = sorted(p.name for p in corpus.iterdir())
    page.get_by_role("tab", name="资料库").click()
    page.locator("#kb-add").click()
    _status(page, "没有选择文件：请先选择要添加的文件")
    _no_overlay(page)
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "archive.pdf").write_bytes(b"PK\x03\x04" + bytes(200))  # a zip named .pdf
    _choose(page, [tmp_path / "empty.txt", tmp_path / "archive.pdf"])
    page.locator("#kb-add").click()
    status = _status(page, "未添加")
    _no_overlay(page)
    assert f"empty.txt：{UNREADABLE}" in status and f"archive.pdf：{UNREADABLE}" in status
    assert not ENGLISH.search(status)
    assert sorted(p.name for p in corpus.iterdir()) == before  # nothing saved


@needs_chromium
def test_the_upload_panel_takes_the_year_of_dates_written_without_one(page, chat):
    corpus = chat[1]
    page.get_by_role("tab", name="资料库").click()
    page.locator("#kb-year input, #kb-year textarea").first.fill("2022")  # "中国气象局11月5日讯": the article names no year
    _choose(page, [NEWS / "rain.txt"])
    page.locator("#kb-add").click()
    _status(page, "索引已更新")
    assert (corpus / "rain-2022.txt").exists()
    row = page.locator("#kb-list [role=row]", has_text="南方多地迎来强降雨").first
    assert "2022-11-05" in row.inner_text()
    page.locator("#kb-year input, #kb-year textarea").first.fill("22")
    _choose(page, [NEWS / "rain.txt"])
    page.locator("#kb-add").click()
    _status(page, "年份“22”无效")
    _no_overlay(page)


@needs_chromium
def test_the_reading_date_is_a_setting_shown_beside_the_answer(page):
    page.get_by_text("检索设置").click()
    as_of = page.locator("#as-of input, #as-of textarea").first
    assert as_of.input_value() == date.today().isoformat()  # today unless the reader says otherwise
    question = "去年前三季度居民收入实际增长多少？"
    chat = _ask(page, question)
    assert "理解）" not in chat  # read as of today: nothing to say
    for day, figure in (("2024-11-29", "5.9%"), ("2023-11-29", "3.2%")):
        as_of.fill(day)
        _clear(page)
        chat = _ask(page, question)
        assert figure in chat and f"按 {day} 理解" in chat
    as_of.fill("2024/13/01")
    _clear(page)
    page.locator("#question textarea").fill(question)
    page.locator("#send").click()
    chat = _said(page, "日期“2024/13/01”无法识别：请按 YYYY-MM-DD 填写，例如 2024-11-19。")
    _no_overlay(page)
    assert not ENGLISH.search(chat)


def _logged(log, text: str, seconds: float = 60) -> list[str]:
    """The server log's lines once one of them mentions `text`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        lines = log.read_text(encoding="utf-8").splitlines()
        if any(text in line for line in lines):
            return lines
        time.sleep(0.2)
    raise AssertionError(f"nothing about {text!r} in the server log:\n{log.read_text(encoding='utf-8')[-3000:]}")


@needs_chromium
def test_a_users_mistake_is_one_log_line_without_a_traceback(page, chat, tmp_path):
    import openai
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    url, _, log = chat
    page.locator("#question textarea").fill("问" * 777)  # in the page
    page.locator("#send").click()
    _logged(log, "777 characters")
    with pytest.raises(AppError, match="778 characters"):  # through the page's API
        Client(url, verbose=False).predict("问" * 778, api_name="/ask")
    with pytest.raises(openai.BadRequestError, match="779 characters"):  # through the OpenAI-compatible API
        openai.OpenAI(base_url=f"{url}v1", api_key="unused", max_retries=0).chat.completions.create(
            model="xinwen-qa", messages=[{"role": "user", "content": "问" * 779}])
    page.get_by_role("tab", name="资料库").click()
    (tmp_path / "not-an-article.pdf").write_bytes(b"PK\x03\x04" + bytes(200))
    _choose(page, [tmp_path / "not-an-article.pdf"])
    page.locator("#kb-add").click()
    _status(page, "not-an-article.pdf")
    lines = _logged(log, "not-an-article.pdf")
    for reason, where in (("777 characters", "qa.serve.page: question refused"), ("778 characters", "qa.serve.page: question refused"),
                          ("779 characters", "qa.serve.openai_api: request refused"),
                          ("not-an-article.pdf", "qa.serve.page: upload refused")):
        said = [line for line in lines if reason in line]
        assert len(said) == 1 and f" INFO {where}: " in said[0], said
    assert "Traceback" not in "\n".join(lines)


def test_one_article_leaves_a_jsonl_file_whose_other_lines_keep_their_encoding():
    from qa.ingest.corpus import LoadReport, parse_jsonl
    from qa.serve.knowledge_base import without_article

    lines = (DATA / "dated" / "reports.jsonl").read_text(encoding="utf-8").splitlines()
    data = "\r\n".join(lines).encode("gb18030")  # a GBK-era export, Windows line ends (written back as LF)
    label = "articles/reports.jsonl"
    articles = parse_jsonl(data.decode("gb18030").replace("\r\n", "\n"), label, LoadReport())
    assert articles[1].title == articles[2].title  # two outlets, one title: the id tells them apart
    kept, others = without_article(data, label, articles[2].id)
    assert others == 2 and kept == "\n".join(lines[:2]).encode("gb18030")
    assert [a.id for a in parse_jsonl(kept.decode("gb18030"), label, LoadReport())] == [a.id for a in articles[:2]]
    assert without_article(data, label, "no-such-article") == (None, 0)


@needs_chromium
def test_deleting_names_exactly_what_goes_and_a_jsonl_file_goes_article_by_article(browser, tmp_path,
                                                                                      seed_index_dir):
    shutil.copytree(seed_index_dir, tmp_path / "index")
    with _serve(tmp_path, DATA / "dated" / "reports.jsonl", NEWS / "wire.jsonl") as url:
        corpus = tmp_path / "articles"
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(url)
        page.get_by_role("tab", name="资料库").click()
        listing = page.locator("#kb-list")
        # Two articles of reports.jsonl share a title: the one clicked is named by its source and date.
        listing.locator("[role=gridcell]:visible", has_text="中新网").first.click()
        question = page.locator("#kb-confirm-question")
        question.get_by_text("中新网").wait_for(timeout=20_000)
        text = question.inner_text()
        assert "《前三季度居民收入实际增长4.9%》（中新网 · 2024-10-18" in text
        assert "articles/reports.jsonl" in text and "\\" not in text
        assert page.locator("#kb-confirm").inner_text() == "删除整个文件（3 篇）"
        page.locator("#kb-confirm-article").click()
        _status(page, "已删除《前三季度居民收入实际增长4.9%》（中新网")
        kept = [json.loads(line) for line in (corpus / "reports.jsonl").read_text(encoding="utf-8").splitlines()]
        assert [r["source"] for r in kept] == ["国家统计局", "国家统计局"]
        page.wait_for_function("!document.querySelector('#kb-list').innerText.includes('中新网')", timeout=20_000)
        assert listing.locator("[role=gridcell]:visible", has_text="前三季度").count() == 2

        # The whole of a .jsonl file, naming every article that goes with it.
        listing.locator("[role=gridcell]:visible", has_text="故宫博物院推出数字文物库").first.click()
        question.get_by_text("故宫博物院推出数字文物库").first.wait_for(timeout=20_000)
        assert "《我国首条跨海高铁开通运营》" in question.inner_text()
        page.locator("#kb-confirm").click()
        status = _status(page, "已删除文件")
        assert "articles/wire.jsonl（2 篇：《我国首条跨海高铁开通运营》、《故宫博物院推出数字文物库》）" in status
        assert not (corpus / "wire.jsonl").exists()
        page.wait_for_function("!document.querySelector('#kb-list').innerText.includes('跨海高铁')", timeout=20_000)

        # An article of a Markdown/text file of several goes only with its file, and says so.
        listing.locator("[role=gridcell]:visible", has_text="江西中欧班列累计开行突破2000列").first.click()
        question.get_by_text("只能整个文件一起删除").wait_for(timeout=20_000)
        assert page.locator("#kb-confirm-article").is_hidden()
        assert page.locator("#kb-confirm").inner_text() == "删除整个文件（3 篇）"
        page.close()
