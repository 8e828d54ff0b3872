"""How the stores scale, on real news (../shared/data/news/crud_news_10k.jsonl.gz).

    python benchmarks/scale.py [--sizes 1k,10kc,10k,100kc,1mc] [--stores local,local-flat,milvus]
                               [--slice 20] [--questions 30] [--repeat 3] [--json benchmarks/scale.json]
    python benchmarks/scale.py --requery --workdir DIR --json FILE   # queries again, builds kept

1. Real embeddings for a slice of the articles: characters per second of a full build, as a ratio
   to the bare embedder encoding the same texts (the chunks and sentences the build embeds).
2. Each size, built for real through `build_index` — reading, chunking, jieba terms, sentences,
   stories, the store — except the embedder, which hands out jittered copies of the slice's real
   e5 vectors (embedding 45k chunks and 170k sentences takes hours on 2 cores; its cost per
   character is step 1's). Sizes: 1k and 10k real articles (10kc: the first articles up to 10,000
   chunks); 100kc and 1mc repeat the 10k articles (copies retitled "〔n〕…", so their chunks differ)
   up to 100,000 and 1,000,000 chunks — labelled "repeated" in the table.
   Per size and store: full build; an update of 1% of the articles (0.5% removed, 0.5% added);
   p50/p95 of retrieval and of retrieval + answer (the query vector given: embedding a query
   costs the same at any size); peak RSS of `qa serve` over the store after a few questions; disk.
Stores: local = the default (exact search up to 20,000 chunks, HNSW above); local-flat = the
default forced to exact search; milvus = Milvus Lite (FLAT), up to 10k articles by default.
Every time is the median of --repeat runs (builds run once: their size is the point). Prints a
table; writes JSON.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.answer.engine import Engine  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.index.embedding import make_embedder  # noqa: E402
from qa.index.incremental import build_index  # noqa: E402
from qa.index.stores import (
    Location,  # noqa: E402
    segment,  # noqa: E402
)
from qa.ingest.chunking import split_article, split_sentences  # noqa: E402
from qa.ingest.corpus import load_articles  # noqa: E402

NEWS = ROOT.parent / "shared" / "data" / "news" / "crud_news_10k.jsonl.gz"
ENV = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "QA_THREADS": "1"}
SIZES = {"1k": ("articles", 1_000), "10kc": ("chunks", 10_000), "10k": ("articles", 10_000),
         "100kc": ("chunks", 100_000), "300kc": ("chunks", 300_000), "1mc": ("chunks", 1_000_000)}
MILVUS_UP_TO = 80_000  # chunks: Milvus Lite beyond 10k articles takes too long here (its FLAT search, its inserts)


class JitteredEmbedder:
    """Stands in for e5 at scale: each text gets one of the slice's real e5 vectors, chosen by the
    text's hash, plus a little noise (normalised), so vectors are e5-like and texts differ."""

    name = "e5-small"

    def __init__(self, pool: np.ndarray, noise: float = 0.05) -> None:
        self.pool = pool.astype(np.float32)
        self.dim = pool.shape[1]
        self.noise = noise

    def _vector(self, text: str) -> np.ndarray:
        seed = zlib.crc32(text.encode("utf-8"))
        vector = self.pool[seed % len(self.pool)] + self.noise * np.random.default_rng(seed).standard_normal(self.dim)
        return (vector / np.linalg.norm(vector)).astype(np.float32)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.encode_passages(["q\0" + t for t in texts])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def disk_mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def news_articles(workdir: Path) -> list:
    plain = workdir / "news.jsonl"
    with gzip.open(NEWS, "rt", encoding="utf-8") as source, plain.open("w", encoding="utf-8") as out:
        shutil.copyfileobj(source, out)
    return load_articles([plain]).articles


def real_slice(articles: list, workdir: Path, repeat: int) -> tuple[dict, np.ndarray]:
    """Build throughput with the real e5 on a slice, and the slice's vectors (the jitter pool)."""
    e5 = make_embedder("e5-small")
    e5.encode_passages(["预热"])
    texts = [c.embed_text for a in articles for c in split_article(a)]
    texts += list(dict.fromkeys(s.text for a in articles for s in split_sentences(a)))
    chars = sum(len(a.text) for a in articles)
    bare, built = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        e5.encode_passages(texts)
        bare.append(time.perf_counter() - started)
        shutil.rmtree(workdir / "slice", ignore_errors=True)
        started = time.perf_counter()
        build_index(articles, workdir / "slice", e5, 160, 1, progress=False)
        built.append(time.perf_counter() - started)
    store = Location(workdir / "slice").open()
    keys = [int(k) for s in store.segments for k in s.keys]
    pool = store.chunk_vectors(keys)
    row = {"articles": len(articles), "characters": chars, "texts embedded": len(texts),
           "bare embedder chars/s": chars / statistics.median(bare), "build chars/s": chars / statistics.median(built)}
    row["build / bare"] = row["build chars/s"] / row["bare embedder chars/s"]
    return row, pool


def articles_for(size: str, articles: list) -> tuple[list, bool]:
    """The articles of a size, and whether they repeat the corpus."""
    unit, amount = SIZES[size]
    if unit == "articles":
        return articles[:amount], False
    chosen, chunks, copy = [], 0, 0
    while chunks < amount:
        for article in articles:
            if copy:
                article = replace(article, id=f"{article.id}~{copy}", title=f"〔{copy}〕{article.title}",
                                  path=f"{article.path}~{copy}")
            chosen.append(article)
            chunks += len(split_article(article))
            if chunks >= amount:
                break
        copy += 1
    return chosen, copy > 1


def updated(chosen: list, articles: list) -> list:
    """The articles after an update of 1%: the last 0.5% removed, 0.5% new ones added."""
    n = max(1, len(chosen) // 200)
    fresh = [replace(a, id=f"{a.id}~new", title=f"〔新〕{a.title}", path=f"{a.path}~new") for a in articles[:n]]
    return chosen[:-n] + fresh


def ask_times(engine: Engine, questions: list[str], repeat: int) -> dict:
    return interleaved_ask_times([(engine, questions)], repeat)[0]


def interleaved_ask_times(asked: list[tuple[Engine, list[str]]], repeat: int) -> list[dict]:
    """Search and ask timings (medians of `repeat` runs per question, then p50/p95) of each engine
    with its questions. The engines take turns question by question, so that the machine's drift
    (a third from one run to the next on this VM) falls on every store alike and their ratio holds."""
    for engine, questions in asked:
        engine.retriever.remember(dict(zip(questions, engine.retriever.embedder.encode_queries(questions))))
    runs = [{"search": [[] for _ in questions], "ask": [[] for _ in questions]} for _, questions in asked]
    for _ in range(repeat):
        for n in range(max(len(questions) for _, questions in asked)):
            for (engine, questions), timed in zip(asked, runs):
                if n >= len(questions):
                    continue
                question = questions[n]
                started = time.perf_counter()
                engine.search(question)
                timed["search"][n].append(time.perf_counter() - started)
                started = time.perf_counter()
                engine.ask(question)
                timed["ask"][n].append(time.perf_counter() - started)
    results = []
    for timed in runs:
        search = [statistics.median(r) * 1000 for r in timed["search"]]
        ask = [statistics.median(r) * 1000 for r in timed["ask"]]
        results.append({"search p50 ms": percentile(search, 0.5), "search p95 ms": percentile(search, 0.95),
                        "ask p50 ms": percentile(ask, 0.5), "ask p95 ms": percentile(ask, 0.95)})
    return results


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_rss_mb(where: list[str], questions: list[str], workdir: Path, command: str = "serve") -> float:
    """Peak RSS of `qa serve` (or `qa chat`, its page included) over the store after it answered a
    few questions (real e5 queries)."""
    port = free_port()
    log = (workdir / "serve.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "qa", command, *where, "--port", str(port)],
                               cwd=ROOT, env=ENV, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 900
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2)
                break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError(f"qa serve exited: {(workdir / 'serve.log').read_text()[-2000:]}")
                time.sleep(1)
        for question in questions[:5]:
            body = json.dumps({"messages": [{"role": "user", "content": question}]}).encode()
            request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/chat/completions", body,
                                             {"Content-Type": "application/json"})
            urllib.request.urlopen(request, timeout=300).read()
        status = Path(f"/proc/{process.pid}/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))) / 1024
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()


def measure(size: str, store: str, chosen: list, articles: list, embedder: JitteredEmbedder, questions: list[str],
            workdir: Path, repeat: int) -> dict:
    where = workdir / f"{size}-{store}"
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir()
    if store == "milvus":
        location = Location(where / "index", uri=str(where / "qa.db"), collection="bench")
        args = ["--store", location.uri, "--collection", "bench"]
    else:
        location = Location(where / "index")
        args = ["--index", str(location.folder)]
    threshold = segment.ANN_THRESHOLD
    segment.ANN_THRESHOLD = 10**12 if store == "local-flat" else threshold
    try:
        started = time.perf_counter()
        report = build_index(chosen, location, embedder, 160, 1, progress=False)
        build_s = time.perf_counter() - started
        started = time.perf_counter()
        build_index(updated(chosen, articles), location, embedder, 160, 1, progress=False)
        update_s = time.perf_counter() - started
        engine = Engine.open(Settings(index_dir=location.index_dir, store=location.uri, collection=location.collection),
                             embedder=embedder, location=location)
        row = {"size": size, "store": store, "articles": len(chosen), "chunks": report.chunks,
               "build s": build_s, "build chunks/s": report.chunks / build_s, "update 1% s": update_s,
               "update / build": update_s / build_s, **ask_times(engine, questions, repeat),
               "ann": engine.store.manifest.ann}
        del engine
    finally:
        segment.ANN_THRESHOLD = threshold
    if store == "milvus":
        from qa.index.stores.milvus_collections import forget_clients

        forget_clients()  # let `qa serve` open the file (Milvus Lite serves one process)
        from milvus_lite import server_manager

        server_manager.server_manager_instance.release_all()
    row["serve RSS MB"] = serve_rss_mb(args, questions, workdir)
    row["disk MB"] = disk_mb(where)
    return row


def requery(json_path: Path, workdir: Path, n_questions: int, repeat: int) -> dict:
    """Retrieval, answers and `qa serve`'s memory measured again over the default stores an earlier
    run kept in `workdir` (after a change to search), all stores' queries taken in turn (see
    `interleaved_ask_times`); their build and update figures stay."""
    results = json.loads(json_path.read_text(encoding="utf-8"))
    pool_store = Location(workdir / "slice").open()
    embedder = JitteredEmbedder(pool_store.chunk_vectors([int(k) for s in pool_store.segments for k in s.keys]))
    articles = load_articles([workdir / "news.jsonl"]).articles
    kept, asked = [], []
    for row in results["rows"]:
        location = Location(workdir / f"{row['size']}-{row['store']}" / "index")
        if row["store"] != "local" or location.manifest() is None:
            continue
        chosen, _ = articles_for(row["size"], articles)
        questions = questions_from(chosen[: len(articles)], n_questions)
        engine = Engine.open(Settings(index_dir=location.index_dir), embedder=embedder, location=location)
        kept.append((row, location, questions))
        asked.append((engine, questions))
    for (row, _, _), times in zip(kept, interleaved_ask_times(asked, repeat)):
        row.update(times)
    del asked
    for row, location, questions in kept:
        row["serve RSS MB"] = serve_rss_mb(["--index", str(location.folder)], questions, workdir)
        row["queries measured again"] = True
        print(row["size"], json.dumps(row, ensure_ascii=False), flush=True)
    return results


def questions_from(articles: list, n: int) -> list[str]:
    """Questions a reader might ask of the articles: the opening words of some of them, asked."""
    step = max(1, len(articles) // n)
    return [f"{a.text[:18].strip()}是怎么回事？" for a in articles[::step][:n]]


def table(rows: list[dict], columns: list[str]) -> str:
    def cell(value):
        return f"{value:,.3g}" if isinstance(value, float) and abs(value) < 100 else (
            f"{value:,.0f}" if isinstance(value, float) else str(value))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


COLUMNS = ["size", "texts", "store", "articles", "chunks", "build s", "build chunks/s", "update 1% s", "update / build",
           "search p50 ms", "search p95 ms", "ask p50 ms", "ask p95 ms", "serve RSS MB", "disk MB"]
GROWTH = ["search p50 ms", "ask p50 ms", "serve RSS MB", "disk MB", "build s", "update 1% s"]


def growth(rows: list[dict], store: str = "local") -> list[dict]:
    """Cost growth per 10× chunks of one store, from its 10,000-chunk size to each larger one:
    (large / small) ** (1 / log10(chunks ratio)), so a step of 30× chunks is put on the same footing."""
    import math

    sized = sorted((r for r in rows if r["store"] == store and r["chunks"] >= 10_000), key=lambda r: r["chunks"])
    found = []
    for small, large in ((sized[0], other) for other in sized[1:]):
        power = 1 / math.log10(large["chunks"] / small["chunks"])
        found.append({"from → to": f"{small['size']} → {large['size']}",
                      **{m: (large[m] / small[m]) ** power for m in GROWTH}})
    return found


def report(results: dict) -> None:
    print(table([results["slice"]], list(results["slice"])))
    print()
    print(table(results["rows"], COLUMNS))
    rows = growth(results["rows"])
    if rows:
        print("\ngrowth of the local store per 10× chunks:\n")
        print(table(rows, ["from → to", *GROWTH]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1k,10kc,10k,100kc,1mc")
    parser.add_argument("--stores", default="local,local-flat,milvus")
    parser.add_argument("--slice", type=int, default=20, help="articles embedded for real")
    parser.add_argument("--questions", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "scale.json")
    parser.add_argument("--workdir", type=Path, help="keep the built stores here (default: a temporary folder)")
    parser.add_argument("--report", type=Path, help="only print the tables of an earlier run's JSON")
    parser.add_argument("--requery", action="store_true",
                        help="measure queries and serve RSS again over the stores an earlier run kept in --workdir "
                             "(its --json keeps its build and update figures)")
    parser.add_argument("--chat-rss", type=Path, metavar="INDEX",
                        help="only measure the peak RSS of `qa chat` (page and API) over the local store INDEX")
    args = parser.parse_args()
    if args.chat_rss:
        questions = [f"{a.title[:18]}是怎么回事？" for a in Location(args.chat_rss).open().articles(limit=5)]
        rss = serve_rss_mb(["--index", str(args.chat_rss), "--corpus", str(args.chat_rss / "no-corpus")], questions,
                           Path(tempfile.mkdtemp(prefix="qa-chat-rss-")), command="chat")
        print(f"qa chat over {args.chat_rss}: peak RSS {rss:,.0f} MB")
        return
    if args.report:
        report(json.loads(args.report.read_text(encoding="utf-8")))
        return
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if args.requery:
        results = requery(args.json, args.workdir, args.questions, args.repeat)
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
        report(results)
        return
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="qa-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    articles = news_articles(workdir)
    print(f"{len(articles)} news articles, {sum(len(a.text) for a in articles):,} characters", flush=True)
    slice_row, pool = real_slice(articles[:args.slice], workdir, args.repeat)
    print(table([slice_row], list(slice_row)), flush=True)
    embedder = JitteredEmbedder(pool)
    rows = []
    for size in args.sizes.split(","):
        chosen, repeated = articles_for(size, articles)
        questions = questions_from(chosen[: len(articles)], args.questions)
        for store in args.stores.split(","):
            chunks = sum(len(split_article(a)) for a in chosen) if store != "local" else 0
            if store == "milvus" and chunks > MILVUS_UP_TO:
                continue
            if store == "local-flat" and chunks > 100_000:
                continue
            started = time.perf_counter()
            row = measure(size, store, chosen, articles, embedder, questions, workdir, args.repeat)
            row["texts"] = "repeated" if repeated else "real"
            rows.append(row)
            print(f"{size} {store}: {time.perf_counter() - started:.0f} s", json.dumps(row, ensure_ascii=False), flush=True)
    results = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "slice": slice_row, "rows": rows}
    args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    print()
    report(results)
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
