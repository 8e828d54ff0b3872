"""Following news feeds (RSS 0.9x/1.0/2.0, Atom): the feed list of a knowledge base, and its updates.

The list lives beside the articles it brings in: `.feeds.json` in the knowledge base folder (hidden,
so never read as an article). An update fetches each feed with its last validators (a 304 costs
nothing), and for each item that is new or changed since the last update fetches its page and
saves the article (`qa.ingest.web_articles`); a page that cannot be fetched leaves the feed's own summary,
marked as such. Items are one file per address, so the same link from two feeds is one article,
and an updated item rewrites its file: the incremental build then replaces its chunks. A feed that
fails (timeout, error status, not a feed, too large) says so in its row; the others go on.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path

from qa.errors import FeedError, FetchError, QAError
from qa.ingest.fetch import FetchPolicy, check_url, fetch
from qa.ingest.web_articles import (
    canonical_url,
    read_web_page,
    save_web_article,
    web_article_path,
)
from qa.locking import index_lock

FEEDS_FILE = ".feeds.json"
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""")
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.I)
_GB = ("gb2312", "gbk", "gb18030", "x-gbk", "cp936", "euc-cn")


@dataclass
class Feed:
    """One followed feed and what its last update did."""

    url: str
    title: str = ""
    added: str = ""  # ISO time
    checked: str = ""  # when it was last updated (ISO time), "" never
    new: int = 0  # articles new or changed at the last update
    articles: int = 0  # articles it has brought in so far
    error: str = ""  # why the last update failed ("" it worked)
    error_zh: str = ""
    etag: str = ""
    last_modified: str = ""
    items: dict[str, str] = field(default_factory=dict)  # item id (GUID, else link) -> fingerprint of what it said


@dataclass
class FeedReport:
    """What one update of one feed did."""

    url: str
    new: int = 0
    unchanged: bool = False  # the server said 304, or no item changed
    summaries: int = 0  # items kept as the feed's summary (their page could not be fetched)
    error: str = ""
    error_zh: str = ""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class FeedList:
    """The feeds of one knowledge base folder; every change is saved at once (atomically)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / FEEDS_FILE

    def feeds(self) -> list[Feed]:
        try:
            rows = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as error:
            raise FeedError(f"{self.path}: the feed list cannot be read ({error}): fix or remove the file",
                            zh="订阅源列表文件已损坏：请修复或删除它。") from None
        known = {f.name for f in fields(Feed)}
        return [Feed(**{k: v for k, v in row.items() if k in known}) for row in rows]

    def save(self, feeds: list[Feed]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f"{self.path.name}.{os.getpid()}.part")
        temporary.write_text(json.dumps([asdict(f) for f in feeds], ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(temporary, self.path)

    def lock(self, what: str, wait: bool = True):
        """One writer of the feed list at a time (`qa watch`, the page, `qa feeds`)."""
        return index_lock(self.folder / FEEDS_FILE, what=what, wait=wait)

    def add(self, url: str, policy: FetchPolicy) -> Feed:
        """Follow the feed at `url` (checked to be a feed now); FeedError when it is followed already."""
        url = check_url(url, policy)
        with self.lock("qa feeds add"):
            feeds = self.feeds()
            if any(canonical_url(f.url) == canonical_url(url) for f in feeds):
                raise FeedError(f"{url}: this feed is followed already", zh="这个订阅源已经添加过了。")
            parsed = parse_feed(fetch(url, policy), url)
            feed = Feed(url=url, title=parsed.feed.get("title", "") or url, added=_now())
            self.save(feeds + [feed])
        return feed

    def remove(self, url: str) -> Feed:
        """Stop following a feed (its articles stay in the knowledge base)."""
        with self.lock("qa feeds remove"):
            feeds = self.feeds()
            gone = [f for f in feeds if canonical_url(f.url) == canonical_url(url)]
            if not gone:
                listed = ", ".join(f.url for f in feeds) or "none"
                raise FeedError(f"{url}: not a followed feed (followed: {listed})", zh="没有这个订阅源：请刷新列表。")
            self.save([f for f in feeds if f not in gone])
        return gone[0]

    def update(self, policy: FetchPolicy, on_feed: Callable[[FeedReport], None] | None = None,
               only: str = "") -> list[FeedReport]:
        """Update every feed (or `only` the one at that address) once, saving the list after each; a
        failing feed never stops the others."""
        reports = []
        with self.lock("qa feeds update"):
            feeds = self.feeds()
            for at, feed in enumerate(feeds):
                if only and canonical_url(feed.url) != canonical_url(only):
                    continue
                report = update_feed(feed, self.folder, policy)
                feeds[at] = feed
                self.save(feeds)
                reports.append(report)
                if on_feed:
                    on_feed(report)
        return reports


def decode_feed(data: bytes, content_type: str = "") -> str:
    """A feed's text. Valid UTF-8 is UTF-8 whatever it declares; else the declared charset (the GB
    family read as GB18030) when the bytes are valid in it, else GB18030, else Latin-1."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    declared = _XML_ENCODING.match(data[:200])
    charset = (declared.group(1).decode("ascii") if declared else "") or next(iter(_CHARSET.findall(content_type)), "")
    charset = "gb18030" if charset.lower() in _GB else charset.lower()
    single_byte = charset in ("", "iso-8859-1", "latin-1", "windows-1252", "us-ascii", "ascii", "utf-8")
    for encoding in ([] if single_byte else [charset]) + ["gb18030", "latin-1"]:
        try:
            return data.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("latin-1")


def parse_feed(fetched, url: str):
    """The feedparser result for a fetched feed, or FeedError when it is no RSS/Atom feed."""
    import feedparser

    parsed = feedparser.parse(decode_feed(fetched.content, fetched.content_type))
    if not parsed.get("version") and not parsed.entries:
        kind = "an HTML page" if re.search(r"<html[\s>]", fetched.content[:2048].decode("latin-1"), re.I) else "unreadable"
        raise FeedError(f"{url}: not an RSS or Atom feed ({kind}): give the address of the site's feed",
                        zh="这个网址不是 RSS 或 Atom 订阅源：请填写网站订阅源（RSS）的地址。")
    if parsed.bozo and not parsed.entries:
        raise FeedError(f"{url}: malformed feed XML ({parsed.get('bozo_exception')})",
                        zh="订阅源的 XML 格式有误，无法读取。")
    return parsed


def update_feed(feed: Feed, folder: Path, policy: FetchPolicy) -> FeedReport:
    """Fetch one feed and save its new or changed items' articles; the feed's row says how it went."""
    report = FeedReport(feed.url)
    try:
        fetched = fetch(feed.url, policy, etag=feed.etag, last_modified=feed.last_modified)
        if fetched.not_modified:
            report.unchanged = True
        else:
            parsed = parse_feed(fetched, feed.url)
            feed.title = parsed.feed.get("title", "") or feed.title
            _save_items(feed, parsed, folder, policy, report)
            feed.etag, feed.last_modified = fetched.etag, fetched.last_modified
            report.unchanged = report.new == 0
            if parsed.bozo:  # read as far as it goes, and said: the feed may be missing items
                report.error = (f"{feed.url}: malformed feed XML ({parsed.get('bozo_exception')}); "
                                f"{len(parsed.entries)} items read up to the error")
                report.error_zh = f"订阅源的 XML 格式有误：只读到出错前的 {len(parsed.entries)} 条。"
    except QAError as error:
        report.error, report.error_zh = str(error), error.zh
    feed.checked, feed.new, feed.articles = _now(), report.new, feed.articles + report.new
    feed.error, feed.error_zh = report.error, report.error_zh
    return report


def _fingerprint(entry) -> str:
    said = "\0".join(str(entry.get(k, "")) for k in ("title", "link", "summary", "updated", "published"))
    contents = "\0".join(c.get("value", "") for c in entry.get("content", []))
    return hashlib.sha1((said + contents).encode("utf-8")).hexdigest()[:16]


def _save_items(feed: Feed, parsed, folder: Path, policy: FetchPolicy, report: FeedReport) -> None:
    source = parsed.feed.get("title", "")
    for entry in parsed.entries:
        link = entry.get("link", "")
        item = entry.get("id") or link
        if not item or not link.lower().startswith(("http://", "https://")):
            continue
        fingerprint, path = _fingerprint(entry), web_article_path(folder, link)
        if feed.items.get(item) == fingerprint and path.is_file() and not _only_summary(path):
            continue  # nothing new said about it (a page that failed is tried again)
        if item not in feed.items and path.is_file():
            feed.items[item] = fingerprint
            continue  # another feed brought the same page in
        record = _item_record(entry, link, source, policy)
        if record is None:
            continue  # neither its page nor any text of its own: tried again at the next update
        feed.items[item] = fingerprint
        report.summaries += record.get("origin") == "summary"
        if save_web_article(folder, record):
            report.new += 1


def _only_summary(path: Path) -> bool:
    """Whether the saved article is only its feed's summary (its page could not be fetched)."""
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("origin") == "summary"
    except (OSError, ValueError, AttributeError):
        return False


def _item_record(entry, link: str, source: str, policy: FetchPolicy) -> dict | None:
    """The item's article from its page, else from the feed's own text (marked "summary"); None without either."""
    try:
        record = read_web_page(link, policy)
        record["source"] = record["source"] or source
        record["date"] = record["date"] or _entry_date(entry)
        return record
    except FetchError:
        summary = _plain_text(entry)
        if not summary:
            return None
        return {"title": entry.get("title", ""), "text": summary, "source": source, "date": _entry_date(entry),
                "url": canonical_url(link), "reporters": [entry["author"]] if entry.get("author") else [],
                "origin": "summary"}


def _entry_date(entry) -> str:
    when = entry.get("published_parsed") or entry.get("updated_parsed")
    return time.strftime("%Y-%m-%d", when) if when else ""


def _plain_text(entry) -> str:
    """The item's own text (its content, else its summary) without markup."""
    import lxml.html

    raw = next((c.get("value", "") for c in entry.get("content", []) if c.get("value")), "") or entry.get("summary", "")
    if not raw.strip():
        return ""
    try:
        text = lxml.html.fromstring(f"<div>{raw}</div>").text_content()
    except (ValueError, lxml.etree.ParserError):
        text = raw
    return "\n".join(line.strip() for line in text.split("\n") if line.strip())


def parse_every(text: str) -> float:
    """Seconds in an interval written "30m", "2h", "90s" or "1d"; FeedError otherwise."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text or "")
    if not match or float(match.group(1)) <= 0:
        raise FeedError(f"--every {text!r}: give an interval such as 30m, 2h or 90s")
    return float(match.group(1)) * {"": 60, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
