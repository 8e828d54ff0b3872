"""Speed and memory of 新闻问答, against baselines measured in the same run.

    python benchmarks/bench.py [--passages 100] [--repeat 3] [--questions 200] [--json benchmarks/results.json]

Build: a full build of CMRC 2018 dev passages vs the bare embedder encoding the same chunk
texts; an unchanged rebuild; a rebuild after one passage changed. Query: p50/p95 of retrieval
alone and retrieval + answer vs the bare query embedding. Start-up: `qa chat` to first HTTP 200
on an existing index. Concurrency: 1, 4 and 16 users asking the running chat at once through
its /ask API (each a different question), p50/p95 per question vs one user. Memory: peak RSS of
`qa build` and of the running chat.
Every figure is the median of --repeat runs. Prints a table; writes JSON.
"""

from __future__ import annotations

import argparse
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
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.feed_bench import bench_feed  # noqa: E402
from benchmarks.ocr_accuracy import SEED_FILE  # noqa: E402
from benchmarks.ocr_accuracy import measure as ocr_measure
from benchmarks.ocr_accuracy import table as ocr_table
from qa.answer.engine import Engine  # noqa: E402
from qa.answer.reader import Reader, build_model, load_weights  # noqa: E402
from qa.answer.reader_graph import cpu_flags  # noqa: E402
from qa.answer.reader_network import TorchSpanNetwork  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.eval.datasets import load_squad  # noqa: E402
from qa.index.embedding import make_embedder  # noqa: E402
from qa.index.incremental import EMBED_BATCH, build_index  # noqa: E402
from qa.ingest.chunking import split_article, split_sentences  # noqa: E402
from qa.ingest.corpus import Article  # noqa: E402

BF16_QUESTIONS = 20  # without AMX or AVX-512 BF16, bf16 is measured on fewer questions: it is many times slower
CMRC = ROOT.parent / "shared" / "data" / "cmrc2018" / "dev.json"
ENV = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}


def median_seconds(action, repeat: int) -> float:
    """Median wall time of `action()` over `repeat` runs."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def bench_build(articles: list[Article], workdir: Path, repeat: int) -> dict:
    embedder = make_embedder("e5-small")
    embedder.encode_passages(["预热"])  # load the model outside the timings
    chunks = [c for a in articles for c in split_article(a, 160, 1)]
    sentences = [s for a in articles for s in split_sentences(a, 160)]
    chunk_texts = [c.embed_text for c in chunks]
    # What a build embeds: every chunk (with its title) and every sentence (the answer's evidence).
    texts = chunk_texts + [s.text for s in sentences]
    chars = sum(len(t) for t in texts)
    chunk_chars = sum(len(t) for t in chunk_texts)

    def encode(batch_texts: list[str]) -> None:
        for at in range(0, len(batch_texts), EMBED_BATCH):
            embedder.encode_passages(batch_texts[at: at + EMBED_BATCH])

    def bare() -> None:
        encode(texts)

    def full() -> None:
        shutil.rmtree(workdir / "index", ignore_errors=True)
        build_index(articles, workdir / "index", embedder, 160, 1, progress=False)

    bare_s = median_seconds(bare, repeat)
    chunks_only_s = median_seconds(lambda: encode(chunk_texts), repeat)
    full_s = median_seconds(full, repeat)
    unchanged_s = median_seconds(lambda: build_index(articles, workdir / "index", embedder, 160, 1, progress=False),
                                 repeat)
    edited = list(articles)

    def one_changed() -> None:
        edited[0] = replace(edited[0], text=edited[0].text + f"补充一句{time.perf_counter_ns()}。")
        build_index(edited, workdir / "index", embedder, 160, 1, progress=False)

    changed_s = median_seconds(one_changed, repeat)
    return {"passages": len(articles), "chunks": len(chunks), "sentences": len(sentences), "chars": chars,
            "chunk_chars": chunk_chars, "bare_chunks_only_s": chunks_only_s,
            "embedded_vs_chunks_only": chars / chunk_chars, "full_build_vs_chunks_only": full_s / chunks_only_s,
            "bare_embed_s": bare_s, "full_build_s": full_s, "unchanged_rebuild_s": unchanged_s,
            "one_changed_rebuild_s": changed_s,
            "build_chunks_per_s": len(chunks) / full_s, "build_chars_per_s": chars / full_s,
            "bare_chunks_per_s": len(chunks) / bare_s, "build_vs_bare": bare_s / full_s,
            "one_changed_vs_full": changed_s / full_s, "unchanged_vs_full": unchanged_s / full_s}


def bench_queries(index_dir: Path, questions: list[str], repeat: int) -> dict:
    """Retrieval, and retrieval + answer with and without the reader, against the query embedding."""
    engine = Engine.open(Settings(index_dir=index_dir, reader="off"))
    embedder = engine.retriever.embedder
    with_reader = Engine.open(Settings(index_dir=index_dir), embedder=embedder)
    reader = with_reader.reader.wait() if with_reader.reader else None
    for q in questions:  # warm up: model, jieba, caches of the libraries
        engine.ask(q)
        with_reader.ask(q)

    bf16_asked = questions if cpu_has_bf16() else questions[:BF16_QUESTIONS]

    def timings(action, asked: list[str] = questions) -> list[float]:
        runs = []
        for _ in range(repeat):
            per_question = []
            for q in asked:
                engine.retriever.forget()
                started = time.perf_counter()
                action(q)
                per_question.append(time.perf_counter() - started)
            runs.append(per_question)
        return [statistics.median(values) for values in zip(*runs)]

    measured = {"embed": timings(lambda q: embedder.encode_queries([q])),
                "retrieve": timings(lambda q: engine.search(q)),
                "retrieve_answer": timings(lambda q: engine.ask(q))}
    if reader is not None:
        measured["retrieve_read"] = timings(lambda q: with_reader.ask(q))  # ONNX Runtime, as served
        served, in_torch = reader.network, build_model(reader.e5, load_weights(with_reader.reader.weights))
        reader.network = TorchSpanNetwork(in_torch)  # the same weights in torch, float32
        measured["retrieve_read_torch"] = timings(lambda q: with_reader.ask(q))
        reader.network = TorchSpanNetwork(in_torch, bf16=True)  # fast with AMX or AVX-512 BF16, slow elsewhere
        measured["retrieve_read_bf16"] = timings(lambda q: with_reader.ask(q), bf16_asked)
        del in_torch
        reader.network = Reader.load(with_reader.reader.weights, reader.e5, arithmetic="int8").network  # QA_READER_ARITHMETIC=int8
        measured["retrieve_read_int8"] = timings(lambda q: with_reader.ask(q))
        reader.network = served
    out = {"questions": len(questions), "bf16_questions": len(bf16_asked), "cpu_bf16": cpu_has_bf16()}
    for name, values in measured.items():
        out[f"{name}_p50_ms"] = 1000 * percentile(values, 0.5)
        out[f"{name}_p95_ms"] = 1000 * percentile(values, 0.95)
    out["retrieve_vs_embed_p50"] = out["retrieve_p50_ms"] / out["embed_p50_ms"]
    out["answer_vs_embed_p50"] = out["retrieve_answer_p50_ms"] / out["embed_p50_ms"]
    return out


def cpu_has_bf16() -> bool:
    """Whether the CPU computes bfloat16 natively (AMX or AVX-512 BF16), where autocast pays."""
    return bool({"amx_bf16", "avx512_bf16"} & (cpu_flags() or set()))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


USERS = (1, 4, 16)
QUESTIONS_PER_USER = 4


def bench_users(url: str, questions: list[str], users: int) -> list[float]:
    """Seconds per question while `users` clients ask at once, each its own questions."""
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client

    clients = [Client(url, verbose=False) for _ in range(users)]

    def run(user: int) -> list[float]:
        seconds = []
        for q in questions[user * QUESTIONS_PER_USER: (user + 1) * QUESTIONS_PER_USER]:
            started = time.perf_counter()
            clients[user].predict(q, api_name="/ask")
            seconds.append(time.perf_counter() - started)
        return seconds

    with ThreadPoolExecutor(users) as pool:
        return [s for per_user in pool.map(run, range(users)) for s in per_user]


def bench_chat(index_dir: Path, corpus: Path, questions: list[str], repeat: int) -> dict:
    starts, ready, rss = [], [], []
    latencies: dict[int, list[tuple[float, float]]] = {n: [] for n in USERS}
    for _ in range(repeat):
        port = _free_port()
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "qa", "chat", "--index", str(index_dir), "--corpus",
                                    str(corpus), "--port", str(port)], cwd=ROOT, env=ENV,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as response:
                        if response.status == 200:
                            break
                except OSError:
                    time.sleep(0.05)
            starts.append(time.perf_counter() - started)
            from gradio_client import Client

            ready.append(_reader_ready(f"http://127.0.0.1:{port}/", started))
            client = Client(f"http://127.0.0.1:{port}/", verbose=False)
            for q in questions[:20]:
                client.predict(q, api_name="/ask")
            offset = 20
            for users in USERS:  # new questions each time: no query-vector cache hits
                seconds = bench_users(f"http://127.0.0.1:{port}/", questions[offset:], users)
                offset += users * QUESTIONS_PER_USER
                latencies[users].append((percentile(seconds, 0.5), percentile(seconds, 0.95)))
            rss.append(_peak_rss_mb(process.pid))
        finally:
            process.terminate()
            process.wait()
    result = {"cold_start_to_200_s": statistics.median(starts), "chat_peak_rss_mb": statistics.median(rss),
              "reader_ready_s": statistics.median(ready)}
    for users, runs in latencies.items():
        result[f"users_{users}_p50_ms"] = 1000 * statistics.median(p50 for p50, _ in runs)
        result[f"users_{users}_p95_ms"] = 1000 * statistics.median(p95 for _, p95 in runs)
    return result


def _reader_ready(url: str, started: float, seconds: float = 300) -> float:
    """Seconds from launch until the chat's reader has loaded in the background (the users' lines
    below are measured with it)."""
    while time.perf_counter() - started < seconds:
        with urllib.request.urlopen(url + "v1/models", timeout=5) as response:
            if json.loads(response.read())["data"][0].get("reader") != "loading":
                return time.perf_counter() - started
        time.sleep(0.2)
    raise RuntimeError(f"the reader did not load within {seconds} s")


def bench_build_rss(corpus: Path, workdir: Path, repeat: int) -> dict:
    peaks = []
    for n in range(repeat):
        process = subprocess.Popen([sys.executable, "-m", "qa", "build", "--corpus", str(corpus), "--index",
                                    str(workdir / f"rss-{n}"), "--json"], cwd=ROOT, env=ENV,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, _, usage = os.wait4(process.pid, 0)
        peaks.append(usage.ru_maxrss / 1024)
    return {"build_peak_rss_mb": statistics.median(peaks)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=100, help="CMRC passages to build (all: 848)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results.json")
    parser.add_argument("--feed-items", type=int, default=40, help="real news articles served as one feed")
    args = parser.parse_args()
    dataset = load_squad(CMRC)
    articles = dataset.articles[: args.passages]
    chosen = {a.id for a in articles}
    questions = [q.question for q in dataset.questions if q.gold in chosen][: args.questions]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        corpus = workdir / "corpus"
        corpus.mkdir()
        (corpus / "cmrc.jsonl").write_text("\n".join(json.dumps({"title": a.title, "text": a.text}, ensure_ascii=False)
                                                     for a in articles), encoding="utf-8")
        results = {"machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                               "platform": platform.platform()}, "repeat": args.repeat}
        results["build"] = bench_build(articles, workdir, args.repeat)
        results["query"] = bench_queries(workdir / "index", questions, args.repeat)
        results["memory"] = bench_build_rss(corpus, workdir, args.repeat)
        subprocess.run([sys.executable, "-m", "qa", "build", "--corpus", str(corpus), "--index",
                        str(workdir / "chat-index"), "--json"], cwd=ROOT, env=ENV, check=True, capture_output=True)
        results["chat"] = bench_chat(workdir / "chat-index", corpus, questions, args.repeat)
        results["feed"] = bench_feed(workdir, args.feed_items)
        results["ocr"] = ocr_measure(SEED_FILE, workdir / "ocr")
    args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(table(results))
    print("\n" + ocr_table(results["ocr"]))
    print(f"\nwrote {args.json}")


def table(results: dict) -> str:
    b, q, c, m = results["build"], results["query"], results["chat"], results["memory"]
    rows = [
        ("machine", f"{results['machine']['cores']} cores, Python {results['machine']['python']}", "", ""),
        ("full build", f"{b['full_build_s']:.1f} s ({b['chunks']} chunks, {b['passages']} passages)",
         f"bare embedder {b['bare_embed_s']:.1f} s", f"{b['build_vs_bare']:.2f}× (goal ≥ 0.9)"),
        ("build throughput", f"{b['build_chunks_per_s']:.1f} chunks/s, {b['build_chars_per_s']:.0f} chars/s",
         f"{b['bare_chunks_per_s']:.1f} chunks/s", ""),
        ("text embedded: chunks + sentences", f"{b['chars']} chars ({b['sentences']} sentences)",
         f"chunks only {b['chunk_chars']} chars, {b['bare_chunks_only_s']:.1f} s",
         f"{b['embedded_vs_chunks_only']:.2f}× the text, {b['full_build_vs_chunks_only']:.2f}× the time"),
        ("unchanged rebuild", f"{b['unchanged_rebuild_s']:.2f} s", "full build", f"{b['unchanged_vs_full']:.1%}"),
        ("one passage changed", f"{b['one_changed_rebuild_s']:.2f} s", "full build",
         f"{b['one_changed_vs_full']:.1%} (goal ≤ 2%)"),
        ("retrieval p50 / p95", f"{q['retrieve_p50_ms']:.1f} / {q['retrieve_p95_ms']:.1f} ms",
         f"query embedding {q['embed_p50_ms']:.1f} / {q['embed_p95_ms']:.1f} ms",
         f"{q['retrieve_vs_embed_p50']:.2f}× (goal ≤ 1.2)"),
        ("retrieval + answer p50 / p95", f"{q['retrieve_answer_p50_ms']:.1f} / {q['retrieve_answer_p95_ms']:.1f} ms",
         "query embedding", f"{q['answer_vs_embed_p50']:.2f}×"),
        *((("retrieval + reader (top hits, fp32, ONNX Runtime) p50 / p95",
            f"{q['retrieve_read_p50_ms']:.1f} / {q['retrieve_read_p95_ms']:.1f} ms",
            f"retrieval + sentence scorer {q['retrieve_answer_p50_ms']:.1f} ms",
            f"{q['retrieve_read_p50_ms'] / q['retrieve_answer_p50_ms']:.2f}× (goal ≤ 120 ms)"),
           ("retrieval + reader in torch (fp32) p50 / p95",
            f"{q['retrieve_read_torch_p50_ms']:.1f} / {q['retrieve_read_torch_p95_ms']:.1f} ms",
            "ONNX Runtime (served) " + f"{q['retrieve_read_p50_ms']:.1f} ms",
            f"{q['retrieve_read_torch_p50_ms'] / q['retrieve_read_p50_ms']:.2f}× ONNX Runtime's time"),
           ("retrieval + reader in torch, bf16 autocast p50 / p95",
            f"{q['retrieve_read_bf16_p50_ms']:.1f} / {q['retrieve_read_bf16_p95_ms']:.1f} ms "
            f"({q['bf16_questions']} questions)", "fp32 " + f"{q['retrieve_read_p50_ms']:.1f} ms",
            ("CPU has bf16" if q["cpu_bf16"] else "no AMX/AVX-512 BF16 here") + " (goal ≤ 70 ms with bf16)"),
           ("retrieval + reader in int8 arithmetic (QA_READER_ARITHMETIC=int8) p50 / p95",
            f"{q['retrieve_read_int8_p50_ms']:.1f} / {q['retrieve_read_int8_p95_ms']:.1f} ms",
            "fp32 " + f"{q['retrieve_read_p50_ms']:.1f} ms",
            f"{q['retrieve_read_p50_ms'] / q['retrieve_read_int8_p50_ms']:.2f}× faster"))
          if "retrieve_read_p50_ms" in q else ()),
        ("qa chat cold start → HTTP 200", f"{c['cold_start_to_200_s']:.1f} s",
         f"reader loaded in the background after {c['reader_ready_s']:.1f} s", "goal ≤ 5 s"),
        *((f"{n} user{'s' if n > 1 else ''} at once: /ask p50 / p95",
           f"{c[f'users_{n}_p50_ms']:.0f} / {c[f'users_{n}_p95_ms']:.0f} ms",
           f"1 user {c['users_1_p50_ms']:.0f} ms", f"{c[f'users_{n}_p50_ms'] / c['users_1_p50_ms']:.2f}×")
          for n in USERS),
        ("peak RSS: qa build / qa chat", f"{m['build_peak_rss_mb']:.0f} MB / {c['chat_peak_rss_mb']:.0f} MB", "", ""),
        *((("feed update: fetch + extract + embed",
            f"{f['feed_items_per_s']:.2f} items/s ({f['feed_items']} real articles, {f['feed_total_s']:.1f} s)",
            f"embedding alone {f['feed_embed_s']:.1f} s",
            f"{f['feed_outside_embedding_share']:.1%} outside embedding (goal ≤ 10%)"),) if (f := results.get("feed")) else ()),
        *((("OCR of seed screenshots", f"{o['screenshot']['characters_right']:.2%} characters right",
            f"{o['screenshot']['seconds_per_image']} s per image",
            f"60% JPEG: {o['small_JPEG']['characters_right']:.2%}"),) if (o := results.get("ocr")) else ()),
    ]
    widths = [max(len(str(r[i])) for r in rows) for i in range(4)]
    header = ("measure", "ours", "baseline (same run)", "ratio")
    widths = [max(w, len(h)) for w, h in zip(widths, header)]
    line = lambda r: "| " + " | ".join(str(v).ljust(w) for v, w in zip(r, widths)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


if __name__ == "__main__":
    main()
