"""Reading PDF, HTML and Word files: real files made by Chromium and python-docx, damaged and mislabeled files.

The fixtures under data/formats/ come from data/formats/make_fixtures.py (rerun it to change them).
"""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import docx
import pytest
from pypdf import PdfReader, PdfWriter

from qa.errors import CorpusError
from qa.ingest.corpus import LoadReport, article_files, load_articles, parse_file
from qa.ingest.docx_reader import read_docx
from qa.ingest.formats import READERS, detect_kind
from qa.ingest.html_reader import read_html
from qa.ingest.pdf_reader import read_pdf

from .conftest import DATA

FORMATS = DATA / "formats"
NEWS_PDF = (FORMATS / "news.pdf").read_bytes()
HTML_PAGE = "<!DOCTYPE html><html><head><title>快讯</title></head><body><p>新华社北京电 今天的天气晴朗，气温适宜。</p></body></html>"


def article_of(path: Path):
    report = LoadReport()
    articles = parse_file(path.read_bytes(), path.suffix, path.name, report, strict=True)
    assert len(articles) == 1 and report.skipped == []
    return articles[0]


def pdf_bytes(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_bytes(paragraphs: list[tuple[str, str]], title: str = "") -> bytes:
    document = docx.Document()
    document.core_properties.title = title
    for text, style in paragraphs:
        document.add_paragraph(text, style=style)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def zip_bytes(names: list[str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return out.getvalue()


def test_fixtures_are_small_and_the_pdf_really_breaks_lines():
    assert all(p.stat().st_size < 100_000 for p in FORMATS.iterdir())
    raw = [page.extract_text() for page in PdfReader(io.BytesIO(NEWS_PDF)).pages]
    assert len(raw) >= 2
    assert "坚持双向发\n力，持续" in raw[0]  # lines break in mid-word
    assert raw[0].split("\n")[-3].endswith("建设和应用") and raw[1].startswith("场景开放")  # and over pages
    assert "副主任张建\n华在" in raw[0]  # a short unpunctuated line, like a subheading
    assert all("新华网 · 科技频道" in page for page in raw)  # the running header
    assert [page.rstrip().rsplit("\n", 1)[-1] for page in raw] == [str(n) for n in range(1, len(raw) + 1)]


def test_pdf_text_is_repaired_into_paragraphs_with_its_source_and_date():
    article = article_of(FORMATS / "news.pdf")
    assert article.title == "武汉光谷举办人工智能产业博览会"
    # The year is the one the lead names beside the day: "10月24日，2024中国光谷人工智能产业博览会…开幕".
    assert (article.source, article.date, article.date_inferred) == ("新华社", "2024-10-24", "article")
    assert "光谷坚持双向发力，持续推动算力基础设施建设和应用场景开放，目前已建成" in article.text
    assert "副主任张建华在开幕式上介绍" in article.text
    for fact in ("展览面积达3.2万平方米", "华为、科大讯飞、小米等326家企业参展", "总算力规模超过2000P",
                 "2023年核心产业规模突破650亿元", "现场签约项目41个，总金额达186亿元"):
        assert fact in article.text
    assert "科技频道" not in article.text  # the running header
    assert not any(line.strip().isdigit() for line in article.text.split("\n"))
    # The source line credits a reporter: it stays as the first line, the lead follows.
    assert article.text.startswith("新华社武汉10月24日电（记者 李明）\n10月24日，2024中国光谷人工智能产业博览会在武汉东湖高新区开幕。")
    assert article.reporters == ("李明",)


def test_pdf_title_comes_from_meaningful_metadata():
    assert PdfReader(io.BytesIO(NEWS_PDF)).metadata.title == "about:blank"  # Chromium's: ignored above
    writer = PdfWriter(clone_from=io.BytesIO(NEWS_PDF))
    writer.add_metadata({"/Title": "光谷人工智能博览会开幕"})
    assert read_pdf(pdf_bytes(writer), "expo.pdf").title == "光谷人工智能博览会开幕"
    writer.add_metadata({"/Title": "武汉光谷举办人工智能产业博览会"})
    document = read_pdf(pdf_bytes(writer), "expo.pdf")
    assert document.title == "武汉光谷举办人工智能产业博览会"
    assert document.body.startswith("新华社武汉10月24日电")  # the printed title is not repeated in the body


def test_scanned_pdfs_are_read_by_ocr_and_blank_ones_say_so():
    scan = read_pdf((FORMATS / "scan.pdf").read_bytes(), "scan.pdf")  # more in tests/test_ocr.py
    assert (scan.title, scan.origin) == ("武汉光谷举办人工智能产业博览会", "ocr")
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    with pytest.raises(CorpusError, match=r"^blank\.pdf: has no text layer \(a scanned PDF\?\) and no page images"):
        read_pdf(pdf_bytes(writer), "blank.pdf")


def test_damaged_and_password_protected_pdfs():
    with pytest.raises(CorpusError, match="cut.pdf: a damaged PDF .*re-download"):
        read_pdf(NEWS_PDF[: len(NEWS_PDF) // 3], "cut.pdf")
    locked = PdfWriter(clone_from=io.BytesIO(NEWS_PDF))
    locked.encrypt(user_password="secret", algorithm="RC4-128")
    with pytest.raises(CorpusError, match="locked.pdf: is encrypted .*unprotected copy"):
        read_pdf(pdf_bytes(locked), "locked.pdf")
    # Only an owner password (no password to open it): readable, as in any PDF viewer.
    restricted = PdfWriter(clone_from=io.BytesIO(NEWS_PDF))
    restricted.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    assert "326家企业参展" in read_pdf(pdf_bytes(restricted), "restricted.pdf").body


def test_html_page_gives_main_text_and_metadata_without_boilerplate():
    document = read_html((FORMATS / "news.html").read_bytes(), "news.html")
    assert document.title == "深圳前海新增跨境金融服务试点"
    assert (document.source, document.date) == ("新华网", "2024-11-02")
    assert document.url == "https://www.news.cn/fortune/20241102/qianhai.htm"
    for boilerplate in ("首页", "相关新闻", "版权所有", "ICP", "dataLayer", "网站地图", "前海合作区出台"):
        assert boilerplate not in document.body
    article = article_of(FORMATS / "news.html")
    assert "7项跨境金融服务试点，首批参与试点的银行共有15家" in article.text
    assert "前海深港现代服务业合作区新增跨境理财通" in article.text  # the source's line break is no space
    assert "累计办理跨境人民币结算业务金额达1.38万亿元，同比增长21.6%" in article.text
    assert "来源：" not in article.text  # the page's date/source line is metadata
    assert len(article.text.split("\n")) >= 3


def test_gbk_page_is_decoded_by_its_meta_charset():
    data = (FORMATS / "news_gbk.htm").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert b'charset="gbk"' in data or b"charset=gbk" in data
    article = article_of(FORMATS / "news_gbk.htm")
    assert article.title == "成都天府绿道总里程突破7000公里"  # "_四川新闻网" dropped from <title>
    assert (article.source, article.date) == ("四川日报", "2024-07-28")  # from "来源：四川日报 2024-07-28"
    assert "建成各级绿道驿站1126个" in article.text and "到2025年底，实现全市绿道总里程达到8000公里" in article.text
    assert "蜀ICP备" not in article.text and "四川新闻网首页" not in article.text


def test_html_without_main_text_is_refused():
    page = '<html><body><nav><a href="/">首页</a> | <a href="/a">要闻</a></nav></body></html>'
    with pytest.raises(CorpusError, match="menu.html: no article text found in the page"):
        read_html(page.encode(), "menu.html")


def test_docx_title_from_the_title_style_and_paragraphs():
    document = read_docx((FORMATS / "news.docx").read_bytes(), "news.docx")
    assert document.title == "西安城墙景区推出夜游新线路"
    assert document.body.split("\n")[0] == "西安日报讯（记者 赵婷）"
    article = article_of(FORMATS / "news.docx")
    assert article.source == "西安日报"
    assert "沿线设置灯光演艺点位18处" in article.text and "新线路门票为每人88元" in article.text


def test_docx_title_from_core_properties_or_first_short_line():
    body = [("10月1日起，西安城墙景区推出夜游新线路，全长约4.2公里。", "Normal")]
    assert read_docx(docx_bytes(body, title="城墙夜游"), "a.docx").title == "城墙夜游"
    assert read_docx(docx_bytes([("城墙夜游开放", "Normal"), *body]), "b.docx") == read_docx(
        docx_bytes(body, title="城墙夜游开放"), "c.docx")
    assert read_docx(docx_bytes([("一、线路安排", "Heading 1"), *body]), "d.docx").title == "一、线路安排"
    assert read_docx(docx_bytes(body), "夜游.docx").title == "夜游"  # one sentence only: the file's name


def test_damaged_and_empty_docx():
    with pytest.raises(CorpusError, match="bad.docx: a damaged Word file .*re-save"):
        read_docx(zip_bytes(["word/document.xml"]), "bad.docx")
    with pytest.raises(CorpusError, match="empty.docx: the Word file has no text"):
        read_docx(docx_bytes([("  ", "Normal")]), "empty.docx")


@pytest.mark.parametrize("data, name, kind", [
    (NEWS_PDF, "news.pdf", ".pdf"),
    (NEWS_PDF, "news.txt", ".pdf"),  # the content decides
    ((FORMATS / "news.docx").read_bytes(), "news.docx", ".docx"),
    ((FORMATS / "news_gbk.htm").read_bytes(), "news_gbk.htm", ".html"),
    (HTML_PAGE.encode(), "saved.txt", ".html"),  # a web page saved as .txt is read as HTML
    ("<p>新华社北京电 今天晴。</p>".encode(), "fragment.html", ".html"),
    ('{"text": "今天晴。"}\n\n{"text": "明天雨。"}\n'.encode(), "feed.txt", ".jsonl"),
    ("# 标题\n正文。".encode(), "a.markdown", ".markdown"),
    ("# 标题\n正文。".encode(), "upload", ".md"),
    ("天气预报：今天晴。".encode("gbk"), "gbk.txt", ".txt"),
    ("天气预报：今天晴。".encode(), "notes", ".txt"),
    (b"\xff\xd8\xff\xe0" + bytes(64), "scan.png", ".jpg"),  # screenshots and scans, read by OCR
    (b"\x89PNG\r\n\x1a\n" + bytes(64), "shot.txt", ".png"),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 " + bytes(64), "shot", ".webp"),
])
def test_detect_kind_reads_the_content(data, name, kind):
    assert detect_kind(data, name) == kind


@pytest.mark.parametrize("data, name, message", [
    (zip_bytes(["notes.txt"]), "fake.pdf", r"fake\.pdf: is a zip archive, not an article \(named \.pdf\): unpack"),
    (b"MZ\x90\x00\x03\x00\x00\x00" + bytes(120), "setup.pdf", r"setup\.pdf: is a Windows program"),
    (bytes(range(256)) * 8, "photo.md", r"photo\.md: looks binary, not a text file: give articles as"),
    (b"<html><body>403 Forbidden</body></html>", "paper.pdf", r"paper\.pdf: is not a PDF file but text"),
    (bytes(range(128, 256)) * 4, "junk.pdf", r"junk\.pdf: is not a PDF file \(damaged"),
    (b"GIF89a" + bytes(64), "scan.txt", r"scan\.txt: is a GIF image, not an article \(named \.txt\): save it as \.png"),
    (b"<html><body>404</body></html>", "shot.png", r"shot\.png: is not a PNG file but text"),
    (zip_bytes(["xl/workbook.xml"]), "table.docx", r"table\.docx: is an Excel workbook"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64), "old.doc", r"old\.doc: is an old Office 97-2003 file.*\.docx"),
    (b"", "empty.pdf", r"empty\.pdf: the file is empty"),
])
def test_detect_kind_refuses_mislabeled_or_unread_kinds(data, name, message):
    with pytest.raises(CorpusError, match=message):
        detect_kind(data, name)


def test_parse_file_checks_an_upload_before_it_is_saved():
    report = LoadReport()
    articles = parse_file(NEWS_PDF, ".pdf", "上传/news.pdf", report)
    assert [a.title for a in articles] == ["武汉光谷举办人工智能产业博览会"] and articles[0].path == "上传/news.pdf"
    assert parse_file(b"\x00\x01", ".txt", "bad.txt", report) == [] and report.skipped[0].startswith("bad.txt:")
    (scan,) = parse_file((FORMATS / "scan.pdf").read_bytes(), ".pdf", "scan.pdf", LoadReport(), strict=True)
    assert scan.title == "武汉光谷举办人工智能产业博览会"  # read by OCR


def test_a_folder_of_every_kind_loads_and_bad_files_are_skipped(tmp_path: Path):
    folder = tmp_path / "mixed"
    shutil.copytree(FORMATS, folder, ignore=shutil.ignore_patterns("*.py"))
    (folder / "shenzhou.md").write_text("# 神舟十九号发射成功\n\n10月30日，神舟十九号发射成功。", encoding="utf-8")
    (folder / "wire.jsonl").write_text('{"title": "故宫上线数字文物库", "text": "首批公开5万件文物。"}\n',
                                       encoding="utf-8")
    (folder / "cut.pdf").write_bytes(NEWS_PDF[:4000])
    (folder / "fake.docx").write_bytes(zip_bytes(["notes.txt"]))
    picture = PdfReader(FORMATS / "scan.pdf").pages[0].images[0].image.convert("RGB")  # a 13-pixel-text scan
    for suffix, kind in ((".png", "PNG"), (".jpeg", "JPEG"), (".webp", "WEBP")):
        picture.save(folder / f"scan{suffix}", kind, quality=90)
    (folder / "scan.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(64))  # a damaged picture
    assert {p.suffix for p in article_files(folder)} >= set(READERS)

    report = load_articles([folder])
    assert sorted(a.title for a in report.articles) == sorted([
        "武汉光谷举办人工智能产业博览会", "深圳前海新增跨境金融服务试点", "成都天府绿道总里程突破7000公里",
        "西安城墙景区推出夜游新线路", "神舟十九号发射成功", "故宫上线数字文物库"] + ["武汉光谷举办人工智能产业博览会"] * 4)
    assert sorted(message.split(":")[0] for message in report.skipped) == [
        "mixed/cut.pdf", "mixed/fake.docx", "mixed/scan.jpg"]
    assert len({a.id for a in report.articles}) == len(report.articles)
    with pytest.raises(CorpusError, match="mixed/(cut.pdf|fake.docx|scan.jpg)"):
        load_articles([folder], strict=True)
