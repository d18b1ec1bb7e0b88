"""HTTP load on ``ragline serve``: asks/s and latency at 1, 8 and 32 concurrent clients.

    python bench/server_load.py [--seconds 20] [--clients 1,8,32]

The server is a real ``ragline serve`` process on loopback over the ~5k-chunk SciFact
store of bench/query_latency.py (bundled MiniLM, extractive answers, SQLite, tracing
on). This script is the load generator, a second process: asyncio + httpx, each
client sending SciFact test queries back to back for a fixed time. Reported: asks/s,
P50/P95/P99 latency, errors other than 429/503 (target 0), sheds, the server's peak
RSS during the phase, and time to the first SSE event. Target (issue 6): ≥ 150 asks/s
at 8 clients, P95 ≤ 100 ms, on 2 cores.

``--cold`` restarts the server before each phase (every phase then starts with empty
caches); by default the server stays up and the query list is shuffled per phase.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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


def project(root: Path) -> Path:
    base = WORK / "latency" / "base" / "ragline.db"
    if not base.exists():
        sys.exit("run bench/query_latency.py first (it builds the 5k-chunk SciFact store)")
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
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        self.peak = max(self.peak, int(line.split()[1]))
            except OSError:
                return
            time.sleep(0.2)


async def load(url: str, qs: list[str], clients: int, seconds: float) -> dict[str, object]:
    lat: list[float] = []
    codes: dict[int, int] = {}
    errors: list[str] = []
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=60, limits=limits
    ) as client:

        async def worker(i: int) -> None:
            rng = random.Random(i)
            while time.perf_counter() < deadline:
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--clients", default="1,8,32")
    ap.add_argument("--warmup", type=int, default=300, help="asks before measuring")
    args = ap.parse_args()
    qs = queries()
    root = project(WORK / "server-load")
    rows = []
    with ServerProcess(root, env={"BENCH_KEYS": KEY}, start_timeout_s=180) as server:
        assert server.proc is not None
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {KEY}"}) as c:
            for q in qs[: args.warmup]:  # warm caches the way a running deployment is
                c.post("/v1/ask", json={"question": q})
        for n in (int(x) for x in args.clients.split(",")):
            sampler = RssSampler(server.proc.pid)
            sampler.start()
            res = asyncio.run(load(server.url, qs, n, args.seconds))
            sampler.stop.set()
            res["rss_mb"] = sampler.peak / 1024
            rows.append(res)
            print(res, flush=True)
        ttfe = first_event_ms(server.url, qs[args.warmup :], 50)
    body = (
        f"Server: `ragline serve` (uvicorn, 1 process) over the 4,999-chunk SciFact store, "
        f"MiniLM, extractive answers, SQLite, tracing on; {len(qs)} SciFact queries at "
        f"random, {args.seconds:g} s per phase after {args.warmup} warm-up asks. Load from "
        "a second process (asyncio + httpx) on the same 2 cores.\n\n"
        + table(
            ["clients", "asks/s", "P50 ms", "P95 ms", "P99 ms", "errors", "429/503", "peak RSS MB"],
            [
                [
                    r["clients"],
                    f"{r['rps']:.1f}",
                    f"{r['p50']:.1f}",
                    f"{r['p95']:.1f}",
                    f"{r['p99']:.1f}",
                    r["errors"],
                    r["shed"],
                    f"{r['rss_mb']:.0f}",
                ]
                for r in rows
            ],
        )
        + f"\n\nTime to the first SSE event (1 client, 50 unseen queries): "
        f"P50 {ttfe[0]:.1f} ms, P95 {ttfe[1]:.1f} ms.\n"
    )
    print(body)
    write_section("server-load", "HTTP server load — /v1/ask", body)


if __name__ == "__main__":
    main()
