"""News from the web into the knowledge base: a page fetched, its article extracted, saved as a file.

A web article is saved as a one-line `.jsonl` file in the knowledge base's folder, under
`web/<site>/<key>.jsonl` (the key is a hash of its address), so the incremental build indexes it
like any file, the page lists and deletes it like any file, and it keeps its address, outlet,
reporters and where its text came from. The page's main text is extracted as for saved `.html`
files (`qa.ingest.html_reader.read_html`); a page that cannot be fetched may still give its feed's summary.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from qa.errors import CorpusError, FetchError, UploadError
from qa.ingest.corpus import first_folder
from qa.ingest.fetch import FetchPolicy, fetch
from qa.ingest.html_reader import read_html

WEB_FOLDER = "web"  # inside the knowledge base folder


def canonical_url(url: str) -> str:
    """The address that names a page: scheme and host lower-cased, the #fragment dropped."""
    parts = urlsplit(url.strip())
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, ""))


def web_article_path(folder: Path, url: str) -> Path:
    """Where the article of `url` is saved in the knowledge base `folder` (one file per address)."""
    canonical = canonical_url(url)
    site = (urlsplit(canonical).hostname or "site").replace(":", "_")
    key = hashlib.sha1(canonical.encode("utf-8")).hexdigest()[:16]
    return Path(folder) / WEB_FOLDER / site / f"{key}.jsonl"


def read_web_page(url: str, policy: FetchPolicy) -> dict:
    """The article at `url` as a record (title, text, source, date, url, reporters), or FetchError."""
    fetched = fetch(url, policy)
    try:
        document = read_html(fetched.content, fetched.url)
    except CorpusError as error:
        raise FetchError(f"{url}: {error}", zh="网页中没有找到文章正文：请换成文章本身的网址。") from None
    return {"title": document.title, "text": document.body, "source": document.source, "date": document.date,
            "url": canonical_url(url), "reporters": list(document.reporters)}


def save_web_article(folder: Path, record: dict) -> bool:
    """Write the record as its address's file (atomically); False when the file already says the same."""
    path = web_article_path(folder, record["url"])
    data = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.part")  # hidden: never read as an article
    temporary.write_bytes(data)
    os.replace(temporary, path)
    return True


def knowledge_folder(corpus: tuple[Path, ...]) -> Path:
    """The folder web articles (and the feed list) go to: the first corpus path that is a folder."""
    folder = first_folder(corpus)
    if folder is None:
        raise UploadError("the corpus is not a folder, so web articles cannot be added: give --corpus FOLDER",
                          zh="资料库不是一个文件夹，不能添加网页文章：请用 --corpus 文件夹 启动服务。")
    return folder


def add_web_page(folder: Path, url: str, policy: FetchPolicy) -> tuple[Path, str]:
    """Fetch the page at `url` and save its article in `folder` (no rebuild): (its file, its title)."""
    record = read_web_page(url, policy)  # FetchError when the page holds no article text
    save_web_article(folder, record)
    return web_article_path(folder, record["url"]), record["title"]
