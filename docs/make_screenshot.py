"""Regenerate docs/chat.png and docs/library.png: start `qa chat` on the seeds plus a PDF, a web
page and a Word file (tests/data/formats), ask a question and open the 资料库 in headless Chromium."""

import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

PORT = 7869
ROOT = Path(__file__).resolve().parent.parent
QUESTION = "大会设置了哪些实物交互体验展示区？"

with tempfile.TemporaryDirectory() as tmp:
    corpus = Path(tmp) / "articles"
    shutil.copytree(ROOT / "seeds", corpus)
    for name in ("news.pdf", "news.html", "news.docx"):
        shutil.copy(ROOT / "tests" / "data" / "formats" / name, corpus / name)
    server = subprocess.Popen([sys.executable, "-m", "qa", "chat", "--port", str(PORT), "--corpus", str(corpus),
                               "--index", str(Path(tmp) / "index")], cwd=ROOT)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/", timeout=2)
                break
            except OSError:
                time.sleep(1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"),
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.goto(f"http://127.0.0.1:{PORT}/")
            page.locator("#question textarea").fill(QUESTION)
            page.locator("#send").click()
            page.locator("#sources .source").first.wait_for(timeout=60_000)
            page.wait_for_timeout(800)
            page.screenshot(path=str(ROOT / "docs" / "chat.png"))
            page.get_by_role("tab", name="资料库").click()
            page.locator("#kb-list").wait_for()
            page.wait_for_timeout(800)
            page.screenshot(path=str(ROOT / "docs" / "library.png"))
            browser.close()
    finally:
        server.terminate()
        server.wait()
