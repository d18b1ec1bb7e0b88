"""Dashboard page render time (server side) and page weight, with many traces.

    python bench/ui_pages.py [--traces 1000000] [--requests 40] [--store sqlite]

Builds (once, cached under bench/_work/ui_pages/) a SQLite project holding
``--traces`` synthetic traces (tenant ``acme``, one root span each with a question
and an answer, over the last 30 days), 30 days of per-minute rollups (latency, cost,
feedback), and one real traced ask (the trace detail page). Then logs in and times
``--requests`` in-process requests (FastAPI TestClient: routing, auth, store
queries and template rendering; no network) per page: the traces list (first page,
a page deep in the cursor, with a status and a latency filter, with a text
filter), the trace detail and the overview. Reported: P50 and P95 wall-clock ms, and
each page's weight (HTML plus its script and style files). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _results import WORK, table, write_section

KEY = "rl_bench_ui_key_0001"
CONFIG = """\
embedder: hash
tenants:
  acme:
    api_keys_env: BENCH_UI_KEYS
ui:
  page_size: 50
"""
WORDS = ["battery", "warranty", "refund", "return", "frame"]
WORDS += ["motor", "charger", "cycle", "dealer", "invoice"]


def build(root: Path, n: int) -> str:
    """The project (once per size); the id of its one real trace."""
    from ragline._project import Project
    from ragline.store._rollups import RollupRow, minute_of
    from ragline.store._traces import SpanRecord

    marker = root / f"built-{n}"
    if marker.exists():
        return marker.read_text()
    root.mkdir(parents=True, exist_ok=True)
    for old in root.glob("ragline.db*"):
        old.unlink()
    (root / "ragline.yaml").write_text(CONFIG, encoding="utf-8")
    docs = root / "docs"
    docs.mkdir(exist_ok=True)
    (docs / "warranty.md").write_text(
        "# Warranty\n\nThe battery warranty lasts 2 years or 800 cycles.\n", encoding="utf-8"
    )
    rng = random.Random(7)
    now = time.time()
    with Project(root) as project:
        project.ingest([docs], tenant="acme")
        store = project.trace_store
        batch: list[SpanRecord] = []
        t0 = time.perf_counter()
        for i in range(n):
            start = now - 30 * 86400 + i * (30 * 86400 / n)
            words = " ".join(rng.choice(WORDS) for _ in range(8))
            batch.append(
                SpanRecord(
                    uuid.UUID(int=rng.getrandbits(128)).hex,
                    uuid.UUID(int=rng.getrandbits(128)).hex[:16],
                    None,
                    "ragline.ask",
                    "ask",
                    "acme",
                    start,
                    start + rng.uniform(0.005, 2.0),
                    "error" if i % 97 == 0 else "ok",
                    {"ragline.question": f"q{i} {words}?", "ragline.answer": f"a {words}."},
                )
            )
            if len(batch) == 20_000:
                store.write_spans(batch)
                batch = []
                print(f"  {i + 1} traces ({time.perf_counter() - t0:.0f} s)", flush=True)
        if batch:
            store.write_spans(batch)
        rows = []
        for m in range(30 * 1440):
            minute = minute_of(now - m * 60)
            lat = RollupRow(minute, "acme", "", "latency")
            for _ in range(5):
                lat.observe(rng.uniform(5, 900), histogram=True)
            cost = RollupRow(minute, "acme", "", "cost")
            cost.observe(rng.uniform(0, 0.01))
            rows += [lat, cost]
        project.parts.backend.rollups.add(rows)
        real = project.ask("How long is the battery warranty?", tenant="acme")
        project.flush_traces(10)
    marker.write_text(real.trace_id)
    return real.trace_id


def weight(client: object, html: str) -> int:
    import re

    total = len(html.encode())
    for ref in re.findall(r'(?:src|href)="(/ui/static/[^"]+)"', html):
        total += len(client.get(ref).content)  # type: ignore[attr-defined]
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--traces", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    import os

    from fastapi.testclient import TestClient

    from ragline.ui import dashboard_app

    root = WORK / "ui_pages"
    trace_id = build(root, args.traces)
    os.environ["BENCH_UI_KEYS"] = KEY
    app = dashboard_app(root, environ={"BENCH_UI_KEYS": KEY}, notifiers=False)
    with TestClient(app) as client:
        client.get("/login")
        token = client.cookies.get("ragline_login", path="/login")
        client.post("/login", data={"key": KEY, "csrf": token})
        first = client.get("/traces").text
        import re

        cursor = re.findall(r"cursor=([0-9.e+]+)", first)[-1]
        deep = str(float(cursor) - 20 * 86400)  # a page 20 days back
        pages = {
            "traces, first page": "/traces",
            "traces, 20 days back (cursor)": f"/traces?cursor={deep}",
            "traces, status=error": "/traces?status=error",
            "traces, latency >= 1500 ms": "/traces?latency=1500",
            "traces, text filter": "/traces?text=q12345%20",
            "trace detail": f"/traces/{trace_id}",
            "overview (30 days of rollups)": "/",
        }
        rows = []
        for name, path in pages.items():
            times = []
            html = ""
            for _ in range(args.requests):
                t = time.perf_counter()
                r = client.get(path)
                times.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, (path, r.status_code)
                html = r.text
            times.sort()
            p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
            rows.append([name, statistics.median(times), p95, weight(client, html) // 1024])
            print(rows[-1], flush=True)
    body = (
        f"{args.traces:,} traces in SQLite (one root span each) + 30 days of rollups; "
        f"{args.requests} requests per page through TestClient (in-process).\n\n"
        + table(["page", "P50 ms", "P95 ms", "weight KiB"], rows)
        + "\n\nThe list pages read one indexed page of root spans whatever the cursor. The "
        "text filter is the store's `list_traces(text=…)`, a scan of the root spans' "
        "question and answer (traces have no text index), so it grows with the number "
        "of traces. The overview reads 24 hours of minute rollups (1,440 rows per "
        "series) with their latency histograms."
    )
    write_section("ui_pages", "Dashboard page render time and weight", body)


if __name__ == "__main__":
    main()
