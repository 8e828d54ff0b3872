"""The feed line of `make bench`: a `qa feeds update` of real news served by a local news site.

The first N articles of the real 2023 news corpus are published as article pages and one RSS feed on
127.0.0.1 (tests/news_site.py); the update fetches and extracts each item's page, then the incremental
build embeds them. Reported: items per second end to end, and the share of the time spent outside
embedding (fetching, extracting, reading, chunking, storing; goal ≤ 10%), timed around the embedder's
own calls.

    python benchmarks/feed_bench.py [--items 40]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
NEWS = ROOT.parent / "shared" / "data" / "news" / "crud_news_10k.jsonl.gz"


class TimedEmbedder:
    """The real embedder, with the seconds spent in its calls added up."""

    def __init__(self, embedder) -> None:
        self.embedder = embedder
        self.name, self.dim = embedder.name, embedder.dim
        self.seconds = 0.0

    def _timed(self, method, texts):
        started = time.perf_counter()
        try:
            return method(texts)
        finally:
            self.seconds += time.perf_counter() - started

    def encode_passages(self, texts):
        return self._timed(self.embedder.encode_passages, texts)

    def encode_queries(self, texts):
        return self._timed(self.embedder.encode_queries, texts)


def news_items(count: int) -> list[dict]:
    """The first `count` titled-enough articles of the real news corpus."""
    items = []
    with gzip.open(NEWS, "rt", encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            if len(record["text"]) >= 200:
                items.append(record)
            if len(items) == count:
                break
    return items


def bench_feed(workdir: Path, count: int = 40) -> dict:
    """Publish `count` real articles on a local site and time `feeds update` + the build over them."""
    sys.path.insert(0, str(ROOT / "tests"))
    from news_site import NewsSite, Page, article_html, rss

    from qa.config import Settings
    from qa.index.build import build
    from qa.index.embedding import make_embedder
    from qa.ingest.feeds import FeedList
    from qa.ingest.fetch import FetchPolicy

    site = NewsSite()
    try:
        entries = []
        for n, record in enumerate(news_items(count)):
            title = record["text"][:24].split("，")[0]
            paragraphs = [p for p in record["text"].split("。") if p]
            site.pages[f"/news/{n}.html"] = Page(article_html(title, [p + "。" for p in paragraphs]))
            entries.append({"title": title, "link": f"{site.url}/news/{n}.html", "summary": paragraphs[0]})
        site.pages["/rss.xml"] = Page(rss("新闻", entries), content_type="application/rss+xml")
        corpus = workdir / "feed-articles"
        corpus.mkdir()
        settings = Settings(corpus=(corpus,), index_dir=workdir / "feed-index")
        embedder = TimedEmbedder(make_embedder("e5-small"))
        embedder.encode_passages(["预热"])  # the model loads before the clock starts, as in a running `qa watch`
        embedder.seconds = 0.0
        feeds = FeedList(corpus)
        feeds.add(site.url + "/rss.xml", FetchPolicy())
        started = time.perf_counter()
        [report] = feeds.update(FetchPolicy())
        fetched = time.perf_counter() - started
        built = build(settings, progress=False, embedder=embedder)
        total = time.perf_counter() - started
    finally:
        site.close()
    return {"feed_items": report.new, "feed_total_s": total, "feed_fetch_extract_s": fetched,
            "feed_embed_s": embedder.seconds, "feed_items_per_s": report.new / total,
            "feed_outside_embedding_share": (total - embedder.seconds) / total, "feed_chunks": built.chunks}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(bench_feed(Path(tmp), args.items), indent=2))


if __name__ == "__main__":
    main()
