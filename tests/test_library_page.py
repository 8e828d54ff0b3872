"""The 资料库 tab driven by headless Chromium against a real `qa chat`: upload a PDF and a web page
made here, ask about each, delete one, and the bot no longer knows it."""

from __future__ import annotations

import shutil

import pytest

from .conftest import SEEDS, needs_chromium, served_chat

PDF_ARTICLE = """<html><head><meta charset="utf-8"><title>长江新区建成首座氢能码头</title></head>
<body style="font-family: 'WenQuanYi Micro Hei'; font-size: 15px; width: 420px">
<h1>长江新区建成首座氢能码头</h1>
<p>新华社武汉10月24日电（记者 李明）</p>
<p>长江新区首座氢能码头24日正式投入运营，码头岸线长度为680米，设计年吞吐能力达到120万吨。</p>
<p>据介绍，码头配备了6台氢燃料电池集装箱卡车和2座加氢站，每年可减少二氧化碳排放约1.5万吨。</p>
</body></html>"""

WEB_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8">
<title>黄鹤楼夜游项目试运行_湖北日报</title>
<meta property="og:site_name" content="湖北日报">
<meta property="article:published_time" content="2024-11-02T09:30:00+08:00">
</head><body>
<nav>首页 | 新闻 | 体育 | 财经 | 登录 | 注册</nav>
<article>
<h1>黄鹤楼夜游项目试运行</h1>
<p>黄鹤楼公园推出的《夜上黄鹤楼》光影演艺项目11月1日开始试运行，每晚演出三场，每场时长约45分钟。</p>
<p>试运行期间，夜游门票定价为每人128元，首周已售出门票1.8万张，游客可在官方小程序预约。</p>
<p>公园管理处表示，项目正式运营后将增加英文讲解服务，并延长周末的开放时间。</p>
</article>
<footer>版权所有 © 湖北日报 | 联系我们 | 网站地图</footer>
</body></html>"""


@pytest.fixture(scope="module")
def uploads(tmp_path_factory, browser) -> dict:
    """A text PDF printed by Chromium and a saved news page, with Chinese text."""
    folder = tmp_path_factory.mktemp("uploads")
    page = browser.new_page()
    page.set_content(PDF_ARTICLE)
    page.pdf(path=str(folder / "氢能码头.pdf"), width="148mm", height="210mm")
    page.close()
    (folder / "huanghelou.html").write_text(WEB_PAGE, encoding="utf-8")
    (folder / "fake.pdf").write_bytes(b"PK\x03\x04" + bytes(200))  # a zip named .pdf
    return {"pdf": folder / "氢能码头.pdf", "html": folder / "huanghelou.html", "fake": folder / "fake.pdf"}


@pytest.fixture(scope="module")
def library_url(tmp_path_factory, seed_index_dir):
    root = tmp_path_factory.mktemp("library")
    shutil.copytree(SEEDS, root / "articles")
    shutil.copytree(seed_index_dir, root / "index")  # vectors reused: start-up embeds nothing
    with served_chat(root, "--corpus", str(root / "articles"), "--index", str(root / "index")) as url:
        yield url, root / "articles"


def _open(browser, url: str):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(url)
    return page


def _choose(page, files) -> None:
    """Put files in the upload box and wait until the page has uploaded them all."""
    page.locator("#kb-upload input[type=file]").set_input_files([str(f) for f in files])
    for file in files:
        page.locator("#kb-upload").get_by_text(file.stem, exact=True).first.wait_for(timeout=30_000)  # "name" ".pdf"


def _ask(page, question: str) -> str:
    page.get_by_role("tab", name="对话").click()
    page.locator("#question textarea").fill("清空对话")  # what the click must erase, with the sources
    page.locator("#clear").click()  # a fresh conversation
    page.wait_for_function("document.querySelector('#question textarea').value === '' && "
                           "document.querySelector('#sources').innerText.includes('提问后')", timeout=20_000)
    page.locator("#question textarea").fill(question)
    page.locator("#send").click()
    page.locator("#sources .source, #sources .empty-sources ul").first.wait_for(timeout=60_000)
    page.wait_for_function("document.querySelector('#chat').innerText.includes('[1]') || "
                           "document.querySelector('#sources .empty-sources')", timeout=60_000)
    return page.locator("#sources").inner_text()


@needs_chromium
def test_upload_ask_delete_in_the_page(browser, library_url, uploads):
    url, corpus = library_url
    page = _open(browser, url)
    page.get_by_role("tab", name="资料库").click()
    assert "共 3 篇文章" in page.locator("#kb-summary").inner_text()

    _choose(page, [uploads["pdf"], uploads["html"], uploads["fake"]])
    page.locator("#kb-add").click()
    page.wait_for_function("document.querySelector('#kb-status').innerText.includes('索引已更新')", timeout=120_000)
    status = page.locator("#kb-status").inner_text()
    assert "氢能码头.pdf（1 篇）" in status and "huanghelou.html（1 篇）" in status
    assert "未添加" in status and "fake.pdf" in status  # refused by content, with the reason
    assert sorted(p.name for p in corpus.iterdir()) == ["000_3335caedc9c9913e.txt", "huanghelou.html", "氢能码头.pdf"]
    listing = page.locator("#kb-list").inner_text()
    assert "长江新区建成首座氢能码头" in listing and "黄鹤楼夜游项目试运行" in listing and "湖北日报" in listing

    sources = _ask(page, "长江新区氢能码头的岸线有多长？")
    assert "680米" in page.locator("#chat").inner_text() and "长江新区建成首座氢能码头" in sources
    sources = _ask(page, "夜上黄鹤楼的门票多少钱？")
    assert "128元" in page.locator("#chat").inner_text() and "黄鹤楼夜游项目试运行" in sources

    page.get_by_role("tab", name="资料库").click()
    page.locator("#kb-search textarea, #kb-search input").first.fill("黄鹤楼")
    page.locator("#kb-search textarea, #kb-search input").first.press("Enter")
    page.wait_for_function("!document.querySelector('#kb-list').innerText.includes('氢能码头')", timeout=20_000)
    page.locator("#kb-list [role=gridcell]:visible", has_text="黄鹤楼夜游项目试运行").first.click()
    page.locator("#kb-confirm").wait_for(timeout=20_000)
    assert "huanghelou.html" in page.locator("#kb-confirm-question").inner_text()
    page.locator("#kb-confirm").click()
    page.wait_for_function("document.querySelector('#kb-status').innerText.includes('已删除')", timeout=120_000)
    assert not (corpus / "huanghelou.html").exists()

    page.locator("#question textarea").wait_for(state="attached")
    _ask(page, "夜上黄鹤楼的门票多少钱？")
    assert page.locator("#sources .empty-sources").count() == 1  # refused: the article is gone
    assert page.dialogs == []
    page.close()


@needs_chromium
def test_a_server_open_to_the_network_without_a_login_keeps_the_library_read_only(
        browser, tmp_path, seed_index_dir, uploads):
    shutil.copytree(SEEDS, tmp_path / "articles")
    shutil.copytree(seed_index_dir, tmp_path / "index")
    with served_chat(tmp_path, "--host", "0.0.0.0", "--corpus", str(tmp_path / "articles"),
                     "--index", str(tmp_path / "index")) as url:
        page = _open(browser, url)
        page.get_by_role("tab", name="资料库").click()
        assert "--auth" in page.locator("#kb-readonly").inner_text()
        _choose(page, [uploads["html"]])
        page.locator("#kb-add").click()
        page.get_by_text("资料库只读").first.wait_for(timeout=20_000)
        page.close()
    assert sorted(p.name for p in (tmp_path / "articles").iterdir()) == ["000_3335caedc9c9913e.txt"]
