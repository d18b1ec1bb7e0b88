"""Replicas on one PostgreSQL: ask throughput with 1, 2 and 3 ``ragline serve``
processes, and the cost of the shared rate limiter per request.

    python bench/replicas.py [--seconds 10] [--clients 8] [--replicas 1,2,3] [--takes 2000]

One PostgreSQL + pgvector (the pgserver wheel) on loopback holds the sample knowledge
base (examples/sample-kb, 13 documents; hash embedder and extractive answers, so the
numbers are the server's and the database's work, not a model's). The replicas are
real ``ragline serve`` processes on loopback ports; this script is the load generator
on the same box (asyncio + httpx, ``--clients`` clients asking back to back, requests
spread round-robin over the replicas). The limiter is measured twice: its statement
alone (``PostgresRateLimits.take`` against the in-process ``MemoryRateLimits``), and
end to end (one replica with and without a tenant limit too high to refuse).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _results import table, write_section

from ragline.testing import ServerProcess

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = [
    "How long is the battery warranty?",
    "What is the return policy?",
    "How do I reset the device?",
    "Which payment methods are accepted?",
    "How fast does the e-bike charge?",
]


def config(url: str, *, limit: bool) -> str:
    extra = "  rate_limit_per_minute: 100000000\n" if limit else ""
    return (
        f"store: {url}\nembedder: hash\ntracing: {{enabled: false}}\n"
        f"server:\n  auth: off\n  max_concurrency: 16\n{extra}"
    )


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def load(urls: list[str], clients: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    turn = 0
    deadline = time.monotonic() + seconds

    async def client(http: httpx.AsyncClient, i: int) -> None:
        nonlocal errors, turn
        while time.monotonic() < deadline:
            url = urls[turn % len(urls)]
            turn += 1
            question = QUESTIONS[(turn + i) % len(QUESTIONS)]
            start = time.perf_counter()
            r = await http.post(url + "/v1/ask", json={"question": question})
            if r.status_code == 200:
                latencies.append(time.perf_counter() - start)
            else:
                errors += 1

    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=64)) as http:
        started = time.monotonic()
        await asyncio.gather(*(client(http, i) for i in range(clients)))
        elapsed = time.monotonic() - started
    return {
        "asks_s": len(latencies) / elapsed,
        "p50": pct(latencies, 0.50) * 1000,
        "p95": pct(latencies, 0.95) * 1000,
        "errors": errors,
    }


def limiter_statement(url: str, takes: int) -> tuple[float, float]:
    """µs per take: PostgreSQL (one round trip) and in-process."""
    from ragline.store import MemoryRateLimits
    from ragline.store.postgres._documents import PostgresStore
    from ragline.store.postgres._limits import PostgresRateLimits

    store = PostgresStore(url)
    shared = PostgresRateLimits(store)
    local = MemoryRateLimits()
    try:
        for limits in (shared, local):
            for _ in range(50):  # connect, prepare
                limits.take("bench", "requests", 10**9)
        timings = []
        for limits in (shared, local):
            start = time.perf_counter()
            for _ in range(takes):
                limits.take("bench", "requests", 10**9)
            timings.append((time.perf_counter() - start) / takes * 1e6)
        return timings[0], timings[1]
    finally:
        shared.close()
        store.close()


def run_phase(root: Path, n: int, clients: int, seconds: float) -> dict[str, float]:
    procs = [ServerProcess(root, start_timeout_s=180) for _ in range(n)]
    try:
        for proc in procs:
            proc.start()
        urls = [p.url for p in procs]
        asyncio.run(load(urls, clients, min(2.0, seconds)))  # warm-up
        return asyncio.run(load(urls, clients, seconds))
    finally:
        for proc in procs:
            proc.terminate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--replicas", default="1,2,3")
    parser.add_argument("--takes", type=int, default=2000)
    args = parser.parse_args()

    from ragline import Project
    from ragline.testing._postgres import TempPostgres

    load_before = os.getloadavg()[0]
    server = TempPostgres().start()
    try:
        url = str(server.create_database("bench_replicas"))
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            (root / "ragline.yaml").write_text(config(url, limit=False))
            with Project(root) as project:
                project.ingest([REPO / "examples" / "sample-kb"])
            shared_us, local_us = limiter_statement(url, args.takes)
            rows = []
            for n in (int(x) for x in args.replicas.split(",")):
                r = run_phase(root, n, args.clients, args.seconds)
                print(n, r, flush=True)
                rows.append(
                    [n, f"{r['asks_s']:.1f}", f"{r['p50']:.1f}", f"{r['p95']:.1f}", r["errors"]]
                )
            (root / "ragline.yaml").write_text(config(url, limit=True))
            limited = run_phase(root, 1, args.clients, args.seconds)
            (root / "ragline.yaml").write_text(config(url, limit=False))
            unlimited = run_phase(root, 1, args.clients, args.seconds)
    finally:
        server.stop()
    load_after = os.getloadavg()[0]

    body = (
        f"PostgreSQL + pgvector (pgserver wheel) on loopback; sample KB (13 documents), hash "
        f"embedder, extractive answers, tracing off. The load generator runs on the same box "
        f"as the replicas and the database: {args.clients} clients asking back to back for "
        f"{args.seconds:g} s per row, round-robin over the replicas. The box was shared: "
        f"1-minute load average {load_before:.1f} at the start, {load_after:.1f} at the end "
        f"(on {os.cpu_count()} cores), so rows differ by noise as much as by design.\n\n"
        + table(["replicas", "asks/s", "P50 ms", "P95 ms", "errors"], rows)
        + "\n\nShared rate limiter (one `INSERT … ON CONFLICT DO UPDATE` on an autocommit "
        f"connection, {args.takes} takes):\n\n"
        + table(
            ["limiter", "µs per request"],
            [["PostgreSQL (shared)", f"{shared_us:.0f}"], ["in-process", f"{local_us:.1f}"]],
        )
        + "\n\nEnd to end, one replica, a tenant limit that never refuses vs none: "
        f"{limited['asks_s']:.1f} vs {unlimited['asks_s']:.1f} asks/s, P50 "
        f"{limited['p50']:.1f} vs {unlimited['p50']:.1f} ms.\n\n"
        "- reading: here the replicas, the database and the load generator share two "
        "cores with other work, so more replicas cannot add throughput and the rows move "
        "by noise; what holds is that every row failed no request. The limiter's time per "
        "take is one round trip to a database process that must be scheduled on those "
        "busy cores: an upper bound, paid once per request (asks take ~100 ms here). On "
        "separate machines each replica brings its own cores, and the database's share "
        "per ask is that one statement plus the search queries."
    )
    write_section("replicas", "Replicas on one PostgreSQL: ask throughput and the limiter", body)


if __name__ == "__main__":
    main()
