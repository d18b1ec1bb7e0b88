"""PostgreSQL store vs SQLite: SciFact quality, latency at 100k chunks, throughput.

    python bench/postgres_store.py [--chunks 20000] [--queries 200] [--seconds 20]

Starts a throwaway PostgreSQL + pgvector (the ``pgserver`` wheel's binaries, see
``ragline.store._pg_server``) and:

1. **Quality.** Copies the already-embedded SciFact store that ``bench/beir_scifact.py``
   built (``bench/_work/scifact-full-minilm/ragline.db``: 5,183 documents, MiniLM
   vectors) into PostgreSQL through ``PostgresStore.upsert_document`` and runs the 300
   test queries through ``ragline.Project`` on both stores: nDCG@10 and recall@100
   for keyword, dense and hybrid (RRF) retrieval.
2. **Ingest throughput.** Copies the synthetic store of ``bench/store_latency.py``
   (``bench/_work/store_latency_100000.db``: 10 chunks of ~800 characters per
   document, random unit 384-dim vectors, year/doc_type metadata) document by
   document into PostgreSQL: chunks/s with the HNSW and GIN indexes maintained.
3. **Query latency** at that size: P50/P95 of keyword, vector and filtered searches
   (k=50), one client.
4. **Read throughput** with 8 client threads sharing one store (pool of 8): keyword
   and vector searches alternating, queries/s.

The server runs on this machine with the client (they share the CPUs).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _results import WORK, table, write_section

import ragline
from ragline.store import PostgresStore, SQLiteStore, parse_filter
from ragline.store._pg_server import TempPostgres
from ragline.types import Chunk


def copy_store(
    src_path: Path, dst: PostgresStore, limit_chunks: int | None = None
) -> tuple[int, float]:
    """Copy a SQLite store into ``dst`` one document per upsert; (chunks, seconds)."""
    src = SQLiteStore(src_path)
    conn = sqlite3.connect(src_path)
    per_doc: dict[tuple[str, str], list[str]] = {}
    for tenant, doc_id, chunk_id in conn.execute(
        "SELECT tenant, document_id, id FROM chunks ORDER BY tenant, document_id, ordinal"
    ):
        per_doc.setdefault((tenant, doc_id), []).append(chunk_id)
    docs = conn.execute("SELECT tenant, id FROM documents ORDER BY tenant, id").fetchall()
    conn.close()
    copied = 0
    spent = 0.0
    for i, (tenant, doc_id) in enumerate(docs):
        doc = src.get_document(tenant, doc_id)
        assert doc is not None
        ids = per_doc.get((tenant, doc_id), [])
        chunks: list[Chunk] = src.get_chunks(tenant, ids)
        vecs = src.get_embeddings(tenant, ids) if ids else np.zeros((0, 384), np.float32)
        t0 = time.perf_counter()
        dst.upsert_document(doc, chunks, vecs)
        spent += time.perf_counter() - t0
        copied += len(chunks)
        if i % 1000 == 0:
            print(f"  copied {i}/{len(docs)} documents, {copied} chunks", flush=True)
        if limit_chunks is not None and copied >= limit_chunks:
            break
    src.close()
    return copied, spent


def quality(pg: TempPostgres) -> str:
    from beir_scifact import load, run

    sqlite_dir = WORK / "scifact-full-minilm"
    if not (sqlite_dir / "ragline.db").exists():
        return "SciFact store absent (run `python bench/beir_scifact.py` first): skipped."
    _, queries, qrels = load(False)
    url = pg.create_database("scifact")
    store = PostgresStore(url)
    n, secs = copy_store(sqlite_dir / "ragline.db", store)
    store.close()
    print(f"copied SciFact: {n} chunks in {secs:.1f}s")
    rows = []
    base = {"embedder": "minilm", "retrieval.candidates": 300, "retrieval.k": 300}
    cases = [
        ("keyword", "keyword", "bm25"),
        ("keyword, ts_rank_cd", "keyword", "ts_rank_cd"),
        ("dense", "dense", "bm25"),
        ("hybrid RRF", "hybrid", "bm25"),
    ]
    for label, mode, scoring in cases:
        row: list[Any] = [label]
        for kind in ("sqlite", "postgresql"):
            if kind == "sqlite" and scoring != "bm25":
                row += ["—", "—", "—"]
                continue
            injected = PostgresStore(url, keyword_scoring=scoring) if kind != "sqlite" else None
            overrides = {**base, "store": "sqlite:///ragline.db"}
            with ragline.Project(sqlite_dir, overrides=overrides, store=injected) as p:
                t = time.perf_counter()
                nd, rc = run(p, queries, qrels, mode, 300)
                ms = (time.perf_counter() - t) * 1000 / len(queries)
            print(f"{label:20s} {kind:10s} nDCG@10 {nd:.3f} R@100 {rc:.3f} {ms:.0f} ms/q")
            row += [nd, rc, f"{ms:.0f}"]
        rows.append(row)
    return table(
        [
            "retrieval (k=300)",
            "SQLite nDCG@10",
            "SQLite R@100",
            "SQLite ms/q",
            "PostgreSQL nDCG@10",
            "PostgreSQL R@100",
            "PostgreSQL ms/q",
        ],
        rows,
    )


def exact_ids(conn: Any, v: Any, dim: int) -> list[str]:
    conn.execute("SET LOCAL enable_indexscan = off")
    rows = conn.execute(
        f"SELECT id FROM chunks WHERE tenant = 'default' ORDER BY "
        f"embedding::vector({dim}) <#> %s::vector({dim}) LIMIT 10",
        ("[" + ",".join(repr(float(x)) for x in v) + "]",),
    )
    return [r[0] for r in rows]


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(np.array(values) * 1000.0, p))


def latency(pg: TempPostgres, n_chunks: int, n_queries: int, seconds: float) -> str:
    from store_latency import DIM, queries

    src = WORK / "store_latency_100000.db"
    if not src.exists():
        return "Synthetic store absent (run `python bench/store_latency.py` first): skipped."
    url = pg.create_database("latency")
    store = PostgresStore(url, max_connections=8)
    copied, secs = copy_store(src, store, limit_chunks=n_chunks)
    ingest = copied / secs
    print(f"ingested {copied} chunks in {secs:.1f}s = {ingest:.0f} chunks/s")
    store.run(None, lambda c: c.execute("ANALYZE"))

    qs = queries(n_queries)
    rng = np.random.default_rng(7)
    vecs = rng.standard_normal((len(qs), DIM)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    common = [parse_filter("doc_type=finance"), parse_filter("year>=2020")]
    rare = [parse_filter("tag=rare")]
    cases: list[tuple[str, str, list[Any]]] = [
        ("keyword", "kw", []),
        ("vector (HNSW)", "vec", []),
        ("keyword+filter (~8%)", "kw", common),
        ("vector+filter (~8%, exact)", "vec", common),
        ("keyword+filter (~1%)", "kw", rare),
        ("vector+filter (~1%, exact)", "vec", rare),
    ]
    for _, kind, filters in cases:  # warm caches (filter values, plans)
        if kind == "kw":
            store.keyword_search("default", qs[0], k=50, filters=filters)
        else:
            store.vector_search("default", vecs[0], k=50, filters=filters)
    wall: dict[str, list[float]] = {name: [] for name, _, _ in cases}
    for q, v in zip(qs, vecs, strict=True):
        for name, kind, filters in cases:
            t0 = time.perf_counter()
            if kind == "kw":
                store.keyword_search("default", q, k=50, filters=filters)
            else:
                store.vector_search("default", v, k=50, filters=filters)
            wall[name].append(time.perf_counter() - t0)

    # Recall of the HNSW search against exact search, on 50 queries.
    exact_hits = 0
    found = 0
    for v in vecs[:50]:
        approx = {h.chunk.id for h in store.vector_search("default", v, k=10)}
        exact = store.run("default", lambda c, v=v: exact_ids(c, v, DIM))
        exact_hits += len(exact)
        found += len(approx & set(exact))
    hnsw_recall = found / max(1, exact_hits)

    # 8 concurrent clients.
    done = [0] * 8
    stop = time.monotonic() + seconds

    def client(i: int) -> None:
        j = i
        while time.monotonic() < stop:
            if j % 2:
                store.keyword_search("default", qs[j % len(qs)], k=10)
            else:
                store.vector_search("default", vecs[j % len(vecs)], k=10)
            done[i] += 1
            j += 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    qps = sum(done) / (time.perf_counter() - t0)
    one = [0]
    stop = time.monotonic() + seconds / 2
    t0 = time.perf_counter()
    j = 0
    while time.monotonic() < stop:
        if j % 2:
            store.keyword_search("default", qs[j % len(qs)], k=10)
        else:
            store.vector_search("default", vecs[j % len(vecs)], k=10)
        one[0] += 1
        j += 1
    qps1 = one[0] / (time.perf_counter() - t0)
    size = store.run(
        None,
        lambda c: c.execute(
            "SELECT pg_size_pretty(pg_database_size(current_database()))"
        ).fetchone()[0],
    )
    store.close()

    rows = [[name, pct(w, 50), pct(w, 95)] for name, w in wall.items()]
    return (
        f"{copied} chunks ({copied // 10} documents) × {DIM}-dim, k=50, {len(qs)} SciFact "
        f"queries (random unit vectors for the dense side); database size {size}.\n\n"
        f"- **Ingest**: {ingest:.0f} chunks/s ({secs:.0f} s for {copied} chunks; one "
        "process, one transaction per 10-chunk document, HNSW + GIN indexes maintained "
        "on insert).\n"
        f"- **Read throughput**: {qps:.0f} queries/s with 8 client threads vs {qps1:.0f} "
        "queries/s with one (k=10, keyword and vector alternating).\n"
        f"- **HNSW recall@10** vs exact scan: {hnsw_recall:.3f} (ef_search=100).\n\n"
        + table(["query (one client)", "P50 ms", "P95 ms"], rows)
    )


def main() -> None:
    import signal

    # SIGTERM unwinds like Ctrl-C, so the temporary server is stopped and removed.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chunks", type=int, default=20_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--skip-quality", action="store_true")
    args = ap.parse_args()
    load0 = os.getloadavg()[0]
    with TempPostgres() as pg:
        version = pg.admin_sql("SHOW server_version")[0][0]
        quality_md = "" if args.skip_quality else quality(pg)
        latency_md = latency(pg, args.chunks, args.queries, args.seconds)
    body = (
        f"PostgreSQL {version} with pgvector 0.6.2 (the `pgserver` wheel), on the same "
        f"2-core machine as the client; load average {load0:.2f} at start.\n\n"
    )
    if quality_md:
        body += "### SciFact (300 test queries, same MiniLM vectors in both stores)\n\n"
        body += quality_md + "\n\n"
    body += "### Latency and throughput\n\n" + latency_md + "\n"
    print(json.dumps({"done": True}))
    write_section("postgres-store", "PostgreSQL store — quality, latency, throughput", body)


if __name__ == "__main__":
    main()
