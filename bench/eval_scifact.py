"""SciFact through ``ragline eval run beir:…`` vs bench/beir_scifact.py's own loop.

Both evaluate the same store (a copy of the one bench/beir_scifact.py ingested, so
the corpus is not embedded again: ``eval run`` ingests it incrementally, reusing the
stored vectors), the same 300 test queries and the same depth (300 hits,
document score = its best chunk). For each retrieval configuration the script
prints both nDCG@10 / recall@100 means and checks the per-query nDCG@10 values are
identical.

    python bench/beir_scifact.py        # once: ingests the corpus (MiniLM)
    python bench/eval_scifact.py [--modes keyword,dense,hybrid]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _results import DATASETS, WORK, table, write_section
from beir_scifact import load, ndcg_at, recall_at

import ragline

DEPTH = 300
CONFIGS = {
    "keyword": ("BM25 only", {"retrieval.mode": "keyword"}),
    "dense": ("dense only (bundled MiniLM)", {"retrieval.mode": "dense"}),
    "hybrid": ("hybrid, RRF (default)", {"retrieval.mode": "hybrid"}),
    "weighted": (
        "hybrid, weighted 0.5/0.5",
        {"retrieval.mode": "hybrid", "retrieval.fusion": "weighted"},
    ),
}


def copy_store(src: Path, dst: Path) -> None:
    """A consistent copy of a SQLite database (WAL included), made once."""
    if dst.exists():
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)


def ragline_cli(project: Path, *args: str) -> str:
    cmd = [sys.executable, "-m", "ragline.cli", "-C", str(project), *args]
    out = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stderr[-2000:]}")
    sys.stderr.write(out.stderr)
    return out.stdout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--modes", default="keyword,dense,hybrid")
    args = ap.parse_args()
    source = WORK / "scifact-full-minilm" / "ragline.db"
    if not source.exists():
        sys.exit(f"{source} is absent: run python bench/beir_scifact.py first")
    project = WORK / "eval-scifact"
    copy_store(source, project / "ragline.db")
    beir = DATASETS / "beir_scifact"
    _, queries, qrels = load(False)
    base = {"embedder": "minilm", "retrieval.candidates": DEPTH, "retrieval.k": DEPTH}
    rows = []
    mismatches_total = 0
    for mode in args.modes.split(","):
        label, extra = CONFIGS[mode]
        # 1. bench/beir_scifact.py's loop
        t = time.perf_counter()
        direct: dict[str, tuple[float, float]] = {}
        with ragline.Project(project, overrides={**base, **extra}) as p:
            for qid, text in queries.items():
                ranked: list[str] = []
                for h in p.search(text, k=DEPTH, mode=str(extra["retrieval.mode"])):
                    if h.chunk.document_id not in ranked:
                        ranked.append(h.chunk.document_id)
                direct[qid] = (ndcg_at(ranked, qrels[qid], 10), recall_at(ranked, qrels[qid], 100))
        direct_s = time.perf_counter() - t
        # 2. ragline eval run beir:… (the CLI, in a subprocess)
        sets = [a for k, v in extra.items() for a in ("--set", f"{k}={v}")]
        t = time.perf_counter()
        out = ragline_cli(
            project,
            "--embedder",
            "minilm",
            "eval",
            "run",
            f"beir:{beir}",
            "--tenant",
            "default",
            "--depth",
            str(DEPTH),
            "--no-cache",
            "--json",
            "--name",
            f"scifact-{mode}",
            *sets,
        )
        eval_s = time.perf_counter() - t
        run = json.loads(out)
        report = json.loads(ragline_cli(project, "eval", "report", run["run"], "--format", "json"))
        per_query = {
            r["case"]["id"]: next(m["value"] for m in r["metrics"] if m["metric"] == "ndcg@10")
            for r in report["results"]
        }
        mismatches = sum(1 for q in direct if per_query.get(q) != direct[q][0])
        mismatches_total += mismatches
        d_nd = sum(v[0] for v in direct.values()) / len(direct)
        d_rc = sum(v[1] for v in direct.values()) / len(direct)
        m = run["summary"]["categories"]["all"]["metrics"]
        e_nd, e_rc = m["ndcg@10"]["mean"], m["recall@100"]["mean"]
        print(
            f"{label:30s} loop nDCG@10 {d_nd:.6f} recall@100 {d_rc:.6f} ({direct_s:.0f}s)"
            f" | eval run nDCG@10 {e_nd:.6f} recall@100 {e_rc:.6f} ({eval_s:.0f}s)"
            f" | per-query nDCG@10 mismatches {mismatches}/{len(direct)}"
        )
        rows.append(
            [label, f"{d_nd:.4f}", f"{e_nd:.4f}", f"{d_rc:.4f}", f"{e_rc:.4f}",
             f"{mismatches}/{len(direct)}"]
        )  # fmt: skip
    body = (
        f"Full corpus, {len(queries)} test queries, depth {DEPTH}, embedder `minilm`; the store "
        "bench/beir_scifact.py built (copied). *loop* = bench/beir_scifact.py's evaluation; "
        "*eval run* = `ragline eval run beir:…/beir_scifact --tenant default --depth 300 "
        "--set retrieval.mode=…`; its first ingest on the copied store re-reads the corpus into "
        "the tenant reusing every stored vector (nothing is embedded again), later runs find "
        "all 5,183 documents unchanged.\n\n"
        + table(
            [
                "retrieval",
                "nDCG@10 loop",
                "nDCG@10 eval run",
                "recall@100 loop",
                "recall@100 eval run",
                "per-query nDCG@10 differences",
            ],
            rows,
        )
    )
    write_section("eval-scifact", "Evaluation runner — BEIR SciFact reproduction", body)
    if mismatches_total:
        sys.exit(f"{mismatches_total} per-query differences")


if __name__ == "__main__":
    main()
