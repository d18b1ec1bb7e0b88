"""The SQLite store's vector search with and without its ANN index, at one size.

    python bench/ann_store.py [--chunks 100000] [--queries 200] [--k 10]

Builds (cached under bench/_work/) a store of ``--chunks`` chunks with MiniLM-like
clustered 384-d vectors (``bench/_clustered.py``) and short SciFact-sentence texts
(one sentence each, 100 chunks per document, so the build stays quick), then, in this process:

- the index build from the store (first large search), and the index load on reopen;
- dense search P50/P95 (k = ``--k``, ``candidates``-style k = 50 too) exact vs ANN,
  recall@k of ANN against the exact scan;
- hybrid (keyword + dense legs, as the retriever runs them with 50 candidates each)
  P50/P95 exact vs ANN;
- peak RSS (VmHWM) of the process.

Query embedding is excluded (query vectors are drawn like the corpus). Nothing is
asserted.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _clustered import clustered, points
from _results import DATASETS, WORK, table, write_section

from ragline.store import SQLiteStore
from ragline.types import Chunk, Document

PER_DOC = 100
TENANT = "default"


def sentences() -> list[str]:
    path = DATASETS / "beir_scifact" / "corpus.jsonl.gz"
    if not path.exists():
        rng = random.Random(0)
        words = [
            "cell",
            "protein",
            "gene",
            "patient",
            "clinical",
            "study",
            "risk",
            "cancer",
            "treatment",
        ]
        return [" ".join(rng.choices(words, k=20)) for _ in range(5000)]
    out: list[str] = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            text = json.loads(line)["text"]
            out += [s for s in re.split(r"(?<=[.!?])\s+", text) if len(s) > 40]
    return out


def build(db: Path, n: int) -> tuple[float, np.ndarray]:
    matrix, centres = clustered(n)
    pool = sentences()
    rng = random.Random(1)
    t0 = time.perf_counter()
    with SQLiteStore(db, ann_threshold=0) as store:
        for d in range(n // PER_DOC):
            doc_id = f"doc{d:06d}"
            doc = Document(
                id=doc_id,
                source=doc_id,
                title=doc_id,
                content_hash=doc_id,
                embedder="clustered-384",
            )
            chunks = [
                Chunk(
                    id=f"{doc_id}#{i}",
                    document_id=doc_id,
                    ordinal=i,
                    text=rng.choice(pool),
                    title=doc_id,
                    content_hash=f"{doc_id}#{i}",
                )
                for i in range(PER_DOC)
            ]
            store.upsert_document(doc, chunks, matrix[d * PER_DOC : (d + 1) * PER_DOC])
    np.save(str(db) + ".centres.npy", centres)
    return time.perf_counter() - t0, centres


def peak_rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def pcts(times: list[float]) -> tuple[float, float]:
    ms = np.array(times) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chunks", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--rebuild", action="store_true")
    args = ap.parse_args()

    WORK.mkdir(exist_ok=True)
    db = WORK / f"ann_store_{args.chunks}.db"
    if args.rebuild or not db.exists():
        for p in WORK.glob(f"ann_store_{args.chunks}.db*"):
            shutil.rmtree(p) if p.is_dir() else p.unlink()
        secs, centres = build(db, args.chunks)
        print(f"stored {args.chunks} chunks in {secs:.0f}s")
    centres = np.load(str(db) + ".centres.npy")
    shutil.rmtree(str(db) + ".ann", ignore_errors=True)
    queries = points(args.queries, centres, seed=77)
    words = sentences()
    texts = [" ".join(random.Random(i).choice(words).split()[:8]) for i in range(args.queries)]

    exact = SQLiteStore(db, ann_threshold=0)
    ann = SQLiteStore(db, ann_threshold=1)
    exact.vector_search(TENANT, queries[0], k=1)  # snapshot loaded: not timed
    t0 = time.perf_counter()
    ann.vector_search(TENANT, queries[0], k=1)
    built = time.perf_counter() - t0
    ann.close()
    ann = SQLiteStore(db, ann_threshold=1)
    t0 = time.perf_counter()
    ann.vector_search(TENANT, queries[0], k=1)
    loaded = time.perf_counter() - t0
    for s in (exact, ann):
        s.keyword_search(TENANT, texts[0], k=50)

    rows: list[list[object]] = []
    for k in (args.k, 50):
        times: dict[str, list[float]] = {"exact": [], "ann": []}
        hybrid: dict[str, list[float]] = {"exact": [], "ann": []}
        found = 0
        for q, text in zip(queries, texts, strict=True):
            got: dict[str, set[str]] = {}
            for name, store in (("exact", exact), ("ann", ann)):
                t0 = time.perf_counter()
                hits = store.vector_search(TENANT, q, k=k)
                times[name].append(time.perf_counter() - t0)
                got[name] = {h.chunk.id for h in hits}
                t0 = time.perf_counter()
                store.keyword_search(TENANT, text, k=50)
                store.vector_search(TENANT, q, k=50)
                hybrid[name].append(time.perf_counter() - t0)
            found += len(got["exact"] & got["ann"])
        r = found / (k * len(queries))
        for name in ("exact", "ann"):
            rows.append([f"dense k={k}", name, *pcts(times[name]), r if name == "ann" else 1.0])
        for name in ("exact", "ann"):
            rows.append([f"hybrid legs (50+50), k={k} run", name, *pcts(hybrid[name]), "-"])
    exact.close()
    ann.close()
    body = table(["search", "plan", "P50 ms", "P95 ms", "recall vs exact"], rows)
    notes = (
        f"{args.chunks:,} chunks, {args.queries} queries, one thread; ANN index build "
        f"{built:.1f} s (from the store, all cores), load on reopen {loaded:.2f} s; "
        f"peak RSS {peak_rss_mb():.0f} MiB (both stores open: two snapshots); load "
        f"average at the end {os.getloadavg()[0]:.1f}."
    )
    print(notes)
    print(body)
    write_section(
        f"ann_store_{args.chunks}",
        f"SQLite vector search, exact vs ANN, at {args.chunks:,} chunks",
        f"{notes}\n\n{body}\n",
    )


if __name__ == "__main__":
    main()
