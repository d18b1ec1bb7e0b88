"""Agent-loop overhead: loop detection per step, and the loop's own cost per step
(model time excluded), with a scripted model and instant tools.

- loop detection: ``LoopDetector.check_calls`` + ``check_results`` per step, over runs
  of 8 steps with 2 calls each (distinct calls, so nothing stops early); target ≤ 0.1 ms.
- agent loop: ``Agent.run`` with a ``FunctionModel`` that returns a calculator call for
  ``steps − 1`` turns then an answer, tracing off, no citation check; the per-step cost
  is (run time − the model function's own time) / steps. Tools run in threads, so a
  step includes starting one thread per call.

    python bench/agent_loop.py [--runs 200]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from _results import table, write_section

from ragline.agent import Agent, AgentLimits, LoopDetector
from ragline.models import Completion, Message, ToolCall, ToolSpec
from ragline.testing import FunctionModel, tool_turn


def detection(runs: int) -> list[float]:
    per_step: list[float] = []
    for r in range(runs):
        detector = LoopDetector()
        calls = [
            [ToolCall(f"c{s}a", "search", {"query": f"q{r}-{s}"}),
             ToolCall(f"c{s}b", "calculator", {"expression": f"{s} + {r}"})]
            for s in range(8)
        ]  # fmt: skip
        results = [[f'{{"hits": [{s}]}}', f'{{"value": {s}}}'] for s in range(8)]
        t0 = time.perf_counter()
        for c, res in zip(calls, results, strict=True):
            assert detector.check_calls(c) is None
            assert detector.check_results(res) is None
        per_step.append((time.perf_counter() - t0) * 1000 / 8)
    return per_step


class Script:
    """``steps - 1`` turns of ``parallel`` calculator calls, then an answer; times itself."""

    def __init__(self, steps: int, parallel: int) -> None:
        self.steps, self.parallel = steps, parallel
        self.turn = 0
        self.model_ms = 0.0

    def __call__(
        self, messages: list[Message], tools: list[ToolSpec] | None, options: dict[str, Any]
    ) -> Completion:
        t0 = time.perf_counter()
        self.turn += 1
        if self.turn < self.steps:
            calls = [
                ("calculator", {"expression": f"{self.turn} * {i}"}) for i in range(self.parallel)
            ]
            reply = tool_turn(*calls)
        else:
            reply = Completion(text="done", model="f")
        self.model_ms += (time.perf_counter() - t0) * 1000
        return reply


def loop(runs: int, steps: int, parallel: int) -> list[float]:
    per_step: list[float] = []
    limits = AgentLimits(max_steps=steps, max_tool_calls=500)
    for _ in range(runs):
        script = Script(steps, parallel)
        agent = Agent(FunctionModel(script), builtins=["calculator"], limits=limits)
        t0 = time.perf_counter()
        run = agent.run("go")
        total = (time.perf_counter() - t0) * 1000
        assert run.stop_reason == "completed" and run.steps == steps
        per_step.append((total - script.model_ms) / steps)
    return per_step


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200)
    args = ap.parse_args()
    rows: list[list[object]] = []
    d = detection(args.runs * 5)
    rows.append(
        ["loop detection (2 calls a step)", statistics.median(d), sorted(d)[int(len(d) * 0.95)]]
    )
    for parallel in (1, 4):
        x = loop(args.runs, 8, parallel)
        rows.append(
            [
                f"agent loop, 8 steps, {parallel} call(s) a step",
                statistics.median(x),
                sorted(x)[int(len(x) * 0.95)],
            ]
        )
    body = table(["what", "median ms / step", "P95 ms / step"], rows)
    body += (
        "\n\nModel time excluded (a scripted FunctionModel; its own time is subtracted); "
        "tracing off; instant calculator calls, each run in its own thread. Not measured "
        "here: the comparison with LangGraph's prebuilt ReAct agent (langgraph is not "
        "installed in this environment)."
    )
    print(body)
    write_section("agent_loop", "Agent loop — loop detection and per-step overhead", body)


if __name__ == "__main__":
    main()
