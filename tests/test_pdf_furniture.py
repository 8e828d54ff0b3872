"""A seed article printed to PDF by headless Chromium, header and footer on (print date and title on
top, the page's address and "1/4" below, on every page): none of that furniture reaches the text,
and the byline is metadata, not glued to the lead's first sentence."""

from __future__ import annotations

import html
import io
import re
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pypdf import PdfReader

from qa.ingest.chunking import split_sentences
from qa.ingest.corpus import LoadReport, parse_file

from .conftest import SEEDS, needs_chromium

pytestmark = needs_chromium
SEED_FILE = next(SEEDS.glob("*.txt"))
STYLE = "body{font-family:'WenQuanYi Micro Hei';font-size:15px;line-height:1.6}p{margin:0 0 8px}"
MARGINS = {"top": "15mm", "bottom": "15mm", "left": "10mm", "right": "10mm"}  # room for Chromium's header/footer
PRINT_STAMP = re.compile(r"\d{1,2}/\d{1,2}/\d{2,4}, \d{1,2}:\d{2}")
COUNTER = re.compile(r"(?<![\d/])\d{1,2}\s*/\s*\d{1,2}$")


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # the test's output is for the test
        pass


def seed_page(number: int) -> tuple[str, str]:
    """(title, HTML page) of the seed file's `number`th article, its lines as the seed writes them."""
    sections = re.split(r"^#+\s+", SEED_FILE.read_text(encoding="utf-8"), flags=re.M)[1:]
    title, *lines = [line.strip() for line in sections[number].split("\n") if line.strip()]
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    return title, (f'<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
                   f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{paragraphs}</body></html>")


def printed(browser, url: str, paper: str) -> bytes:
    """The page at `url` printed by Chromium with its default header and footer."""
    page = browser.new_page()
    try:
        page.goto(url)
        return page.pdf(display_header_footer=True, format=paper, margin=MARGINS)
    finally:
        page.close()


def pages_of(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def assert_no_furniture(text: str, address: str) -> None:
    for line in text.split("\n"):
        assert address not in line and "file://" not in line and "http://" not in line, line
        assert not PRINT_STAMP.search(line), line
        assert not COUNTER.search(line), line


def test_a_multi_page_print_keeps_only_the_article(browser, tmp_path: Path):
    title, page = seed_page(0)
    source = tmp_path / "article.html"
    source.write_text(page, encoding="utf-8")
    data = printed(browser, source.as_uri(), "A5")
    raw = pages_of(data)
    assert len(raw) >= 3  # the furniture is really there, on every page
    assert all(PRINT_STAMP.search(p) and "/tmp" in p and re.search(rf"{n}/{len(raw)}", p) for n, p in enumerate(raw, 1))

    (article,) = parse_file(data, ".pdf", "printed/article.pdf", LoadReport(), strict=True)
    assert article.title == title and not article.text.startswith("2024 中国")  # the wrapped title is not body text
    assert_no_furniture(article.text, "article.html")
    assert title not in article.text  # the running header (print date + title, as spaced in the title) is gone
    # The byline is metadata; in the text it stays a line of its own, never glued to the lead.
    assert (article.source, article.reporters, article.date) == ("中国网", ("王瑞芳",), "2024-11-19")
    assert "王瑞芳）11月19日" not in article.text and "开幕中国网" not in article.text
    lead = next(s.text for s in split_sentences(article) if "实数融合" in s.text)
    assert lead.startswith("11月19日，以“实数融合 智造翘楚”为主题的2024中国5G+工业互联网大会在武汉开幕")
    # A page break in mid-sentence is joined again once the footer between the pages is gone.
    assert "坚持双向发力，持续强化" in article.text


def test_a_one_page_print_served_over_http_keeps_only_the_article(browser, tmp_path: Path):
    title, page = seed_page(1)
    (tmp_path / "hongqiao.html").write_text(page, encoding="utf-8")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        address = f"http://127.0.0.1:{server.server_address[1]}/hongqiao.html"
        data = printed(browser, address, "A4")
    finally:
        server.shutdown()
        server.server_close()
    raw = pages_of(data)
    assert len(raw) == 1 and address in raw[0] and "1/1" in raw[0] and PRINT_STAMP.search(raw[0])

    (article,) = parse_file(data, ".pdf", "printed/hongqiao.pdf", LoadReport(), strict=True)
    assert article.title == title
    assert_no_furniture(article.text, "hongqiao.html")
    assert (article.source, article.reporters) == ("中国新报", ("罗志雄",))
    first_lead = next(s.text for s in split_sentences(article) if "洪桥街道召开" in s.text)
    assert first_lead.startswith("11月18日，为推动街道医保") and "罗志雄" not in first_lead


@pytest.mark.parametrize("line", ["file:///tmp/item/article.html 1/4", "ﬁle:///home/a/b.html 2/4",
                                  "https://www.news.cn/a.htm", "http://127.0.0.1:8000/x.html 1/1", "about:blank"])
def test_address_lines_are_dropped_anywhere(line):
    from qa.ingest.page_lines import drop_page_furniture

    body = ["正文第一段，说了一件事。", line, "正文第二段，说了另一件事。", "第三段。", "第四段。", "第五段。", "第六段。"]
    assert drop_page_furniture([body]) == [b for b in body if b != line]


def test_a_print_date_is_furniture_only_before_the_title_or_nothing():
    from qa.ingest.page_lines import drop_page_furniture

    page = ["12/6/26, 11:18 AM 江西中欧班列累计开行突破2000列", "正文第一段。", "正文第二段。", "正文第三段。",
            "2024-11-02 09:30 来源：新华网", "2024/11/19 上午11:18"]
    assert drop_page_furniture([page], "江西中欧班列累计开行突破2000列") == [
        "正文第一段。", "正文第二段。", "正文第三段。", "2024-11-02 09:30 来源：新华网"]  # a metadata line stays
