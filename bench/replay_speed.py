"""Replay speed: ``Project.replay`` on 1,000 past asks vs a plain loop of ``Project.ask``.

    python bench/replay_speed.py [--asks 1000] [--docs 2152] [--embedder minilm] [--rounds 2]

The knowledge base is the BEIR SciFact test subset (``--docs`` abstracts, default all
2,152) ingested into bench/_work/replay/ (kept between runs); the past asks are
``--asks`` SciFact queries (all distinct) asked once with tracing on, the defaults
(``extractive`` answers). Then, in the same run, each measured pass opens a fresh
Project (cold query-vector cache, the embedder loaded before the clock starts) over the
same store and questions:

- ``ask loop``: ``for q in questions: project.ask(q)`` — what a hand-written replay
  script does (it traces every ask, as ``ask`` always does);
- ``replay, extractive answers``: ``project.replay()`` under a changed config (a
  routing rule that fires on no SciFact query, so the work is the same as the loop's);
  it reads each trace back, re-runs the ask untraced, checks the trace's chunks against
  the store and scores answer relevance (one embedding call per ask);
- ``replay, retrieval only``: ``project.replay(retrieval_only=True)``.

*Speed vs loop* is the loop's time divided by the pass's time (> 1: faster than the
loop). Passes alternate over ``--rounds`` rounds; each row is the best round (the
machine is shared: the best is the least disturbed).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _results import DATASETS, WORK, table, write_section

import ragline
from ragline.evals._replay import ReplayQuery

SCIFACT = DATASETS / "beir_scifact"
NO_OP_RULE: dict[str, Any] = {
    "name": "currency",
    "when": {"query_matches": r"\bEUR\s?\d{7,}\b"},
    "boost": {"doc_type": "finance", "factor": 1.5},
}


def questions(n: int) -> list[str]:
    lines = (SCIFACT / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    out = list(dict.fromkeys(json.loads(line)["text"] for line in lines))
    if len(out) < n:
        raise SystemExit(f"SciFact has {len(out)} distinct queries, fewer than --asks {n}")
    return out[:n]


def build(root: Path, docs: int, embedder: str, asked: list[str]) -> Path:
    """The project: the corpus ingested and ``asked`` asked once each (traced)."""
    marker = root / f"asked-{len(asked)}.done"
    if marker.exists():
        return root
    root.mkdir(parents=True, exist_ok=True)
    (root / "ragline.yaml").write_text(f"embedder: {embedder}\n", encoding="utf-8")
    corpus = root / "corpus.jsonl"
    lines = (SCIFACT / "subset_test" / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    corpus.write_text("\n".join(lines[:docs]) + "\n", encoding="utf-8")
    with ragline.Project(root) as p:
        start = time.perf_counter()
        p.ingest([corpus], id_field="_id", text_field="text", title_field="title")
        print(f"ingested {p.stats()} in {time.perf_counter() - start:.0f} s", flush=True)
        start = time.perf_counter()
        for q in asked:
            p.ask(q)
        p.flush_traces(60)
        print(f"asked {len(asked)} past questions in {time.perf_counter() - start:.0f} s")
    marker.write_text("ok\n", encoding="utf-8")
    return root


def warm(p: ragline.Project) -> None:
    """Load the embedder (and the SQLite pages) before the clock starts."""
    p.parts.load_models()
    p.search("warm-up question about nothing in particular")


def ask_loop(root: Path, asked: list[str]) -> float:
    scratch = root.with_name(root.name + "-loop")  # its traces stay out of the replayed store
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(root, scratch)
    with ragline.Project(scratch) as p:
        warm(p)
        start = time.perf_counter()
        for q in asked:
            p.ask(q)
        return time.perf_counter() - start


def replay(root: Path, n: int, *, retrieval_only: bool) -> tuple[float, dict[str, int]]:
    with ragline.Project(root) as p:
        warm(p)
        start = time.perf_counter()
        report = p.replay(
            ReplayQuery(tenant="default", limit=n),
            overrides={"routing": [NO_OP_RULE]},
            retrieval_only=retrieval_only,
        )
        seconds = time.perf_counter() - start
    counts = report.counts()
    if counts["replayed"] < n:
        raise SystemExit(f"replayed {counts['replayed']} asks, expected {n}")
    return seconds, counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--asks", type=int, default=1000)
    ap.add_argument("--docs", type=int, default=2152)
    ap.add_argument("--embedder", default="minilm")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    asked = questions(args.asks)
    root = build(WORK / f"replay-{args.embedder}-{args.docs}", args.docs, args.embedder, asked)
    best: dict[str, float] = {}
    counts: dict[str, dict[str, int]] = {}
    for r in range(args.rounds):
        loop_s = ask_loop(root, asked)
        best["loop"] = min(best.get("loop", loop_s), loop_s)
        for name, only in (("answers", False), ("retrieval", True)):
            seconds, counts[name] = replay(root, args.asks, retrieval_only=only)
            best[name] = min(best.get(name, seconds), seconds)
        print(f"round {r + 1}: " + ", ".join(f"{k} {v:.1f} s" for k, v in best.items()))
    rows: list[list[object]] = []
    for name, label in (
        ("loop", "ask loop (`Project.ask`, traced)"),
        ("answers", "replay, extractive answers"),
        ("retrieval", "replay, retrieval only"),
    ):
        s = best[name]
        rows.append(
            [label, args.asks, f"{s:.1f}", f"{args.asks / s:.1f}", f"{best['loop'] / s:.2f}×"]
        )
    body = (
        f"SciFact test subset, {args.docs} abstracts, embedder `{args.embedder}`, "
        f"{args.asks} distinct past asks (SciFact queries) traced once; each pass in a fresh "
        f"Project, best of {args.rounds} rounds. Replay under a routing rule that fires on "
        "no query (same work as the loop); "
        f"changed asks: {counts['answers']['changed']} (answers), "
        f"{counts['retrieval']['changed']} (retrieval only). Answer relevance is scored only "
        "for answers that changed (an embedding call each), so none is scored here.\n\n"
        + table(["pass", "asks", "seconds", "asks/s", "speed vs loop"], rows)
    )
    print(body)
    write_section("replay-speed", "Replay speed (1,000 past asks)", body)


if __name__ == "__main__":
    main()
