"""What the answer pipeline costs per ask: this tree against an older commit, same run.

    python bench/pipeline_overhead.py [--old 5ffb540] [--rounds 4] [--asks 300]

The old commit is checked out (``git archive``) into ``bench/_work/old-<rev>``; each
measurement runs in a fresh process with one tree's ``src`` first on ``sys.path`` and
only the API both share (``Project(path).ask(question)``), over a copy of
bench/query_latency.py's 5k-chunk SciFact store (SQLite, bundled MiniLM, extractive
model, tracing on — the defaults). Runs alternate old/new for ``--rounds`` rounds so
the shared machine's noise falls on both; the ratio new/old is per round, then the
median. Workloads, as bench/ask_throughput.py: *distinct* SciFact claims (none asked
twice in a process) on 1 thread and on 8 threads, and *repeated* (50 claims asked
round-robin after a warm-up pass) on 1 thread.

A third variant, *new, cite untraced*, runs this tree with the cite stage's span turned
off (its attributes land on the root span): the difference to *new* is what the one
span the pipeline adds per ask (``ragline.citations``) costs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from statistics import median

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _results import WORK, table, write_section

ROOT = Path(__file__).resolve().parents[1]
REPEATED = 50


def worker(store: Path, asks: int, untraced: str | None) -> dict[str, object]:
    """One process: every workload, on the ragline that is first on sys.path."""
    from ask_throughput import hammer, scifact_queries

    import ragline

    if untraced:
        from ragline.answer import _stages

        stage = next(c for c in vars(_stages).values() if getattr(c, "name", None) == untraced)
        stage.span = None

    queries = scifact_queries()
    pool = queries[-REPEATED:]
    out: dict[str, object] = {"ragline": str(Path(ragline.__file__).parents[1])}
    with ragline.Project(store) as p:
        for q in pool[:20]:
            p.ask(q)  # the model, the store's matrices, the caches of these 20
        for name, questions, threads in (
            ("distinct, 1 thread", queries[:asks], 1),
            ("distinct, 8 threads", queries[asks : 2 * asks], 8),
        ):
            wall, cpu, lat = hammer(p.ask, questions, threads)
            out[name] = {"wall": wall, "cpu": cpu, "lat": lat}
        hammer(p.ask, pool, 1)
        asked = (pool * (asks // REPEATED + 1))[:asks]
        wall, cpu, lat = hammer(p.ask, asked, 1)
        out["repeated, 1 thread"] = {"wall": wall, "cpu": cpu, "lat": lat}
        p.flush_traces()
    return out


def old_tree(rev: str) -> Path:
    dest = WORK / f"old-{rev}"
    if (dest / "src" / "ragline").is_dir():
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile() as f:
        subprocess.run(["git", "-C", str(ROOT), "archive", rev, "src"], stdout=f, check=True)
        f.seek(0)
        with tarfile.open(fileobj=f) as tar:
            tar.extractall(dest, filter="data")
    return dest


def run(src: Path, store: Path, asks: int, untraced: str | None = None) -> dict[str, object]:
    """A measurement in a fresh process over a fresh copy of the store."""
    copy = WORK / "overhead" / "store"
    shutil.rmtree(copy, ignore_errors=True)
    copy.mkdir(parents=True)
    shutil.copy(store / "ragline.db", copy / "ragline.db")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), str(Path(__file__).parent)])}
    out = subprocess.run(
        [sys.executable, __file__, "--worker", str(copy), "--asks", str(asks)]
        + (["--untraced", untraced] if untraced else []),
        env=env,
        capture_output=True,
        text=True,
    )
    if out.returncode:
        sys.exit(out.stderr)
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["ragline"] == str(src), f"measured {result['ragline']}, not {src}"
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--old", default="5ffb540", help="the commit to compare with")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--asks", type=int, default=300, help="asks per workload")
    ap.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--untraced", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.asks, args.untraced)))
        return
    from query_latency import build_base

    store = build_base(WORK / "latency")
    variants = {  # name: (tree, stage run untraced)
        "old": (old_tree(args.old) / "src", None),
        "new": (ROOT / "src", None),
        "new, cite untraced": (ROOT / "src", "cite"),
    }
    names = list(variants)
    load = os.getloadavg()
    rounds: list[dict[str, dict[str, object]]] = []
    for i in range(args.rounds):
        order = names[i % len(names) :] + names[: i % len(names)]  # each goes first in turn
        rounds.append({v: run(variants[v][0], store, args.asks, variants[v][1]) for v in order})
        print(f"round {i + 1}/{args.rounds} done", flush=True)

    def ratio(v: str, workload: str) -> str:
        r = median(
            (r[v][workload]["wall"] / r["old"][workload]["wall"])  # type: ignore[index]
            for r in rounds
        )
        return f"{(r - 1) * 100:+.1f}%"

    rows = []
    for workload in ("distinct, 1 thread", "distinct, 8 threads", "repeated, 1 thread"):
        stats = {}
        for v in names:
            per = [r[v][workload] for r in rounds]  # type: ignore[index]
            stats[v] = {
                "p50": median(float(np.percentile(m["lat"], 50)) for m in per),
                "rate": median(len(m["lat"]) / m["wall"] for m in per),
                "cpu": median(m["cpu"] * 1000 / len(m["lat"]) for m in per),
            }
        rows.append(
            [
                workload,
                " / ".join(f"{stats[v]['rate']:.1f}" for v in names),
                " / ".join(f"{stats[v]['p50']:.2f}" for v in names),
                " / ".join(f"{stats[v]['cpu']:.2f}" for v in names),
                ratio("new", workload),
                ratio("new, cite untraced", workload),
            ]
        )
    headers = [
        "workload",
        "asks/s old / new / untraced",
        "P50 ms old / new / untraced",
        "CPU ms/ask old / new / untraced",
        "time per ask, new vs old",
        "new, cite untraced, vs old",
    ]
    body = (
        f"`Project.ask` on the 5k-chunk SciFact store (SQLite, bundled MiniLM, extractive, "
        f"tracing on), {args.asks} asks per workload, old = commit `{args.old}` (the flow in "
        "`Project._ask`), new = this tree (the stage pipeline), untraced = this tree with the "
        "cite stage's span off (the one span per ask the pipeline adds). "
        f"{args.rounds} rounds, each variant in a fresh process, the order rotating; medians "
        "over the rounds, and the median of the per-round ratios of wall time.\n\n"
        + table(headers, rows)
        + f"\n\nLoad average (1 min) before / after: {load[0]:.1f} / {os.getloadavg()[0]:.1f}.\n"
    )
    print(body)
    write_section("pipeline-overhead", "Pipeline overhead (old flow vs stage pipeline)", body)


if __name__ == "__main__":
    main()
