"""Store search latency at 100k chunks (SQLiteStore; MemoryStore optional).

    python bench/store_latency.py [--chunks 100000] [--queries 200] [--rebuild]

Builds (once, cached under bench/_work/) a synthetic SQLite store: chunk texts of
~800 characters made of random SciFact sentences (word-realistic term statistics),
10 chunks per document, random metadata (doc_type of 5 values, year 2000-2024, a
rare tag on ~1% of documents) and random unit 384-dim float32 vectors. Then runs
SciFact queries (random unit vectors for the dense side) and prints P50/P95 in ms
for keyword, vector, both together, and both with filters, as wall-clock time and as
process CPU time (the machine is shared, so wall time moves with other load; with
``OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1`` CPU time approximates an idle core).
Query embedding is excluded. Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ragline.store import SQLiteStore, parse_filter
from ragline.types import Chunk, Document

ROOT = Path(__file__).resolve().parent
DATASETS = Path(os.environ.get("RAGLINE_DATASETS", ROOT.parents[1] / "shared" / "datasets"))
SCIFACT = DATASETS / "beir_scifact"
DIM = 384
CHUNKS_PER_DOC = 10
DOC_TYPES = ["finance", "legal", "faq", "manual", "report"]

FALLBACK_WORDS = [
    "cell",
    "protein",
    "gene",
    "expression",
    "patient",
    "clinical",
    "study",
    "risk",
    "cancer",
    "treatment",
    "effect",
    "increase",
    "mouse",
    "model",
    "receptor",
    "signal",
    "pathway",
    "level",
    "analysis",
    "response",
    "tissue",
    "blood",
]


def sentences() -> list[str]:
    path = SCIFACT / "corpus.jsonl.gz"
    if not path.exists():
        rng = random.Random(0)
        return [" ".join(rng.choices(FALLBACK_WORDS, k=15)) + "." for _ in range(20_000)]
    out: list[str] = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            out += [s.strip() for s in re.split(r"(?<=[.!?])\s+", rec["text"]) if len(s) > 30]
    return out


def queries(n: int) -> list[str]:
    path = SCIFACT / "queries.jsonl"
    if not path.exists():
        rng = random.Random(1)
        return [" ".join(rng.choices(FALLBACK_WORDS, k=6)) for _ in range(n)]
    with open(path, encoding="utf-8") as f:
        qs = [json.loads(line)["text"] for line in f]
    return random.Random(1).sample(qs, min(n, len(qs)))


def build(path: Path, n_chunks: int) -> float:
    pool = sentences()
    rng = random.Random(42)
    nrng = np.random.default_rng(42)
    t0 = time.perf_counter()
    store = SQLiteStore(path)
    for d in range(n_chunks // CHUNKS_PER_DOC):
        doc_id = f"doc{d:06d}"
        meta = {"year": rng.randint(2000, 2024)}
        if rng.random() < 0.01:
            meta["tag"] = "rare"
        doc_type = rng.choice(DOC_TYPES)
        title = rng.choice(pool)[:80]
        doc = Document(
            id=doc_id,
            source=f"{doc_id}.txt",
            title=title,
            content_hash=doc_id,
            doc_type=doc_type,
            language="en",
            metadata=meta,
            embedder="random-384",
        )
        chunks = []
        for i in range(CHUNKS_PER_DOC):
            text = ""
            while len(text) < 800:
                text += rng.choice(pool) + " "
            chunks.append(
                Chunk(
                    id=f"{doc_id}#{i}",
                    document_id=doc_id,
                    ordinal=i,
                    text=text.strip(),
                    title=title,
                    language="en",
                    doc_type=doc_type,
                    source=doc.source,
                    content_hash=f"{doc_id}#{i}",
                    metadata=meta,
                )
            )
        vecs = nrng.standard_normal((CHUNKS_PER_DOC, DIM)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        store.upsert_document(doc, chunks, vecs)
    store.close()
    return time.perf_counter() - t0


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(np.array(values) * 1000.0, p))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chunks", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--k", type=int, default=50)
    ap.add_argument("--rebuild", action="store_true")
    args = ap.parse_args()

    work = ROOT / "_work"
    work.mkdir(exist_ok=True)
    path = work / f"store_latency_{args.chunks}.db"
    if args.rebuild or not path.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        secs = build(path, args.chunks)
        print(f"built {args.chunks} chunks in {secs:.1f}s ({args.chunks / secs:.0f} chunks/s)")

    load0 = os.getloadavg()[0]
    store = SQLiteStore(path)
    qs = queries(args.queries)
    rng = np.random.default_rng(7)
    vecs = rng.standard_normal((len(qs), DIM)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)

    t0 = time.perf_counter()
    store.vector_search("default", vecs[0], k=args.k)
    cold_vec = time.perf_counter() - t0
    t0 = time.perf_counter()
    store.keyword_search("default", qs[0], k=args.k, filters=[parse_filter("year>=2020")])
    cold_filter = time.perf_counter() - t0

    filt_common = [parse_filter("doc_type=finance"), parse_filter("year>=2020")]
    filt_rare = [parse_filter("tag=rare")]
    cases: list[tuple[str, str, list[Any]]] = [
        ("keyword", "kw", []),
        ("vector", "vec", []),
        ("keyword+filter (~8%)", "kw", filt_common),
        ("vector+filter (~8%)", "vec", filt_common),
        ("keyword+filter (~1%)", "kw", filt_rare),
        ("vector+filter (~1%)", "vec", filt_rare),
    ]
    wall: dict[str, list[float]] = {name: [] for name, _, _ in cases}
    cpu: dict[str, list[float]] = {name: [] for name, _, _ in cases}
    wall["keyword+vector"], cpu["keyword+vector"] = [], []
    hits = 0
    for q, v in zip(qs, vecs, strict=True):
        for name, kind, filters in cases:
            w0, c0 = time.perf_counter(), time.process_time()
            if kind == "kw":
                hits += len(store.keyword_search("default", q, k=args.k, filters=filters))
            else:
                store.vector_search("default", v, k=args.k, filters=filters)
            wall[name].append(time.perf_counter() - w0)
            cpu[name].append(time.process_time() - c0)
        wall["keyword+vector"].append(wall["keyword"][-1] + wall["vector"][-1])
        cpu["keyword+vector"].append(cpu["keyword"][-1] + cpu["vector"][-1])
    store.close()

    print(
        f"SQLiteStore, {args.chunks} chunks x {DIM}-dim, k={args.k}, {len(qs)} queries, "
        f"{os.cpu_count()} CPUs, load avg before/after {load0:.2f}/{os.getloadavg()[0]:.2f}"
    )
    print(f"cold first vector search (loads matrix): {cold_vec * 1000:.0f} ms")
    print(f"cold first filtered keyword search (loads BM25 index): {cold_filter * 1000:.0f} ms")
    print(f"mean keyword hits per query: {hits / len(qs) / 3:.1f}")
    print("wall = elapsed time; cpu = process CPU time (all threads; less sensitive to load)")
    print(f"{'case':<24}{'wall P50':>10}{'wall P95':>10}{'cpu P50':>10}{'cpu P95':>10}")
    for name in wall:
        w, c = wall[name], cpu[name]
        cols = [pct(w, 50), pct(w, 95), pct(c, 50), pct(c, 95)]
        print(f"{name:<24}" + "".join(f"{x:>10.2f}" for x in cols))


if __name__ == "__main__":
    sys.exit(main())
