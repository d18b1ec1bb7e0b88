"""Cost of one alert-rule evaluation cycle: the state machine, silences, grouping and
the store writes — without the metric reads.

20 rules (latency, error, feedback, drift, change rules) are evaluated every "minute"
of a simulated clock against ``ragline.testing.FakeMetricSource``, which answers from a
dictionary, so what is timed is ragline's own work per cycle: reading the stored
states and active silences, stepping each rule, writing the states and events in one
transaction, and deciding the notifications (sent to a recording notifier). Two
regimes: *steady* (values never change: no transitions, the common case) and *churn*
(every cycle half of the rules cross or go back: pending, firing, resolved events and
notifications). Stores: memory and SQLite (a file under bench/_work/, WAL). The metric
reads themselves are the rollups' cost, measured with the rollups.

    python bench/alert_cycle.py [--cycles 300]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time
from typing import Any

from _results import WORK, table, write_section

from ragline.config import AlertSettings
from ragline.monitor import Evaluator
from ragline.store.memory._alerts import MemoryAlertStore
from ragline.store.sqlite._alerts import SQLiteAlertStore
from ragline.testing import FakeMetricSource, RecordingNotifier

T0 = 1_764_000_000.0


def rules() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(20):
        kind = i % 4
        base: dict[str, Any] = {"name": f"rule-{i:02d}", "window": "5m", "for": "2m"}
        if kind == 0:
            base |= {"metric": "latency", "agg": "p95", "condition": "> 2000", "resolve": 1500}
        elif kind == 1:
            base |= {"metric": "errors", "agg": "rate", "condition": "> 0.05"}
        elif kind == 2:
            base |= {"metric": "feedback", "agg": "count", "condition": ">= 3"}
            base["filter"] = {"kind": "hallucination", "tenant": f"t{i}"}
        else:
            base |= {"metric": "latency", "agg": "mean", "condition": "increase 50%"}
            base["baseline"] = "24h"
        out.append(base)
    return out


def values(source: FakeMetricSource, rule: dict[str, Any], bad: bool) -> None:
    metric, agg = rule["metric"], rule["agg"]
    filters = rule.get("filter", {})
    if agg == "p95":
        source.set(metric, agg, 2600 if bad else 900, **filters)
    elif agg == "rate":
        source.set(metric, agg, 0.2 if bad else 0.01, **filters)
    elif agg == "count":
        source.set(metric, agg, 5 if bad else 0, **filters)
    else:
        source.set(metric, agg, 180 if bad else 100, baseline=100, **filters)


def run(store: Any, cycles: int, churn: bool) -> list[float]:
    settings = AlertSettings.model_validate({"rules": rules(), "repeat_interval": "1h"})
    source = FakeMetricSource()
    ev = Evaluator(settings, source, store, {"n": RecordingNotifier()}, actor="bench:1")
    timings: list[float] = []
    for c in range(cycles):
        for i, rule in enumerate(settings.rules):
            raw = next(r for r in rules() if r["name"] == rule.name)
            bad = (i % 2 == 0) if not churn else ((c // 3 + i) % 2 == 0)
            values(source, raw, bad)
        source.queries.clear()
        start = time.perf_counter()
        ev.evaluate(T0 + 60 * c)
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=300)
    args = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    rows: list[list[object]] = []
    for name in ("memory", "sqlite"):
        for churn in (False, True):
            folder = WORK / "alert_cycle"
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            store = MemoryAlertStore() if name == "memory" else SQLiteAlertStore(folder / "a.db")
            t = run(store, args.cycles, churn)[10:]  # the first cycles warm up
            events = len(store.history(limit=1_000_000))
            store.close()
            q = statistics.quantiles(t, n=20)
            rows.append([name, "churn" if churn else "steady", statistics.median(t), q[18], events])
            print(rows[-1])
    body = (
        f"20 rules, {args.cycles} cycles (the first 10 not timed), one simulated minute "
        "apart; metric reads answered from memory (not timed separately: they are the "
        "rollups' cost).\n\n"
        + table(["store", "regime", "median ms", "P95 ms", "events stored"], rows)
    )
    write_section("alert_cycle", "Alert rule evaluation cycle (state machine + store)", body)


if __name__ == "__main__":
    main()
