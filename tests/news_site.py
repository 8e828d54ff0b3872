"""A news site on 127.0.0.1 for the tests: feeds and article pages written for them, served by
Python's http.server, with the behaviours a feed reader meets (ETag and 304, redirects, slow
answers, error statuses, huge bodies, wrong charsets). Tests change `site.pages` while it runs."""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Page:
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    location: str = ""  # a redirect's target
    delay: float = 0.0  # seconds before answering
    huge_mb: int = 0  # stream this many MB of filler instead of the body
    conditional: bool = True  # answers If-None-Match with a 304


class NewsSite:
    def __init__(self) -> None:
        self.pages: dict[str, Page] = {}
        self.requests: list[tuple[str, int]] = []  # (path, status) of each request
        self.agents: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                site.agents.append(self.headers.get("User-Agent", ""))
                page = site.pages.get(self.path)
                if page is None:
                    return self._answer(404, b"not found", "text/plain")
                if page.delay:
                    time.sleep(page.delay)
                if page.location:
                    status = page.status if 300 <= page.status < 400 else 302
                    self.send_response(status)
                    self.send_header("Location", page.location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    site.requests.append((self.path, status))
                    return
                if page.huge_mb:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/rss+xml")
                    self.end_headers()
                    site.requests.append((self.path, 200))
                    try:
                        for _ in range(page.huge_mb * 16):
                            self.wfile.write(b" " * 65536)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    return
                etag = '"' + hashlib.sha1(page.body).hexdigest()[:12] + '"'
                if page.conditional and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    site.requests.append((self.path, 304))
                    return
                self._answer(page.status, page.body, page.content_type, etag if page.conditional else "")

            def _answer(self, status: int, body: bytes, content_type: str, etag: str = "") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Last-Modified", formatdate(usegmt=True))
                if etag:
                    self.send_header("ETag", etag)
                self.end_headers()
                site.requests.append((self.path, status))
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout under test)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def statuses(self, path: str) -> list[int]:
        return [status for p, status in self.requests if p == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def article_html(title: str, paragraphs: list[str], source: str = "测试新闻网", date: str = "2023-10-12",
                 author: str = "") -> bytes:
    """A news article page: site chrome around the article, the way outlets publish them."""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    meta = f'<meta name="author" content="{author}">' if author else ""
    return f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title}_{source}</title>
<meta property="og:title" content="{title}"><meta property="og:site_name" content="{source}">
<meta name="date" content="{date}">{meta}</head><body>
<nav><a href="/">首页</a> <a href="/news">新闻</a> <a href="/about">关于我们</a></nav>
<article><h1>{title}</h1><div class="info">{date} 来源：{source}</div>{body}</article>
<footer>版权所有 © 测试新闻网 | 联系我们</footer><script>document.body.innerHTML = "脚本改写了页面";</script>
</body></html>""".encode("utf-8")


def rss(title: str, items: list[dict], encoding: str = "utf-8", declared: str | None = None) -> bytes:
    """An RSS 2.0 feed of items {title, link, guid?, summary?, date?}."""
    entries = "".join(
        f"<item><title>{i['title']}</title><link>{i['link']}</link><guid>{i.get('guid', i['link'])}</guid>"
        f"<description><![CDATA[{i.get('summary', '')}]]></description>"
        f"<pubDate>{i.get('date', 'Thu, 12 Oct 2023 08:00:00 +0800')}</pubDate></item>" for i in items)
    text = (f'<?xml version="1.0" encoding="{declared or encoding}"?><rss version="2.0"><channel><title>{title}</title>'
            f"<link>http://example.invalid/</link><description>{title}</description>{entries}</channel></rss>")
    return text.encode(encoding)


def atom(title: str, items: list[dict]) -> bytes:
    """An Atom feed of items {title, link, guid?, summary?}."""
    entries = "".join(
        f"<entry><title>{i['title']}</title><link href=\"{i['link']}\"/><id>{i.get('guid', i['link'])}</id>"
        f"<updated>2023-10-12T08:00:00+08:00</updated><summary>{i.get('summary', '')}</summary></entry>"
        for i in items)
    return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>{title}</title>'
            f"<id>urn:test:{title}</id><updated>2023-10-12T08:00:00+08:00</updated>{entries}</feed>").encode("utf-8")
