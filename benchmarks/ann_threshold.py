"""Where HNSW starts to pay: exact inner-product search vs HNSW at growing index sizes.

    python benchmarks/ann_threshold.py [--sizes 10000,50000,100000,200000]

One thread each (as the chat runs), 384-dim unit vectors (e5-small), 200 queries. Prints
per-query median latency, HNSW's recall@10 against the exact search, and HNSW's build time.
"""

from __future__ import annotations

import argparse
import statistics
import time

import faiss
import numpy as np

DIM, QUERIES, K = 384, 200, 10


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def per_query_ms(index, queries: np.ndarray) -> float:
    times = []
    for query in queries:
        started = time.perf_counter()
        index.search(query[None, :], K)
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,50000,100000,200000")
    args = parser.parse_args()
    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(0)
    print("| vectors | exact ms/query | HNSW ms/query | HNSW recall@10 | HNSW build s |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for size in (int(s) for s in args.sizes.split(",")):
        # Clustered data, closer to real embeddings than uniform noise.
        centres = unit(rng.normal(size=(max(10, size // 200), DIM)))
        vectors = unit(centres[rng.integers(0, len(centres), size)] + 0.35 * rng.normal(size=(size, DIM)))
        queries = unit(vectors[rng.integers(0, size, QUERIES)] + 0.2 * rng.normal(size=(QUERIES, DIM)))
        flat = faiss.IndexFlatIP(DIM)
        flat.add(vectors)
        started = time.perf_counter()
        hnsw = faiss.IndexHNSWFlat(DIM, 32, faiss.METRIC_INNER_PRODUCT)
        hnsw.add(vectors)
        build_s = time.perf_counter() - started
        hnsw.hnsw.efSearch = 128
        _, truth = flat.search(queries, K)
        _, found = hnsw.search(queries, K)
        recall = np.mean([len(set(t) & set(f)) / K for t, f in zip(truth, found)])
        print(f"| {size:,} | {per_query_ms(flat, queries):.2f} | {per_query_ms(hnsw, queries):.2f} | "
              f"{recall:.3f} | {build_s:.1f} |")


if __name__ == "__main__":
    main()
