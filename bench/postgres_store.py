"""PostgreSQL store vs SQLite: SciFact quality, latency at 20k and 100k chunks, throughput.

    python bench/postgres_store.py [--sizes 20000,100000] [--queries 200] [--seconds 20]
                                   [--ingest-limit 900] [--skip-quality]

Starts a throwaway PostgreSQL + pgvector (the ``pgserver`` wheel's binaries, see
``ragline.testing._postgres``; shared_buffers raised to 512MB) and:

1. **Quality.** Copies the already-embedded SciFact store that ``bench/beir_scifact.py``
   built (``bench/_work/scifact-full-minilm/ragline.db``: 5,183 documents, MiniLM
   vectors) into PostgreSQL through ``PostgresStore.upsert_document`` and runs the 300
   test queries through ``ragline.Project`` on both stores: nDCG@10 and recall@100
   for keyword, dense and hybrid (RRF) retrieval.
2. **Ingest throughput.** Copies the synthetic store of ``bench/store_latency.py``
   (``bench/_work/store_latency_100000.db``: 10 chunks of ~800 characters per
   document, random unit 384-dim vectors, year/doc_type/tag metadata) document by
   document into PostgreSQL, growing one database to each size in ``--sizes``; the
   HNSW index is (re)built after each load, then ``VACUUM ANALYZE``. At the end, 1,000
   chunks are re-upserted with every index maintained (the incremental rate).
3. **Query latency** at each size: P50/P95 of keyword, vector, hybrid (both searches)
   and filtered searches (k=50), one client; keyword again with the ``@@``/``@>``
   operators *not* leakproof (so row-level security hides the GIN indexes).
4. **Read throughput** with 8 client threads sharing one store (pool of 8): keyword
   and vector searches alternating, queries/s.

Each load stops after ``--ingest-limit`` seconds. The server runs on this machine with
the client (they share the CPUs).
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
from ragline.store.postgres._search import SEARCH_OPERATOR_FUNCTIONS, enable_index_search
from ragline.testing._postgres import TempPostgres
from ragline.types import Chunk


def copy_store(
    src_path: Path,
    dst: PostgresStore,
    limit_chunks: int | None = None,
    *,
    skip_docs: int = 0,
    deadline: float | None = None,
) -> tuple[int, int, float]:
    """Copy a SQLite store into ``dst`` one document per upsert.

    Documents ``skip_docs`` onwards, until ``limit_chunks`` chunks (or ``deadline``,
    a ``time.monotonic()`` value); (documents, chunks, seconds in ``upsert_document``).
    """
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
    n_docs = 0
    spent = 0.0
    for i, (tenant, doc_id) in enumerate(docs[skip_docs:], start=skip_docs):
        doc = src.get_document(tenant, doc_id)
        assert doc is not None
        ids = per_doc.get((tenant, doc_id), [])
        chunks: list[Chunk] = src.get_chunks(tenant, ids)
        vecs = src.get_embeddings(tenant, ids) if ids else np.zeros((0, 384), np.float32)
        t0 = time.perf_counter()
        dst.upsert_document(doc, chunks, vecs)
        spent += time.perf_counter() - t0
        copied += len(chunks)
        n_docs += 1
        if i % 1000 == 0:
            print(f"  copied {i}/{len(docs)} documents, {copied} chunks", flush=True)
        if limit_chunks is not None and copied >= limit_chunks:
            break
        if deadline is not None and time.monotonic() > deadline:
            print("  ingest deadline reached", flush=True)
            break
    src.close()
    return n_docs, copied, spent


def quality(pg: TempPostgres) -> str:
    from beir_scifact import load, run

    sqlite_dir = WORK / "scifact-full-minilm"
    if not (sqlite_dir / "ragline.db").exists():
        return "SciFact store absent (run `python bench/beir_scifact.py` first): skipped."
    _, queries, qrels = load(False)
    url = pg.create_database("scifact")
    set_index_search(pg, "scifact", True)
    store = PostgresStore(url)
    _, n, secs = copy_store(sqlite_dir / "ragline.db", store)
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
    # HNSW recall on real vectors: the MiniLM query embeddings against the exact
    # (brute-force) SQLite search, at the retriever's default depth and at k=10.
    pg_store = PostgresStore(url)
    recall: dict[int, list[float]] = {10: [], 50: []}
    with ragline.Project(sqlite_dir, overrides={**base, "store": "sqlite:///ragline.db"}) as p:
        for text in queries.values():
            v = p.embedder.embed_query(text)
            for k, got in recall.items():
                exact = {h.chunk.id for h in p.store.vector_search("default", v, k=k)}
                approx = {h.chunk.id for h in pg_store.vector_search("default", v, k=k)}
                got.append(len(exact & approx) / max(1, len(exact)))
    pg_store.close()
    note = (
        f"\n\nHNSW recall vs exact search on these real vectors (the 300 MiniLM query "
        f"embeddings, ef_search=100): recall@10 {np.mean(recall[10]):.3f}, recall@50 "
        f"{np.mean(recall[50]):.3f}."
    )
    print(note.strip())
    return note_table(rows) + note


def note_table(rows: list[Any]) -> str:
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


def admin(pg: TempPostgres, database: str) -> Any:
    import psycopg

    from ragline.testing._postgres import ADMIN_PASSWORD

    return psycopg.connect(pg.url(pg.superuser, ADMIN_PASSWORD, database), autocommit=True)


def build_hnsw(pg: TempPostgres, database: str, dim: int) -> float:
    """(Re)build the store's HNSW index after a bulk load; seconds."""
    t0 = time.perf_counter()
    with admin(pg, database) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute(f"DROP INDEX IF EXISTS chunks_hnsw_{dim}")
        conn.execute(
            f"CREATE INDEX chunks_hnsw_{dim} ON chunks USING hnsw "
            f"((embedding::vector({dim})) vector_ip_ops) WHERE vector_dims(embedding) = {dim}"
        )
        conn.execute("VACUUM ANALYZE chunks")
    return time.perf_counter() - t0


def set_index_search(pg: TempPostgres, database: str, on: bool) -> None:
    with admin(pg, database) as conn:
        if on:
            enable_index_search(conn)
        else:
            for function in SEARCH_OPERATOR_FUNCTIONS:
                conn.execute(f"ALTER FUNCTION {function} NOT LEAKPROOF")


Case = tuple[str, str, list[Any]]


def run_cases(
    store: PostgresStore, cases: list[Case], qs: list[str], vecs: Any, k: int
) -> dict[str, list[float]]:
    """Wall time of each case on each query (one client)."""

    def one(kind: str, q: str, v: Any, filters: list[Any]) -> None:
        if kind in ("kw", "hybrid"):
            store.keyword_search("default", q, k=k, filters=filters)
        if kind in ("vec", "hybrid"):
            store.vector_search("default", v, k=k, filters=filters)

    for _, kind, filters in cases:  # warm caches (filter values, plans)
        one(kind, qs[0], vecs[0], filters)
    wall: dict[str, list[float]] = {name: [] for name, _, _ in cases}
    for q, v in zip(qs, vecs, strict=True):
        for name, kind, filters in cases:
            t0 = time.perf_counter()
            one(kind, q, v, filters)
            wall[name].append(time.perf_counter() - t0)
    return wall


def throughput(
    store: PostgresStore, qs: list[str], vecs: Any, clients: int, seconds: float
) -> float:
    """Queries/s with ``clients`` threads, keyword and vector alternating (k=10)."""
    done = [0] * clients
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
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.perf_counter() - t0)


def keyword_exactness(url: str, qs: list[str], k: int) -> tuple[float, float]:
    """Share of queries whose top ``k`` equals the unbounded exact BM25's; and P50 ms of it."""
    bounded = PostgresStore(url)
    unbounded = PostgresStore(url, keyword_max_rows=10**9)
    same = 0
    wall = []
    for q in qs:
        a = [h.chunk.id for h in bounded.keyword_search("default", q, k=k)]
        t0 = time.perf_counter()
        b = [h.chunk.id for h in unbounded.keyword_search("default", q, k=k)]
        wall.append(time.perf_counter() - t0)
        same += a == b
    bounded.close()
    unbounded.close()
    return same / max(1, len(qs)), pct(wall, 50)


def latency(
    pg: TempPostgres, sizes: list[int], n_queries: int, seconds: float, ingest_limit: float
) -> str:
    from store_latency import DIM, queries

    src = WORK / "store_latency_100000.db"
    if not src.exists():
        return "Synthetic store absent (run `python bench/store_latency.py` first): skipped."
    url = pg.create_database("latency")
    set_index_search(pg, "latency", True)
    store = PostgresStore(url, max_connections=8)
    # Bulk load: the HNSW index is built after each load (as one would for a first
    # import); incremental upserts with the index maintained are measured at the end.
    store._indexed_dims.add(DIM)
    qs = queries(n_queries)
    rng = np.random.default_rng(7)
    vecs = rng.standard_normal((len(qs), DIM)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    common = [parse_filter("doc_type=finance"), parse_filter("year>=2020")]
    rare = [parse_filter("tag=rare")]
    out: list[str] = []
    docs = chunks = 0
    ingest_secs = 0.0
    results: dict[int, dict[str, list[float]]] = {}
    notes: dict[int, dict[str, Any]] = {}
    for size in sizes:
        with admin(pg, "latency") as conn:  # bulk load without HNSW maintenance
            conn.execute(f"DROP INDEX IF EXISTS chunks_hnsw_{DIM}")
        d, c, secs = copy_store(
            src,
            store,
            limit_chunks=size - chunks,
            skip_docs=docs,
            deadline=time.monotonic() + ingest_limit,
        )
        docs, chunks, ingest_secs = docs + d, chunks + c, ingest_secs + secs
        build = build_hnsw(pg, "latency", DIM)
        print(f"{chunks} chunks: ingest {c / secs:.0f} chunks/s, HNSW build {build:.0f}s")
        share_common, share_rare = (
            store.run("default", lambda conn, f=f: store._filter_share(conn, "default", f))
            for f in (common, rare)
        )
        cases: list[Case] = [
            ("keyword", "kw", []),
            ("vector (HNSW)", "vec", []),
            ("hybrid (keyword + vector)", "hybrid", []),
            (f"keyword+filter ({share_common:.0%})", "kw", common),
            (f"vector+filter ({share_common:.0%})", "vec", common),
            (f"keyword+filter ({share_rare:.0%})", "kw", rare),
            (f"vector+filter ({share_rare:.0%})", "vec", rare),
        ]
        wall = run_cases(store, cases, qs, vecs, 50)
        qps8 = throughput(store, qs, vecs, 8, seconds)
        qps1 = throughput(store, qs, vecs, 1, seconds / 2)
        # Without leakproof @@ / @> (an install where no superuser marked them).
        set_index_search(pg, "latency", False)
        plain = PostgresStore(url, max_connections=8)
        plain_cases: list[Case] = [
            ("keyword, GIN unusable (no leakproof @@)", "kw", []),
            (f"keyword+filter ({share_common:.0%}), GIN unusable", "kw", common),
        ]
        n_plain = max(10, len(qs) // 4)
        wall.update(run_cases(plain, plain_cases, qs[:n_plain], vecs[:n_plain], 50))
        plain.close()
        set_index_search(pg, "latency", True)
        same, exact_p50 = keyword_exactness(url, qs[: max(10, len(qs) // 4)], 50)
        # Recall of the HNSW search against exact search, on 50 queries.
        exact_hits = found = 0
        for v in vecs[:50]:
            approx = {h.chunk.id for h in store.vector_search("default", v, k=10)}
            exact = store.run("default", lambda c, v=v: exact_ids(c, v, DIM))
            exact_hits += len(exact)
            found += len(approx & set(exact))
        results[chunks] = wall
        notes[chunks] = {
            "ingest": c / secs,
            "build": build,
            "qps8": qps8,
            "qps1": qps1,
            "recall": found / max(1, exact_hits),
            "same": same,
            "exact_p50": exact_p50,
        }
    # Incremental ingest into the largest store, every index maintained: re-upsert
    # (replace) the first 100 documents.
    store._indexed_dims.discard(DIM)
    d, c, secs = copy_store(src, store, limit_chunks=1000)
    incremental = c / secs
    size = store.run(
        None,
        lambda conn: conn.execute(
            "SELECT pg_size_pretty(pg_database_size(current_database()))"
        ).fetchone()[0],
    )
    store.close()

    names = list(next(iter(results.values())))
    sizes_done = list(results)
    header = ["query (one client, k=50)"] + [
        f"{n // 1000}k P{p} ms" for n in sizes_done for p in (50, 95)
    ]
    rows = []
    for i, name in enumerate(names):
        row: list[Any] = [name]
        for n in sizes_done:
            key = list(results[n])[i]  # labels carry the measured filter share
            row += [pct(results[n][key], 50), pct(results[n][key], 95)]
        rows.append(row)
    out.append(
        f"Synthetic chunks (10 per document, ~800 characters of SciFact sentences, random "
        f"unit {DIM}-dim vectors, doc_type/year/tag metadata), {len(qs)} SciFact queries "
        f"(random unit vectors for the dense side), one tenant; database size at "
        f"{chunks} chunks: {size}.\n"
    )
    for n, info in notes.items():
        out.append(
            f"- **{n} chunks**: bulk ingest {info['ingest']:.0f} chunks/s through "
            f"`upsert_document` (one transaction per document, GIN indexes maintained, HNSW "
            f"built afterwards in {info['build']:.0f} s); read throughput "
            f"{info['qps8']:.0f} queries/s with 8 client threads vs {info['qps1']:.0f} with "
            f"one (k=10, keyword and vector alternating); HNSW recall@10 vs exact "
            f"{info['recall']:.3f}; keyword top-50 identical to unbounded exact BM25 for "
            f"{info['same']:.0%} of queries (unbounded P50 {info['exact_p50']:.0f} ms)."
        )
    out.append(
        f"- **Incremental ingest** at {chunks} chunks with every index maintained (HNSW "
        f"too): {incremental:.0f} chunks/s (re-upserting {c} chunks).\n"
    )
    out.append(table(header, rows))
    return "\n".join(out)


def main() -> None:
    import signal

    # SIGTERM unwinds like Ctrl-C, so the temporary server is stopped and removed.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="20000,100000", help="chunk counts to measure at")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--ingest-limit", type=float, default=900.0, help="seconds per load")
    ap.add_argument("--skip-quality", action="store_true")
    args = ap.parse_args()
    sizes = sorted(int(x) for x in args.sizes.split(","))
    load0 = os.getloadavg()[0]
    with TempPostgres() as pg:
        version = pg.admin_sql("SHOW server_version")[0][0]
        pg.admin_sql("ALTER SYSTEM SET shared_buffers = '512MB'")
        pg.restart()
        quality_md = "" if args.skip_quality else quality(pg)
        latency_md = latency(pg, sizes, args.queries, args.seconds, args.ingest_limit)
    body = (
        f"PostgreSQL {version} with pgvector 0.6.2 (the `pgserver` wheel; shared_buffers "
        f"512MB), on the same 2-core machine as the client; load average {load0:.2f} at "
        "start. The `@@` and `@>` operators are marked LEAKPROOF in the bench databases "
        "(`ragline.store.postgres._search.enable_index_search`, as a superuser): without "
        "that, row-level security keeps PostgreSQL from using the GIN indexes (rows "
        "marked *GIN unusable*).\n\n"
    )
    if quality_md:
        body += "### SciFact (300 test queries, same MiniLM vectors in both stores)\n\n"
        body += quality_md + "\n\n"
    body += "### Latency and throughput\n\n" + latency_md + "\n"
    print(json.dumps({"done": True}))
    write_section("postgres-store", "PostgreSQL store — quality, latency, throughput", body)


if __name__ == "__main__":
    main()
