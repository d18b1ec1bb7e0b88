"""What the injection classifier costs as a default: asks with it off and on.

    python bench/guards_default_cost.py [--rounds 4] [--questions 120]

A project over the sample knowledge base with the default offline configuration
(bundled MiniLM, extractive answers), tracing off. The same questions (the sample
suite's, then SciFact's), each once per setup so the retriever's query cache never
answers, are asked with ``guards.injection.classifier: false`` and with
the default (``auto``: on with MiniLM), alternating rounds so both see the same machine
load. The classifier embeds the question; since an ask's stages share that embedding
(``ragline.embed._memo``), retrieval does not embed it again. Reported: ask latency
P50/P95 for each, the ratio, and the benign questions refused by each.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _results import DATASETS, table, write_section

import ragline

ROOT = Path(__file__).resolve().parents[1]


def questions(n: int) -> list[str]:
    out = [
        json.loads(line)["question"]
        for line in (ROOT / "examples/sample-kb-eval/cases.jsonl").read_text().splitlines()
        if line.strip() and json.loads(line).get("category") != "safety"
    ]
    scifact = DATASETS / "beir_scifact" / "queries.jsonl"
    if scifact.exists():
        for line in scifact.read_text().splitlines()[: max(0, n - len(out))]:
            out.append(json.loads(line)["text"])
    return out[:n] if n else out


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--questions", type=int, default=120)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ragline-guard-default-"))
    try:
        shutil.copytree(ROOT / "examples/sample-kb", work / "kb")
        base = {"tracing.enabled": False}
        setups = {
            "classifier off": ragline.Project(
                work, overrides={**base, "guards.injection.classifier": False}
            ),
            "classifier auto (default)": ragline.Project(work, overrides=base),
        }
        setups["classifier off"].ingest([work / "kb"])
        qs = questions(args.questions * args.rounds + 1)
        warm, qs = qs[0], qs[1:]
        times: dict[str, list[float]] = {k: [] for k in setups}
        refused: dict[str, set[str]] = {k: set() for k in setups}
        for p in setups.values():  # warm: models loaded
            p.ask(warm)
        rounds = [qs[r :: args.rounds] for r in range(args.rounds)]
        for r, round_qs in enumerate(rounds):
            # each question once per setup: neither gets the retriever's query cache
            order = list(setups) if r % 2 == 0 else list(reversed(setups))
            for name in order:
                p = setups[name]
                for q in round_qs:
                    t = time.perf_counter()
                    a = p.ask(q)
                    times[name].append((time.perf_counter() - t) * 1000)
                    if a.blocked:
                        refused[name].add(q)
        rows = []
        for name, xs in times.items():
            rows.append(
                [
                    name,
                    f"{statistics.median(xs):.2f}",
                    f"{pct(xs, 0.95):.2f}",
                    f"{len(refused[name])} of {len(qs)}",
                ]
            )
        off = statistics.median(times["classifier off"])
        on = statistics.median(times["classifier auto (default)"])
        body = (
            f"{len(qs)} benign questions (the sample suite's non-safety questions, then "
            f"SciFact queries) in {args.rounds} rounds, each asked once per setup, the "
            "setups alternating; ask latency in ms "
            "(sample KB, MiniLM, extractive answers, tracing off, response cache off).\n\n"
            + table(["setup", "P50 ms", "P95 ms", "refused"], rows)
            + f"\n\nMedian ask with the classifier on / off: {on / off:.3f}×.\n"
        )
        extra = sorted(refused["classifier auto (default)"] - refused["classifier off"])
        if extra:
            body += (
                "\nRefused only with the classifier: " + "; ".join(f"“{q}”" for q in extra) + "\n"
            )
        print(body)
        write_section("guards-default-cost", "Injection classifier as a default: ask cost", body)
        for p in setups.values():
            p.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
