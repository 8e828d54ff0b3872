"""The README's screenshots of the page: `qa chat` over the seed articles, driven by headless Chromium.

    python scripts/page_screenshots.py docs/

Writes `chat.png` (a cited answer with outlet, reporter and date in the sources panel, then an
over-long question answered by an inline message) and `library.png` (the upload panel after an
empty file was refused in place).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"
ENV = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_served(url: str, process: subprocess.Popen, seconds: float = 300) -> None:
    """Until the page answers and its reader has loaded (or failed)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("qa chat exited before serving")
        try:
            with urllib.request.urlopen(url + "v1/models", timeout=2) as response:
                if json.loads(response.read())["data"][0].get("reader") != "loading":
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"qa chat did not come up within {seconds} s")


def shoot(url: str, out: Path, workdir: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.goto(url)
        page.locator("#question textarea").fill("2024中国5G+工业互联网大会在哪里开幕？")
        page.locator("#send").click()
        page.locator("#sources mark").first.wait_for(timeout=60_000)
        page.locator("#question textarea").fill("大会" * 300)
        page.locator("#send").click()
        page.locator("#chat").get_by_text("问题太长").first.wait_for(timeout=60_000)
        page.wait_for_timeout(500)
        page.screenshot(path=str(out / "chat.png"))
        page.get_by_role("tab", name="资料库").click()
        empty = workdir / "空白.txt"
        empty.write_bytes(b"")
        page.locator("#kb-upload input[type=file]").set_input_files([str(empty)])
        page.locator("#kb-upload").get_by_text("空白", exact=True).first.wait_for(timeout=30_000)
        page.locator("#kb-add").click()
        page.get_by_text("文件为空或无法识别").first.wait_for(timeout=60_000)
        page.wait_for_timeout(500)
        page.screenshot(path=str(out / "library.png"), full_page=True)
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        shutil.copytree(SEEDS, workdir / "articles")
        port = _free_port()
        url = f"http://127.0.0.1:{port}/"
        process = subprocess.Popen([sys.executable, "-m", "qa", "chat", "--corpus", str(workdir / "articles"),
                                    "--index", str(workdir / "index"), "--port", str(port)], cwd=ROOT, env=ENV,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_until_served(url, process)
            shoot(url, args.out, workdir)
        finally:
            process.terminate()
            process.wait()
    print(f"wrote {args.out / 'chat.png'} and {args.out / 'library.png'}")


if __name__ == "__main__":
    main()
