"""Model-layer overhead: ragline's OpenAI provider and its wrappers vs a raw httpx
request to the same local llama.cpp server, and response-cache hit latency.

Starts ``python -m llama_cpp.server`` (bundled Gemma 3 270M, ``--chat_format gemma``,
2 threads) on a free loopback port — always killed at the end. Per round, in rotating
order, one call each of:

- raw — ``httpx.Client.post`` of the body ``OpenAIModel`` sends (max_tokens=1)
- ``OpenAIModel.complete``
- wrapped — ``wrap_model(OpenAIModel, settings)``: circuit breaker → retries → provider

Reported: median latency per path and the medians' difference to raw (target ≤ 1 ms).
The server answers the same prompt every time (its prefix cache keeps the work
constant), so the differences are ragline's own cost. Then ``CachedModel`` hit
latency with ``MemoryResponseCache`` and with ``SQLiteResponseCache`` (a SQLite project
store file under bench/_work/), interleaved. The machine is a shared 2-core box: only
the differences within this run mean anything.

    python bench/model_overhead.py [--n 100] [--hits 1000]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import httpx
from _results import WORK, table, write_section

ALIAS = "gemma-3-270m"
PROMPT = "The capital of France is"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(gguf: str, port: int, log_path: str) -> subprocess.Popen[bytes]:
    log = open(log_path, "wb")  # noqa: SIM115 - closed by the caller via proc
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        gguf,
        "--model_alias",
        ALIAS,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "1024",
        "--n_threads",
        "2",
        "--chat_format",
        "gemma",
    ]
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def wait_ready(proc: subprocess.Popen[bytes], base_url: str, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("llama_cpp.server exited early (see bench/_work/llama_server.log)")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/models", timeout=1.0).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"llama_cpp.server not ready in {timeout_s}s")


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100, help="calls per path")
    parser.add_argument("--hits", type=int, default=1000, help="cache hits per cache")
    args = parser.parse_args()

    from ragline.config import ModelSettings
    from ragline.models import (
        CachedModel,
        MemoryResponseCache,
        Message,
        OpenAIModel,
        wrap_model,
    )
    from ragline.models._gguf import bundled_gguf_path
    from ragline.store import open_store
    from ragline.store.sqlite import SQLiteResponseCache
    from ragline.testing._models import block_real_requests

    WORK.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    proc = start_server(str(bundled_gguf_path()), port, str(WORK / "llama_server.log"))
    try:
        wait_ready(proc, base_url)
        with block_real_requests(False):
            settings = ModelSettings(base_url=base_url, temperature=0.0, max_tokens=1)
            provider = OpenAIModel(ALIAS, settings=settings)
            wrapped = wrap_model(OpenAIModel(ALIAS, settings=settings), settings)
            messages = [Message("user", PROMPT)]
            body = provider._body(messages, None, {"max_tokens": 1, "temperature": 0.0})
            client = httpx.Client(timeout=60.0)
            url = f"{base_url}/chat/completions"

            def raw() -> None:
                r = client.post(url, json=body)
                r.raise_for_status()
                r.json()

            paths: dict[str, Callable[[], object]] = {
                "raw httpx": raw,
                "OpenAIModel.complete": lambda: provider.complete(
                    messages, max_tokens=1, temperature=0.0
                ),
                "wrap_model (breaker + retries)": lambda: wrapped.complete(
                    messages, max_tokens=1, temperature=0.0
                ),
            }
            names = list(paths)
            for fn in paths.values():  # warm-up: connections, server prefix cache
                for _ in range(3):
                    fn()
            lat: dict[str, list[float]] = {n: [] for n in names}
            for i in range(args.n):
                for name in names[i % 3 :] + names[: i % 3]:
                    lat[name].append(timed(paths[name]))
            client.close()

            base = statistics.median(lat["raw httpx"])
            rows: list[list[object]] = []
            for name in names:
                med = statistics.median(lat[name])
                rows.append(
                    [name, args.n, round(med, 2), round(med - base, 3), f"{med / base:.3f}×"]
                )
            overhead = table(["path", "calls", "median ms", "overhead vs raw ms", "ratio"], rows)
            print(overhead)

            # cache hits
            db = WORK / "overhead_cache.db"
            for suffix in ("", "-wal", "-shm"):
                p = db.with_name(db.name + suffix)
                p.unlink(missing_ok=True)
            store = open_store(f"sqlite:///{db}")
            caches = {
                "MemoryResponseCache": CachedModel(provider, MemoryResponseCache(), ttl_s=3600),
                "SQLiteResponseCache (SQLite file)": CachedModel(
                    provider,
                    SQLiteResponseCache(store),  # type: ignore[arg-type]
                    ttl_s=3600,
                ),
            }
            for cached in caches.values():
                cached.complete(messages, max_tokens=1, temperature=0.0)  # fill
            hit_us: dict[str, list[float]] = {n: [] for n in caches}
            cnames = list(caches)
            for i in range(args.hits):
                for name in cnames[i % 2 :] + cnames[: i % 2]:
                    hit_us[name].append(
                        1000.0
                        * timed(
                            lambda c=caches[name]: c.complete(  # type: ignore[misc]
                                messages, max_tokens=1, temperature=0.0
                            )
                        )
                    )
            hrows: list[list[object]] = [
                [
                    name,
                    args.hits,
                    round(statistics.median(v), 1),
                    round(statistics.quantiles(v, n=100)[94], 1),
                ]
                for name, v in hit_us.items()
            ]
            hits = table(["cache", "hits", "median µs", "p95 µs"], hrows)
            print(hits)
            with contextlib.suppress(Exception):
                store.close()  # type: ignore[attr-defined]
    finally:
        kill(proc)

    report = (
        "`python -m llama_cpp.server` (bundled Gemma 3 270M, `--chat_format gemma`, n_ctx"
        " 1024, 2 threads) on a loopback port; the same chat body (one user message,"
        f" max_tokens=1, temperature 0) through each path, {args.n} calls each, interleaved"
        " (order rotated per round) after a warm-up. *overhead* = median − median of raw"
        " `httpx.Client.post` (target ≤ 1 ms). The server and the client share the 2-core"
        " machine (possibly with other jobs): compare only within this table.\n\n"
        + overhead
        + f"\n\nResponse-cache hits (`CachedModel.complete` on a cached request, {args.hits}"
        " each, interleaved; the SQLite store is a file under bench/_work/):\n\n" + hits + "\n"
    )
    write_section("model-overhead", "Model layer overhead and cache hits", report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
