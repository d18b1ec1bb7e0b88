"""Long-term memory: recall (store search) and forget latency per user, by memory size.

    python bench/memory_recall.py [--sizes 100,500,2000,10000] [--queries 100] [--postgres]

One user holds N memory items (random unit 384-dim float32 vectors, MiniLM's size,
~120-character texts), beside 20 other users of the same tenant with 200 items each
and another tenant with the same layout, so the index must pick one user's rows out
of many. For each N: P50/P95 of ``UserMemoryStore.search(k=20)`` (what
``LongTermMemory.recall`` asks for k=5: four times k, at least 20) — the store reads
the user's vectors through the ``(tenant, user_id, …)`` index and ranks them exactly
— and the time of ``forget_user`` for that user. Query embedding is excluded (it is
the same for every size). SQLite always; PostgreSQL with ``--postgres`` (a temporary
server from the ``pgserver`` wheel, as the tests use). Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import table, write_section

from ragline.store._user_memory import MemoryEntry, UserMemoryStore

DIM = 384
EMBEDDER = "bench-384"
OTHER_USERS = 20
OTHER_ITEMS = 200


def entries(rng: np.random.Generator, n: int, tag: str) -> list[MemoryEntry]:
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    return [
        MemoryEntry(
            text=f"user said: {tag} fact {i} about order {1000 + i} and a replacement part",
            vector=v,
            embedder=EMBEDDER,
        )
        for i, v in enumerate(vectors)
    ]


def fill(store: UserMemoryStore, rng: np.random.Generator, n: int) -> None:
    for tenant in ("acme", "globex"):
        for u in range(OTHER_USERS):
            store.add(tenant, f"other-{u}", entries(rng, OTHER_ITEMS, f"{tenant} other {u}"))
    for start in range(0, n, 1000):
        store.add("acme", "target", entries(rng, min(1000, n - start), "target"))


def measure(store: UserMemoryStore, n: int, queries: int, seed: int) -> list[Any]:
    rng = np.random.default_rng(seed)
    fill(store, rng, n)
    times = []
    for _ in range(queries):
        q = rng.standard_normal(DIM).astype(np.float32)
        start = time.perf_counter()
        hits = store.search("acme", "target", q, embedder=EMBEDDER, k=20)
        times.append((time.perf_counter() - start) * 1000)
        assert len(hits) == min(20, n)
    times.sort()
    p95 = times[max(0, int(len(times) * 0.95) - 1)]
    start = time.perf_counter()
    gone = store.forget_user("acme", "target")
    forget_ms = (time.perf_counter() - start) * 1000
    assert gone == n and store.count("acme", "target") == 0
    return [n, statistics.median(times), p95, forget_ms]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100,500,2000,10000")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows: list[list[Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        from ragline.store.sqlite._user_memory import SQLiteUserMemoryStore

        for n in sizes:
            store = SQLiteUserMemoryStore(Path(tmp) / f"m{n}.db")
            rows.append(["SQLite", *measure(store, n, args.queries, seed=n)])
            store.close()
            print(rows[-1], flush=True)
        if args.postgres:
            from ragline.store.postgres._user_memory import PostgresUserMemoryStore
            from ragline.testing._postgres import TempPostgres

            server = TempPostgres().start()
            try:
                for n in sizes:
                    url = str(server.create_database(f"m{n}"))
                    store = PostgresUserMemoryStore(url)
                    rows.append(["PostgreSQL", *measure(store, n, args.queries, seed=n)])
                    store.close()
                    print(rows[-1], flush=True)
            finally:
                server.stop()
    body = (
        f"One user's N memories among {2 * OTHER_USERS} other users' {OTHER_ITEMS} each "
        f"(two tenants); {args.queries} searches per size, k=20, random 384-dim vectors; "
        "query embedding excluded.\n\n"
        + table(["backend", "items of the user", "search P50 ms", "search P95 ms",
                 "forget_user ms"], rows)
        + "\n\nSearch is an exact scan of the user's own vectors (read through the "
        "`(tenant, user_id, created_at, id)` index, then ranked in numpy), so it grows "
        "with that user's memory, not with the table; `memory.max_items` (500 by default) "
        "bounds it. forget_user on SQLite includes the WAL checkpoint that clears the "
        "deleted text from the files."
    )  # fmt: skip
    write_section("memory_recall", "Long-term memory — recall and forget latency", body)


if __name__ == "__main__":
    main()
