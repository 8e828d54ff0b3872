"""Where HNSW starts to pay: exact inner-product search vs HNSW as the index grows.

    python benchmarks/ann_threshold.py [--indexes '.cache/eval/*'] [--sizes 5000,10000,20000,50000,100000]

One thread (as the chat runs). Vectors: real e5-small chunk vectors from built indexes (e.g. the
`qa eval` caches), with jittered copies of them beyond their count; queries: 200 CMRC 2018
questions embedded by e5-small. Prints per-query median latency, the recall@10 against the
exact search and the build time of HNSW over full vectors and over 8-bit ones (what a segment
above the threshold uses, qa/index/stores/segment.py).
"""

from __future__ import annotations

import argparse
import glob
import json
import statistics
import sys
import time
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qa.index.stores import Location  # noqa: E402
from qa.index.stores.segment import HNSW_EF_SEARCH, HNSW_NEIGHBOURS  # noqa: E402

K, QUERIES = 10, 200
CMRC = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "cmrc2018" / "dev.json"


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def per_query_ms(index, queries: np.ndarray) -> float:
    times = []
    for query in queries:
        started = time.perf_counter()
        index.search(query[None, :], K)
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def chunk_vectors(directory: Path) -> np.ndarray:
    """Every chunk vector of the store at `directory`."""
    store = Location(directory).open()
    return store.chunk_vectors([int(k) for segment in store.segments for k in segment.keys])


def question_vectors() -> np.ndarray:
    from qa.index.embedding import make_embedder

    data = json.loads(CMRC.read_text(encoding="utf-8"))["data"]
    questions = [qa["question"] for entry in data for p in entry["paragraphs"] for qa in p["qas"]][::15][:QUERIES]
    return make_embedder("e5-small").encode_queries(questions)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--indexes", default=".cache/eval/*")
    parser.add_argument("--sizes", default="5000,10000,20000,50000,100000")
    args = parser.parse_args()
    real = unit(np.concatenate([chunk_vectors(Path(p)) for p in sorted(glob.glob(args.indexes))
                                if Location(Path(p)).manifest() is not None]))
    queries = question_vectors()
    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(0)
    print(f"{len(real):,} real vectors; beyond that, jittered copies\n")
    print("| vectors | exact ms/query | HNSW ms/query | HNSW recall@10 | HNSW build s "
          "| HNSW 8-bit ms/query | HNSW 8-bit recall@10 | HNSW 8-bit build s |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for size in (int(s) for s in args.sizes.split(",")):
        picks = rng.integers(0, len(real), max(0, size - len(real)))
        extra = unit(real[picks] + 0.02 * rng.normal(size=(len(picks), real.shape[1])))
        vectors = np.concatenate([real[:size], extra])
        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(vectors)
        _, truth = flat.search(queries, K)
        cells = [f"{size:,}", f"{per_query_ms(flat, queries):.2f}"]
        for make in (lambda d: faiss.IndexHNSWFlat(d, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT),
                     lambda d: faiss.IndexHNSWSQ(d, faiss.ScalarQuantizer.QT_8bit, HNSW_NEIGHBOURS,
                                                 faiss.METRIC_INNER_PRODUCT)):
            started = time.perf_counter()
            hnsw = make(vectors.shape[1])
            hnsw.train(vectors)
            hnsw.add(vectors)
            build_s = time.perf_counter() - started
            hnsw.hnsw.efSearch = HNSW_EF_SEARCH
            _, found = hnsw.search(queries, K)
            recall = np.mean([len(set(t) & set(f)) / K for t, f in zip(truth, found)])
            cells += [f"{per_query_ms(hnsw, queries):.2f}", f"{recall:.3f}", f"{build_s:.1f}"]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
