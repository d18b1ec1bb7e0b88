"""Which approximate nearest-neighbour library the embedded store uses, by measurement.

    python bench/ann_choice.py [--n 100000] [--queries 500]

Candidates: well-kept PyPI packages with CPU wheels for Python 3.11 x86_64 —
``usearch`` (HNSW; f32 and int8-quantized) and ``faiss-cpu`` (HNSW-Flat and
IVF-Flat). ``hnswlib`` publishes no wheels (source build only: not a candidate);
``sqlite-vec`` is an exact scan, not an ANN index. faiss is not a project
dependency: install it beside the bench (``pip install --target DIR faiss-cpu`` and
``PYTHONPATH=DIR``); a missing library is reported and skipped.

On MiniLM-like clustered unit 384-d vectors (``bench/_clustered.py``): build time
(all cores), index bytes, RSS growth, and per single query (one thread, k = 10):
recall@10 against the exact top 10 and P50/P95 latency, at several search widths.
The exact numpy scan is the baseline. Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _clustered import clustered, exact_top, points, recall
from _results import table, write_section

K = 10


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def timed_queries(
    search: Callable[[np.ndarray], np.ndarray], queries: np.ndarray
) -> tuple[list[np.ndarray], float, float]:
    found, times = [], []
    for q in queries:
        t0 = time.perf_counter()
        found.append(np.asarray(search(q)))
        times.append(time.perf_counter() - t0)
    ms = np.array(times) * 1000
    return found, float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


def file_bytes(save: Callable[[str], None]) -> int:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "index")
        save(path)
        return os.path.getsize(path)


def bench_usearch(matrix: np.ndarray, queries: np.ndarray, truth: np.ndarray, dtype: str):
    from usearch.index import Index

    rows: list[list[Any]] = []
    gc.collect()
    before = rss_mb()
    t0 = time.perf_counter()
    index = Index(
        ndim=matrix.shape[1], metric="ip", dtype=dtype, connectivity=16, expansion_add=128
    )
    index.add(np.arange(len(matrix), dtype=np.uint64), matrix, threads=os.cpu_count() or 1)
    build = time.perf_counter() - t0
    grown = rss_mb() - before
    size = file_bytes(index.save)
    for ef in (32, 64, 128):
        index.expansion_search = ef

        def search(q: np.ndarray) -> np.ndarray:
            return index.search(q, K, threads=1).keys

        found, p50, p95 = timed_queries(search, queries)
        rows.append(
            [
                f"usearch {dtype} M=16",
                f"ef={ef}",
                recall(found, truth),
                p50,
                p95,
                build,
                size / 2**20,
                grown,
            ]
        )
    return rows


def bench_faiss(matrix: np.ndarray, queries: np.ndarray, truth: np.ndarray):
    import faiss

    rows: list[list[Any]] = []
    gc.collect()
    before = rss_mb()
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    t0 = time.perf_counter()
    index = faiss.IndexHNSWFlat(matrix.shape[1], 16, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 128
    index.add(matrix)
    build = time.perf_counter() - t0
    grown = rss_mb() - before
    size = file_bytes(lambda p: faiss.write_index(index, p))
    faiss.omp_set_num_threads(1)
    for ef in (32, 64, 128):
        index.hnsw.efSearch = ef

        def search(q: np.ndarray) -> np.ndarray:
            return index.search(q[None, :], K)[1][0]

        found, p50, p95 = timed_queries(search, queries)
        rows.append(
            [
                "faiss HNSWFlat M=16",
                f"ef={ef}",
                recall(found, truth),
                p50,
                p95,
                build,
                size / 2**20,
                grown,
            ]
        )
    index.reset()
    gc.collect()
    before = rss_mb()
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    nlist = int(4 * np.sqrt(len(matrix)))
    t0 = time.perf_counter()
    quantizer = faiss.IndexFlatIP(matrix.shape[1])
    ivf = faiss.IndexIVFFlat(quantizer, matrix.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.train(matrix[:: max(1, len(matrix) // (nlist * 40))])
    ivf.add(matrix)
    build = time.perf_counter() - t0
    grown = rss_mb() - before
    size = file_bytes(lambda p: faiss.write_index(ivf, p))
    faiss.omp_set_num_threads(1)
    for nprobe in (8, 32):
        ivf.nprobe = nprobe

        def search_ivf(q: np.ndarray) -> np.ndarray:
            return ivf.search(q[None, :], K)[1][0]

        found, p50, p95 = timed_queries(search_ivf, queries)
        rows.append(
            [
                f"faiss IVFFlat nlist={nlist}",
                f"nprobe={nprobe}",
                recall(found, truth),
                p50,
                p95,
                build,
                size / 2**20,
                grown,
            ]
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args()

    matrix, centres = clustered(args.n)
    queries = points(args.queries, centres, seed=99)
    truth = exact_top(matrix, queries, K)
    print(f"{args.n} clustered 384-d vectors, {args.queries} queries, k={K}")

    def exact(q: np.ndarray) -> np.ndarray:
        scores = np.einsum("ij,j->i", matrix, q)
        part = np.argpartition(-scores, K)[:K]
        return part[np.argsort(-scores[part])]

    found, p50, p95 = timed_queries(exact, queries)
    rows: list[list[Any]] = [
        ["exact numpy scan", "-", recall(found, truth), p50, p95, 0.0, matrix.nbytes / 2**20, 0.0]
    ]
    for name, run in (
        (
            "usearch",
            lambda: (
                bench_usearch(matrix, queries, truth, "f32")
                + bench_usearch(matrix, queries, truth, "i8")
            ),
        ),
        ("faiss", lambda: bench_faiss(matrix, queries, truth)),
    ):
        try:
            rows += run()
        except ImportError as exc:
            print(f"skipped {name}: {exc}")
        for row in rows[-1:]:
            print(row)
    headers = [
        "index",
        "search",
        "recall@10",
        "P50 ms",
        "P95 ms",
        "build s",
        "index MiB",
        "RSS +MiB",
    ]
    body = table(headers, rows)
    print(body)
    if not args.no_write:
        load = os.getloadavg()[0]
        write_section(
            f"ann_choice_{args.n}",
            f"ANN library choice at {args.n:,} clustered 384-d vectors",
            f"{args.queries} single queries, k = {K}, one query thread; build on all "
            f"cores; load average at the end {load:.1f}.\n\n{body}\n",
        )


if __name__ == "__main__":
    main()
