"""Shadow mode cost: the served request's latency with 0, 1 and 3 shadow variants.

    python bench/experiments_shadow.py [--docs 300] [--queries 80] [--gap-ms 0]

A SciFact subset (``--docs`` abstracts of ../shared/datasets/beir_scifact, hash
embedder, SQLite) is ingested once and copied to three project folders (one database
each, so their trace writers do not contend for one file), with an experiment
``mode: shadow`` of 0 (no experiment), 1 and 3 shadow variants (k=1, k=3, keyword
retrieval; queue 64, 1 worker). The same queries are asked one at a time (a client
waiting for each answer, then ``--gap-ms`` of idle time) in rotating order, so the
three configurations share the machine's noise. The served latency is the wall time
of ``Project.ask``; the shadow runs go on in the background between and during later
requests. At the end each project is closed (the queued shadow runs finish or are
dropped, counted). Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import DATASETS, WORK, table, write_section

SHADOWS = [
    {"name": "k1", "retrieval": {"k": 1}},
    {"name": "k3", "retrieval": {"k": 3}},
    {"name": "keyword", "retrieval": {"mode": "keyword"}},
]


def build(root: Path, docs: int) -> None:
    import ragline

    shutil.rmtree(root, ignore_errors=True)
    (root / "docs").mkdir(parents=True)
    with gzip.open(DATASETS / "beir_scifact" / "corpus.jsonl.gz", "rt", encoding="utf-8") as f:
        lines = [next(f) for _ in range(docs)]
    (root / "docs" / "corpus.jsonl").write_text("".join(lines), encoding="utf-8")
    (root / "ragline.yaml").write_text("embedder: hash\n", encoding="utf-8")
    with ragline.Project(root) as project:
        project.ingest([root / "docs"], id_field="_id", text_field="text", title_field="title")
    for n in (0, 1, 3):
        folder = root / f"shadow{n}"
        folder.mkdir()
        shutil.copy(root / "ragline.db", folder / "ragline.db")
        config: dict[str, Any] = {"embedder": "hash", "tracing": {"enabled": True}}
        if n:
            config["experiments"] = [
                {
                    "name": f"shadow{n}",
                    "mode": "shadow",
                    "shadow": {"queue": 64, "workers": 1},
                    "variants": [{"name": "control"}, *SHADOWS[:n]],
                }
            ]
        (folder / "ragline.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=300)
    parser.add_argument("--queries", type=int, default=80)
    parser.add_argument("--gap-ms", type=float, default=0.0, help="client idle time per ask")
    args = parser.parse_args()
    if not (DATASETS / "beir_scifact").exists():
        sys.exit("../shared/datasets/beir_scifact is absent; nothing to measure")
    import ragline

    load_before = os.getloadavg()[0]
    root = WORK / "experiments_shadow"
    build(root, args.docs)
    lines = (DATASETS / "beir_scifact" / "queries.jsonl").read_text().splitlines()
    questions = [json.loads(line)["text"] for line in lines[: args.queries]]
    projects = {n: ragline.Project(root / f"shadow{n}") for n in (0, 1, 3)}
    for project in projects.values():  # warm: models, views, the first connection
        project.ask(questions[0], user="warm")
    latencies: dict[int, list[float]] = {n: [] for n in projects}
    order = list(projects)
    for i, question in enumerate(questions):
        for n in order[i % 3 :] + order[: i % 3]:
            start = time.perf_counter()
            projects[n].ask(question, user=f"user-{i}")
            latencies[n].append((time.perf_counter() - start) * 1000)
            time.sleep(args.gap_ms / 1000)
    rows = []
    base_p95 = percentile(latencies[0], 0.95)
    for n, project in projects.items():
        started = time.perf_counter()
        stats = project.parts.shadows.stats() if n else {}
        project.close()
        drain_s = time.perf_counter() - started
        after = project.parts.shadows.stats() if n else {}
        done = next(iter(after.values()), None)
        p95 = percentile(latencies[n], 0.95)
        rows.append(
            [
                str(n),
                str(len(latencies[n])),
                f"{statistics.median(latencies[n]):.1f}",
                f"{p95:.1f}",
                f"{100 * (p95 / base_p95 - 1):+.1f}%" if n else "—",
                f"{done.submitted}" if done else "0",
                f"{done.ran}" if done else "0",
                f"{done.dropped + done.expired}" if done else "0",
                f"{next(iter(stats.values())).queued}" if stats else "0",
                f"{drain_s:.1f}",
            ]
        )
    body = (
        f"SciFact subset: {args.docs} abstracts, {len(questions)} queries asked one at a time "
        f"({args.gap_ms:g} ms idle after each) by each configuration in rotating order (same "
        "run), hash embedder, extractive "
        "answerer, SQLite, tracing on. Shadow variants: k=1, k=3, keyword retrieval; "
        f"queue 64, 1 worker each experiment. Machine load average (1 min) {load_before:.1f} "
        f"before, {os.getloadavg()[0]:.1f} after (other work on the same 2 cores).\n\n"
        + table(
            [
                "shadow variants",
                "asks",
                "served P50 ms",
                "served P95 ms",
                "P95 vs none",
                "shadow runs queued",
                "ran",
                "dropped/expired",
                "still queued at the end",
                "close s",
            ],
            rows,
        )
        + "\n\nThe served path only enqueues (a bounded `put_nowait`); the shadow runs share "
        "the process's CPU (and the GIL) with the served requests, so on a 2-core machine "
        "their cost shows in the served latency unless the client leaves idle time between "
        "requests. `close s`: the project's close waits for queued shadow runs, up to "
        "`tracing.flush_timeout_s`."
    )
    gap = f"{args.gap_ms:g}"
    write_section(
        f"experiments_shadow_gap{gap}",
        f"Shadow mode: served latency with 0, 1, 3 shadows ({gap} ms client idle time)",
        body,
    )


if __name__ == "__main__":
    main()
