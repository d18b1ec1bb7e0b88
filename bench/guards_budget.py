"""What guard time budgets cost, and how long guards take on adversarial input.

    python bench/guards_budget.py [--queries 300] [--rounds 5]

1. Budget overhead: the default guards (injection on questions, PII on answers) run on
   SciFact queries through ``GuardSet.run`` with their ``timeout_ms`` budget (a hop to
   the shared worker pool) and inline (no budget), alternating rounds; per call P50 /
   P95 in microseconds.
2. An HTTP classifier guard (``guards.http``) against a stdlib classifier on loopback:
   per check P50 / P95.
3. Adversarial input: each guard's time on every ``ADVERSARIAL_TEXTS`` text (100,000
   characters) and on the same text ten times over (1,000,000: the injection
   heuristic's 100,000-character cap shows), the slowest text per guard.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _results import DATASETS, table, write_section

from ragline.config import GuardSettings
from ragline.guards import GuardContext, InjectionGuard, PiiGuard
from ragline.guards._http import HttpGuard
from ragline.guards._policy import ConfiguredGuard, GuardSet, build_guards
from ragline.testing._guard_conformance import ADVERSARIAL_TEXTS

FALLBACK = [
    "How long is the warranty on the X200?",
    "Which enzyme breaks down starch in the mouth?",
    "Can I return a bike after 30 days?",
]


def _queries(n: int) -> list[str]:
    path = DATASETS / "beir_scifact" / "queries.jsonl"
    if not path.exists():
        return (FALLBACK * (n // len(FALLBACK) + 1))[:n]
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines][:n]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _per_call_us(run: Callable[[str], object], texts: list[str]) -> list[float]:
    out = []
    for text in texts:
        start = time.perf_counter()
        run(text)
        out.append((time.perf_counter() - start) * 1e6)
    return out


class _Classifier(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        score = 0.9 if "ignore" in body["text"].lower() else 0.1
        reply = json.dumps({"score": score}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    texts = _queries(args.queries)
    rows: list[list[object]] = []

    # 1. the budget's hop to a worker thread, against the same guards inline
    budgeted = build_guards(GuardSettings())
    inline = GuardSet([ConfiguredGuard(g.guard, g.on_error, None) for g in budgeted.guards])
    for stage in ("input", "output"):
        ctx = GuardContext(stage=stage)  # type: ignore[arg-type]
        times: dict[str, list[float]] = {"budget": [], "inline": []}
        for _ in range(args.rounds):  # alternating: the machine is shared
            for name, guards in (("budget", budgeted), ("inline", inline)):
                times[name] += _per_call_us(lambda t, g=guards, c=ctx: g.run(t, c), texts)
        for name, values in times.items():
            rows.append(
                [
                    f"{stage} stage, default guards, {name}",
                    f"{statistics.median(values):.0f} / {_percentile(values, 0.95):.0f} µs",
                ]
            )
        extra = statistics.median(times["budget"]) - statistics.median(times["inline"])
        rows.append([f"{stage} stage: the budget's cost per call (P50)", f"{extra:+.0f} µs"])

    # 2. an HTTP classifier on loopback
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Classifier)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/classify"
    http = GuardSet([ConfiguredGuard(HttpGuard("ext", url), "block", 3000)])
    ctx = GuardContext(stage="input")
    http.run("warm up", ctx)
    values = _per_call_us(lambda t: http.run(t, ctx), texts)
    server.shutdown()
    rows.append(
        [
            "HTTP classifier guard on loopback, per check",
            f"{statistics.median(values) / 1000:.2f} / {_percentile(values, 0.95) / 1000:.2f} ms",
        ]
    )

    # 3. adversarial texts: the slowest one per guard, at 100k and 1M characters
    guards = {
        "injection heuristic": InjectionGuard(),
        "PII": PiiGuard(action="redact", stages=frozenset({"output"})),
    }
    contexts = {"injection heuristic": ctx, "PII": GuardContext(stage="output")}
    for name, guard in guards.items():
        for factor in (1, 10):
            worst, worst_text = 0.0, ""
            for label, text in ADVERSARIAL_TEXTS.items():
                big = text * factor
                start = time.perf_counter()
                guard.check(big, contexts[name])
                ms = (time.perf_counter() - start) * 1000
                if ms > worst:
                    worst, worst_text = ms, label
            rows.append(
                [
                    f"{name}, slowest adversarial text at {100_000 * factor:,} characters",
                    f"{worst:.0f} ms ({worst_text})",
                ]
            )

    # what the cut of combining-mark runs saves: NFKC of the mixed-class run, raw
    import unicodedata

    zalgo = ADVERSARIAL_TEXTS["stacked_mixed_class_marks"]
    start = time.perf_counter()
    unicodedata.normalize("NFKC", zalgo)
    raw = time.perf_counter() - start
    start = time.perf_counter()
    guards["injection heuristic"].check(zalgo, ctx)
    now = time.perf_counter() - start
    rows.append(
        [
            "100,000 mixed-class combining marks: NFKC of the raw text (the heuristic "
            "normalised it twice before runs were cut to 32) / the heuristic now",
            f"{raw:.1f} s / {now * 1000:.0f} ms",
        ]
    )

    body = table(["measure", "value"], rows)
    note = (
        f"{len(texts)} queries × {args.rounds} rounds per variant. The budget runs each "
        "guard call on a shared pool of daemon worker threads so a hung guard can be "
        "abandoned; its cost is the hand-off per guard call. The injection heuristic "
        "scans at most 100,000 characters (head and tail), so its time stops growing "
        "there; PII is linear (a redaction must see the whole text)."
    )
    print(body)
    write_section("guards_budget", "Guard time budgets and adversarial input", body + "\n\n" + note)


if __name__ == "__main__":
    main()
