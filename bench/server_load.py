"""HTTP load on ``ragline serve``: asks/s and latency at 1, 8 and 32 concurrent clients.

    python bench/server_load.py [--seconds 15] [--clients 1,8,32] [--workers 1,2]

The server is a real ``ragline serve`` process on loopback over the ~5k-chunk SciFact
store of bench/query_latency.py (bundled MiniLM, extractive answers, SQLite, tracing
on), with 1 and then 2 worker processes. This script is the load generator, a second
process: asyncio + httpx, each client asking back to back for a fixed time. Two
workloads: a pool of distinct questions that repeat (after a warm-up) and questions
the server has never seen. Reported: asks/s, P50/P95/P99, errors other than 429/503
(target 0), sheds, the server's peak RSS (all workers) during the phase, and the time
to the first SSE event. Target (issue 6): ≥ 150 asks/s at 8 clients, P95 ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import sys
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _results import DATASETS, WORK, table, write_section

from ragline.testing import ServerProcess

KEY = "rl_bench_key"
CONFIG = """\
embedder: minilm
tenants:
  default: {api_keys_env: BENCH_KEYS}
server:
  max_concurrency: 16
  max_queue: 64
"""


def queries() -> list[str]:
    path = DATASETS / "beir_scifact" / "queries.jsonl"
    return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()]


def with_sentences(base: Path) -> Path:
    """A copy of the base store with its sentence vectors precomputed (made once).

    ``ragline ingest`` precomputes them (``answer.precompute_sentences``); the base store
    predates that, so it is back-filled with ``Project.precompute_sentences``, as a
    user upgrading an existing store would.
    """
    import ragline

    filled = WORK / "server-load-base" / "ragline.db"
    if filled.exists() and filled.stat().st_mtime >= base.stat().st_mtime:
        return filled
    shutil.rmtree(filled.parent, ignore_errors=True)
    filled.parent.mkdir(parents=True)
    shutil.copy(base, filled)
    t = time.perf_counter()
    with ragline.Project(filled.parent, overrides={"tracing.enabled": False}) as p:
        n = p.precompute_sentences()
    print(f"back-filled {n} sentence vectors in {time.perf_counter() - t:.0f} s", flush=True)
    return filled


def project(root: Path) -> Path:
    base = WORK / "latency" / "base" / "ragline.db"
    if not base.exists():
        sys.exit("run bench/query_latency.py first (it builds the 5k-chunk SciFact store)")
    base = with_sentences(base)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    shutil.copy(base, root / "ragline.db")
    (root / "ragline.yaml").write_text(CONFIG, encoding="utf-8")
    return root


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


class RssSampler(threading.Thread):
    """Peak resident memory (KiB) of a process — and its children, for --workers."""

    def __init__(self, pid: int, *, children: bool = False) -> None:
        super().__init__(daemon=True)
        self.pid, self.children, self.peak, self.stop = pid, children, 0, threading.Event()

    def _pids(self) -> list[int]:
        if not self.children:
            return [self.pid]
        out = [self.pid]
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            kids = (task / "children").read_text().split()
            out += [int(k) for k in kids]
        return out

    def _rss(self, pid: int) -> int:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def run(self) -> None:
        while not self.stop.is_set():
            with contextlib.suppress(OSError):
                self.peak = max(self.peak, sum(self._rss(p) for p in self._pids()))
            time.sleep(0.2)


async def load(
    url: str, qs: list[str], clients: int, seconds: float, *, unseen: bool = False
) -> dict[str, object]:
    """``clients`` loops of asks for ``seconds``: random picks from ``qs``, or (``unseen``)
    each question of ``qs`` once, in order, until they run out."""
    lat: list[float] = []
    codes: dict[int, int] = {}
    errors: list[str] = []
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=60, limits=limits
    ) as client:
        pending = list(reversed(qs))

        async def worker(i: int) -> None:
            rng = random.Random(i)
            while time.perf_counter() < deadline:
                if unseen:
                    if not pending:
                        return
                    q = pending.pop()
                else:
                    q = rng.choice(qs)
                t0 = time.perf_counter()
                try:
                    r = await client.post("/v1/ask", json={"question": q})
                except httpx.HTTPError as e:
                    errors.append(type(e).__name__)
                    continue
                dt = time.perf_counter() - t0
                codes[r.status_code] = codes.get(r.status_code, 0) + 1
                if r.status_code == 200:
                    lat.append(dt * 1000)

        start = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(clients)))
        elapsed = time.perf_counter() - start
    bad = sum(n for c, n in codes.items() if c not in (200, 429, 503)) + len(errors)
    return {
        "clients": clients,
        "ok": len(lat),
        "rps": len(lat) / elapsed,
        "p50": pct(lat, 0.5),
        "p95": pct(lat, 0.95),
        "p99": pct(lat, 0.99),
        "errors": bad,
        "shed": codes.get(503, 0) + codes.get(429, 0),
    }


def first_event_ms(url: str, qs: list[str], n: int) -> tuple[float, float]:
    out = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=60) as c:
        for q in qs[:n]:
            t0 = time.perf_counter()
            first = None
            with c.stream("POST", "/v1/ask", json={"question": q, "stream": True}) as r:
                for line in r.iter_lines():
                    if first is None and line.startswith("event:"):
                        first = (time.perf_counter() - t0) * 1000
            if first is not None:
                out.append(first)
    return pct(out, 0.5), pct(out, 0.95)


def run_server(
    qs: list[str], workers: int, clients: list[int], seconds: float, pool: int
) -> list[dict[str, object]]:
    """One fresh server: a warm-up over the pool, pool phases, then unseen phases."""
    root = project(WORK / "server-load")
    env = {"BENCH_KEYS": KEY}
    rows: list[dict[str, object]] = []
    with ServerProcess(
        root, env=env, args=["--workers", str(workers)], start_timeout_s=300
    ) as server:
        assert server.proc is not None
        pids = [server.proc.pid]
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {KEY}"}) as c:
            for q in qs[:pool]:  # every pool question once per worker, as a warm deployment
                for _ in range(workers):
                    c.post("/v1/ask", json={"question": q})
        unseen = qs[pool:]
        # each unseen phase gets an equal share (30 are kept for the SSE check); a phase
        # ends when its share runs out, which can be before ``seconds``
        share = max(1, (len(unseen) - 30) // len(clients))
        for mode in ("pool", "unseen"):
            for n in clients:
                sampler = RssSampler(pids[0], children=workers > 1)
                sampler.start()
                if mode == "pool":
                    res = asyncio.run(load(server.url, qs[:pool], n, seconds))
                else:
                    batch, unseen = unseen[:share], unseen[share:]
                    res = asyncio.run(load(server.url, batch, n, seconds, unseen=True))
                sampler.stop.set()
                res.update(workers=workers, mode=mode, rss_mb=sampler.peak / 1024)
                rows.append(res)
                print(res, flush=True)
        res = {"workers": workers, "ttfe": first_event_ms(server.url, unseen, 30)}
        rows.append(res)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--clients", default="1,8,32")
    ap.add_argument("--workers", default="1,2", help="server processes to try")
    ap.add_argument("--pool", type=int, default=300, help="distinct questions that repeat")
    args = ap.parse_args()
    qs = queries()
    random.Random(0).shuffle(qs)
    clients = [int(x) for x in args.clients.split(",")]
    rows: list[dict[str, object]] = []
    for w in (int(x) for x in args.workers.split(",")):
        rows += run_server(qs, w, clients, args.seconds, args.pool)
    phases = [r for r in rows if "mode" in r]
    ttfe = [r for r in rows if "ttfe" in r]
    body = (
        "Server: `ragline serve` on loopback over the 4,999-chunk SciFact store of "
        "bench/query_latency.py — MiniLM, extractive answers, SQLite, tracing on. Load "
        "from this script, a second process (asyncio + httpx) on the same 2 cores, "
        f"{args.seconds:g} s per phase. **pool**: {args.pool} distinct SciFact queries "
        "asked at random, after each was asked once per worker (a warm deployment where "
        "questions repeat: query vectors and sentence vectors are cached). **unseen**: "
        "every query new to the server (each embeds only the query: the store's sentence "
        "vectors were precomputed, `Project.precompute_sentences`), each phase asking an "
        "equal share of the SciFact queries left after the pool (it ends when they run out). "
        "Errors = anything but 200/429/503 (target 0).\n\n"
        + table(
            [
                "workers",
                "questions",
                "clients",
                "asks/s",
                "P50 ms",
                "P95 ms",
                "P99 ms",
                "errors",
                "429/503",
                "peak RSS MB",
            ],
            [
                [
                    r["workers"],
                    r["mode"],
                    r["clients"],
                    f"{r['rps']:.1f}",
                    f"{r['p50']:.1f}",
                    f"{r['p95']:.1f}",
                    f"{r['p99']:.1f}",
                    r["errors"],
                    r["shed"],
                    f"{r['rss_mb']:.0f}",
                ]
                for r in phases
            ],
        )
        + "\n\nTime to the first SSE event (1 client, 30 unseen queries): "
        + "; ".join(
            f"{r['workers']} worker(s) P50 {r['ttfe'][0]:.1f} ms, P95 {r['ttfe'][1]:.1f} ms"  # type: ignore[index]
            for r in ttfe
        )
        + f". Load average at the end: {os.getloadavg()[0]:.2f}.\n"
    )
    print(body)
    write_section("server-load", "HTTP server load — /v1/ask", body)


if __name__ == "__main__":
    main()
