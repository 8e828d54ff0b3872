"""Shared fixtures: real seed articles, real news-like test data, a real model loaded once."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
DATA = Path(__file__).resolve().parent / "data"
NEWS = DATA / "news"
SHARED_DATA = ROOT.parent / "shared" / "data"

# Offline and one thread per numeric library: tests may run beside each other on 2 cores.
TEST_ENV = {
    "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "GRADIO_ANALYTICS_ENABLED": "False",
    "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false",
    "QA_OCR_CACHE": tempfile.mkdtemp(prefix="qa-test-ocr-"),  # OCR for real in each session; the user's cache untouched
}
os.environ.update(TEST_ENV)


class HashingEmbedder:
    """A tiny deterministic embedder (hashed character bigrams) for tests where the model is not the subject."""

    name = "test-hashing"
    dim = 64

    def _encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        for row, text in enumerate(texts):
            for a, b in zip(text, text[1:] + " "):
                out[row, int(hashlib.md5((a + b).encode()).hexdigest(), 16) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    encode_queries = _encode
    encode_passages = _encode


@pytest.fixture(scope="session")
def e5():
    """The bundled multilingual-e5-small, loaded once per test session."""
    from qa.index.embedding import make_embedder

    return make_embedder("e5-small")


@pytest.fixture(scope="session")
def seed_articles():
    from qa.ingest.corpus import load_articles

    return load_articles([SEEDS]).articles


@pytest.fixture()
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the seed articles."""
    target = tmp_path / "articles"
    shutil.copytree(SEEDS, target)
    return target


def run_qa(*args: str, cwd: Path | None = None, timeout: float = 600, check: bool = False,
           env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the `qa` command line for real, as a subprocess."""
    result = subprocess.run(
        [sys.executable, "-m", "qa", *args], cwd=cwd or ROOT, capture_output=True, text=True,
        timeout=timeout, env={**os.environ, **TEST_ENV, **(env or {})},
    )
    if check and result.returncode != 0:
        raise AssertionError(f"qa {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result


@pytest.fixture(scope="session")
def seed_index_dir(tmp_path_factory, e5) -> Path:
    """The seed articles built into an index with the real e5 model, once per session."""
    from qa.index.incremental import build_index
    from qa.ingest.corpus import load_articles

    directory = tmp_path_factory.mktemp("seed-index") / "index"
    build_index(load_articles([SEEDS]).articles, directory, e5, 160, 1, progress=False)
    return directory


@pytest.fixture(scope="session")
def engine(seed_index_dir, e5):
    """An engine over the seed index, without an LLM."""
    from qa.answer.engine import Engine
    from qa.config import Settings

    built = Engine.open(Settings(index_dir=seed_index_dir), embedder=e5)
    if built.reader:
        built.reader.wait()  # answers do not change half-way through the tests
    return built


def read_jsonl(path: Path) -> list[dict]:
    import json

    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium not found: `sudo apt-get install chromium fonts-wqy-microhei` (or `make test`)")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (the system's; never a downloaded one), once per test session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_reader(url: str, deadline: float) -> None:
    """Until the server's reader has loaded (or failed, or is off): answers must not change under a test."""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "v1/models", timeout=2) as response:
                status = json.loads(response.read())["data"][0].get("reader", "off")
        except (OSError, ValueError, KeyError, IndexError):
            return  # a guarded API (--api-key) or none at all: nothing to wait on
        if status != "loading":
            return
        time.sleep(0.2)


@pytest.fixture()
def page(browser, chat):
    """A fresh tab on the test module's running chat (its `chat` fixture gives the URL first)."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(chat[0])
    yield page
    page.close()


def ask_in_page(page, question: str) -> None:
    """Ask in the page's chat and wait for the answer: its sources panel (cited, or the refusal naming
    the nearest articles) replaced by the new one."""
    panel = "document.querySelector('#sources .sources, #sources .empty-sources')"  # ours, not the spinner
    page.locator("#sources .sources, #sources .empty-sources").first.wait_for(timeout=30_000)
    before = page.evaluate(f"{panel}.outerHTML")
    page.locator("#question textarea").fill(question)
    page.locator("#send").click()
    from playwright.sync_api import TimeoutError as PageTimeout

    try:
        page.wait_for_function(f"(before) => {{ const panel = {panel}; return panel.outerHTML !== before && "
                               "panel.matches('.sources, .empty-sources:has(ul)'); }", arg=before, timeout=90_000)
    except PageTimeout:  # say what the page showed instead: the next failure can be read, not guessed
        shown = page.evaluate(f"[document.querySelector('#chat').innerText, {panel}.outerHTML]")
        raise AssertionError(f"no answer to {question!r} within 90 s; the chat said {shown[0][-600:]!r}; "
                             f"the sources panel: {shown[1][:600]!r}") from None


@contextmanager
def served_chat(log_dir: Path, *args: str, command: str = "chat", seconds: float = 240, env: dict | None = None):
    """`qa chat` (or `qa serve`) started for real on a free port; yields its URL once it answers,
    stops it afterwards. Its output goes to a log file (a pipe nobody reads could fill and stall it)."""
    port = _free_port()
    log = Path(log_dir) / f"qa-{command}-{port}.log"
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen([sys.executable, "-m", "qa", command, "--port", str(port), *args], cwd=ROOT,
                                   env={**os.environ, **TEST_ENV, **(env or {})}, stdout=out,
                                   stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    probe = url + ("v1/models" if command == "serve" else "")
    try:
        deadline = time.monotonic() + seconds
        while True:
            if process.poll() is not None:
                raise AssertionError(f"qa {command} exited:\n{log.read_text(encoding='utf-8')}")
            if time.monotonic() > deadline:
                raise AssertionError(f"qa {command} did not answer at {url} within {seconds} s")
            try:
                with urllib.request.urlopen(probe, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        _wait_for_reader(url, deadline)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
