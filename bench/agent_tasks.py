"""The agent task set of the sample KB: success rate, mean steps, tool-call accuracy and
loop rate, with the scripted reference policy (memory on and off), a broken policy, and
the bundled local model (``model: local``, when llama-cpp is installed).

The project is the sample KB in an in-memory store with the hash embedder (offline, a
few seconds to build); every run goes through ``EvalRunner`` + ``AgentTarget``, as
``ragline eval run --agent`` does. The local model runs the first ``--local-tasks``
tasks only (a 270M base model on 2 shared cores takes seconds a step).

    python bench/agent_tasks.py [--local-tasks 6]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _results import table, write_section

from ragline import Project
from ragline.evals import AgentTarget, Case, EvalRunner, agent_metrics, load_cases
from ragline.store import MemoryStore
from ragline.testing import HashEmbedder, broken_policy, lookup_order, reference_policy

REPO = Path(__file__).resolve().parents[1]
TASKS = REPO / "examples" / "sample-kb-eval" / "agent-tasks.jsonl"


def _row(label: str, project: Project, cases: list[Case], model: Any, memory: bool) -> list[str]:
    target = AgentTarget(project, model=model, tools=[lookup_order], memory=memory)
    t0 = time.perf_counter()
    run = EvalRunner(project.evals, target, agent_metrics(), use_cache=False).run(
        cases, dataset_path=str(TASKS)
    )
    seconds = time.perf_counter() - t0
    print(f"{label}: {seconds:.1f} s", file=sys.stderr)
    metrics = run.summary["categories"]["all"]["metrics"]

    def mean(name: str) -> str:
        m = metrics.get(name)
        return "—" if not m or m.get("mean") is None else f"{m['mean']:.3f}"

    loop = metrics["loop_detected"]["mean"]
    errors = run.summary["categories"]["all"].get("errors", 0)
    return [
        label,
        str(len(cases)),
        mean("agent_success"),
        mean("agent_steps"),
        mean("tool_call_accuracy"),
        f"{1 - loop:.3f}",
        mean("tool_error_recovery"),
        mean("memory_recall"),
        str(errors),
        f"{seconds:.1f}",
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--local-tasks", type=int, default=6, help="tasks for the local model")
    args = ap.parse_args()
    cases = load_cases(TASKS)
    project = Project(tempfile.mkdtemp(), store=MemoryStore(), embedder=HashEmbedder())
    project.ingest([REPO / "examples" / "sample-kb"])
    rows = [
        _row("reference policy, memory on", project, cases, reference_policy(cases), True),
        _row("reference policy, memory off", project, cases, reference_policy(cases), False),
        _row("broken policy (wrong tool, loops)", project, cases, broken_policy(), True),
    ]
    notes = []
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        notes.append(
            "- local model not run: llama-cpp is not installed (pip install 'ragline[local]')"
        )
    else:
        if args.local_tasks > 0:
            subset = cases[: args.local_tasks]
            rows.append(_row(f"local model (first {len(subset)})", project, subset, "local", True))
        else:
            notes.append("- local model not run here (--local-tasks 0)")
    notes.append("- OpenAI-compatible model: not run (no key in this environment)")
    header = [
        "policy",
        "tasks",
        "success",
        "mean steps",
        "tool-call acc.",
        "loop rate",
        "recovery",
        "memory recall",
        "errors",
        "seconds",
    ]
    body = (
        table(header, rows)
        + "\n\n"
        + "\n".join(notes)
        + "\n- reading: the reference policy answers only with what the tools and memory "
        "returned, so its success is the harness's ceiling on this store (hash embedder); "
        "memory off fails exactly the memory tasks; the broken policy is stopped by loop "
        "detection on every task.\n"
    )
    print(body)
    write_section("agent_tasks", "Agent task set — success, steps, tool calls, loops", body)


if __name__ == "__main__":
    main()
