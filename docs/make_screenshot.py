"""Regenerate docs/chat.png: start `qa chat` on the seeds, ask a question in headless Chromium."""

import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

PORT = 7869
ROOT = Path(__file__).resolve().parent.parent
QUESTION = "大会设置了哪些实物交互体验展示区？"

server = subprocess.Popen([sys.executable, "-m", "qa", "chat", "--port", str(PORT)], cwd=ROOT)
try:
    for _ in range(120):
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
        browser.close()
finally:
    server.terminate()
