"""Evaluation runner throughput, its overhead vs calling the pipeline directly, and the
speed-up of re-running an unchanged suite from the cache.

The sample knowledge base (examples/sample-kb, ingested once into a store under
bench/_work/) and its evaluation suite (examples/sample-kb-eval/cases.jsonl), the
extractive model and the default embedder. Per round, in rotating order:

- direct — ``Project.ask`` on every case in a loop;
- runner, no metrics — ``EvalRunner`` with an empty metric list, cache off, concurrency 1:
  the runner's own cost (fingerprint, per-case storage, bookkeeping) over ``ask``; and
  the same at concurrency 4 (pipeline throughput with a thread pool);
- runner, all metrics — cache off, concurrency 1 and 4 (what ``ragline eval run`` does;
  run once each, first);
- cached — the same run again with the cache on (every output and score reused).

- runner's own work — the same run with the pipeline's outputs replayed from memory:
  everything the runner adds to ``ask`` (fingerprint, cache keys, per-case storage,
  summary). Its time over direct's is the overhead; on this shared box the end-to-end
  difference of two ~1 s loops is within the noise, so this is the number to read.

Reported: the best round of each (the machine is a shared 2-core box; the minimum is
the least disturbed measurement), cases/s, the runner's overhead vs direct, and the
cached re-run's speed-up vs a full run.

    python bench/eval_runner.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from _results import WORK, table, write_section

import ragline
from ragline.evals import EvalRunner, ProjectTarget, default_metrics, load_cases
from ragline.store.sqlite import SQLiteEvalStore

REPO = Path(__file__).resolve().parents[1]
SUITE = REPO / "examples" / "sample-kb-eval" / "cases.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--embedder", default="minilm")
    args = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    db = WORK / f"eval-runner-{args.embedder}.db"
    project = ragline.Project(
        REPO, overrides={"store": f"sqlite:///{db}", "embedder": args.embedder}
    )
    project.ingest([REPO / "examples" / "sample-kb"])
    cases = load_cases(SUITE)
    n = len(cases)
    evals = SQLiteEvalStore(WORK / f"eval-runner-{args.embedder}-runs.db")

    def metrics() -> list[object]:
        # fresh metric objects per run: the citation scorer caches embeddings per instance
        return list(default_metrics(project.embedder, k=project.settings.retrieval.k))

    target = ProjectTarget(project)
    for c in cases[:5]:  # warm up: model load, store caches
        project.ask(c.question, tenant=c.tenant)

    def direct() -> None:
        for c in cases:
            project.ask(c.question, tenant=c.tenant)

    def runner(
        make: Callable[[], list[object]], concurrency: int, cache: bool
    ) -> Callable[[], None]:
        def go() -> None:
            EvalRunner(
                evals,
                target,
                make(),  # type: ignore[arg-type]
                concurrency=concurrency,
                use_cache=cache,
            ).run(cases, dataset_path=str(SUITE))

        return go

    best: dict[str, float] = {}

    def timed(name: str, fn: Callable[[], None]) -> None:
        t0 = time.perf_counter()
        fn()
        best[name] = min(best.get(name, float("inf")), time.perf_counter() - t0)
        print(f"{name:40s} {best[name]:8.3f}s")

    # full evaluations (every metric) once each: they also fill the cache
    timed("runner, all metrics, concurrency 1", runner(metrics, 1, False))
    timed("runner, all metrics, concurrency 4", runner(metrics, 4, False))
    outputs = {c.id: target.run_case(c) for c in cases}

    class Replay:
        """The runner's own work only: fingerprint, keys, storage, summary — the
        pipeline's outputs are replayed from memory."""

        name = "project"

        def fingerprint(self, cs: list[object]) -> dict[str, object]:
            return target.fingerprint(cs)  # type: ignore[arg-type]

        def run_case(self, case: object) -> object:
            return outputs[case.id]  # type: ignore[attr-defined]

    def replay() -> None:
        EvalRunner(evals, Replay(), [], use_cache=False).run(cases, dataset_path=str(SUITE))  # type: ignore[arg-type]

    cheap: dict[str, Callable[[], None]] = {
        "runner's own work (pipeline replayed)": replay,
        "direct: Project.ask loop": direct,
        "runner, no metrics, concurrency 1": runner(list, 1, False),
        "runner, no metrics, concurrency 4": runner(list, 4, False),
        "runner, cached re-run": runner(metrics, 1, True),
    }
    names = list(cheap)
    for r in range(args.rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            timed(name, cheap[name])
    names = [*names[:4], "runner, all metrics, concurrency 1", "runner, all metrics, concurrency 4",
             names[4]]  # fmt: skip
    d = best["direct: Project.ask loop"]
    full = best["runner, all metrics, concurrency 1"]
    rows = []
    for name in names:
        s = best[name]
        note = ""
        if name.startswith("runner's own work"):
            note = f"overhead = {100 * s / d:.1f}% of the direct loop (target ≤ 5%)"
        elif name == "runner, no metrics, concurrency 1":
            note = f"{100 * (s - d) / d:+.1f}% vs direct (end to end; machine noise ±20%)"
        elif name.startswith("runner, all metrics"):
            note = f"{100 * (s - d) / d:+.1f}% vs direct (scoring included)"
        elif name == "runner, cached re-run":
            note = f"{full / s:.0f}× faster than a full run (target ≥ 100×)"
        rows.append([name, f"{s:.3f}", f"{n / s:.1f}", note])
        print(f"{name:40s} {s:7.3f}s  {n / s:7.1f} cases/s  {note}")
    body = (
        f"{n} cases of `examples/sample-kb-eval/cases.jsonl` on the sample knowledge base, "
        f"extractive model, embedder `{args.embedder}`. Direct, no-metrics and cached: best of "
        f"{args.rounds} rounds (rotating order); the all-metrics runs once each (they also "
        "fill the cache the cached re-run reads).\n\n"
        + table(["path", "seconds", "cases/s", ""], rows)
    )
    write_section(f"eval-runner-{args.embedder}", f"Evaluation runner ({args.embedder})", body)


if __name__ == "__main__":
    main()
