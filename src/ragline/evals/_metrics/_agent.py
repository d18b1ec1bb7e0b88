"""Agent metrics: did the run do the task, with the right tools, without looping?

They score cases with an ``agent`` block (:class:`~ragline.store._evals.AgentExpect`)
against the run recorded in ``CaseOutput.agent`` (stop reason, steps, tool calls with
their arguments), as ``ragline eval run --agent`` produces it:

- ``agent_success`` (pass/fail): the expected stop reason, every ``must_contain`` fact
  in the answer, every expected tool call made and no forbidden tool called;
- ``tool_call_accuracy``: the share of expected calls made (name and key arguments);
  0 when a forbidden tool was called;
- ``agent_steps``: model turns of the run; ``loop_detected`` (pass when the run was
  *not* stopped by loop detection; its mean is 1 - loop rate, so higher is better like
  every other metric);
- ``tool_error_recovery`` (cases with ``fail_once``): the injected tool error happened,
  the tool was called again successfully, and the task succeeded;
- ``memory_recall`` (cases with ``earlier`` sessions): the share of ``must_contain``
  facts in the answer, facts only an earlier session of the user told.

A case whose run failed (``CaseOutput.error``) is ``pipeline_error`` for all but the
steps. A case without an agent block is not scored (``applies`` is False), and an
output without a recorded run is the typed failure ``no_agent_run``.
"""

from __future__ import annotations

from typing import Any

from ragline.evals._metrics._base import BaseMetric, MetricFailure
from ragline.evals._metrics._phrases import contains_phrase
from ragline.evals._types import Case, CaseOutput, MetricResult
from ragline.store._evals import AgentExpect, ExpectedCall


def _run(output: CaseOutput) -> dict[str, Any]:
    if output.agent is None:
        raise MetricFailure("no_agent_run", hint="run the suite with ragline eval run --agent")
    return output.agent


def _expect(case: Case) -> AgentExpect:
    assert case.agent is not None  # applies() checked it
    return case.agent


def _arg_matches(expected: Any, actual: Any) -> bool:
    if isinstance(expected, str) and isinstance(actual, str):
        return expected.casefold() in actual.casefold()
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return float(expected) == float(actual)
    return bool(expected == actual)


def call_matches(expected: ExpectedCall, call: dict[str, Any]) -> bool:
    """``call`` (``{"name", "arguments"}``) is the expected call: same tool, key arguments."""
    if call.get("name") != expected.name:
        return False
    args = call.get("arguments") or {}
    return all(k in args and _arg_matches(v, args[k]) for k, v in expected.arguments.items())


def matched_calls(expect: AgentExpect, calls: list[dict[str, Any]]) -> int:
    """How many expected calls the run made (each run call counts for one expected)."""
    free = list(calls)
    found = 0
    for expected in expect.tools:
        for i, call in enumerate(free):
            if call_matches(expected, call):
                found += 1
                del free[i]
                break
    return found


def forbidden_called(expect: AgentExpect, calls: list[dict[str, Any]]) -> list[str]:
    return sorted({c["name"] for c in calls if c.get("name") in expect.forbidden_tools})


def missing_facts(case: Case, answer: str) -> list[str]:
    """The ``must_contain`` facts not in the answer (matched as ``must_contain`` does)."""
    return [f for f in case.must_contain if not contains_phrase(answer, f)]


class _AgentMetric(BaseMetric):
    def applies(self, case: Case) -> bool:
        return case.agent is not None


class AgentSuccess(_AgentMetric):
    """The task was done: stop reason, facts, expected calls, no forbidden tool."""

    name = "agent_success"
    version = "1"

    def compute(self, case: Case, output: CaseOutput) -> MetricResult:
        run, expect = _run(output), _expect(case)
        calls = list(run.get("tool_calls", ()))
        problems: list[str] = []
        if run.get("stop_reason") != expect.stop_reason:
            problems.append(f"stopped {run.get('stop_reason')}, expected {expect.stop_reason}")
        missing = missing_facts(case, output.answer)
        if missing:
            problems.append(f"answer lacks {missing}")
        made = matched_calls(expect, calls)
        if made < len(expect.tools):
            problems.append(f"{len(expect.tools) - made} expected tool calls not made")
        forbidden = forbidden_called(expect, calls)
        if forbidden:
            problems.append(f"called forbidden tools {forbidden}")
        return self.result(float(not problems), passed=not problems, problems=problems)


class ToolCallAccuracy(_AgentMetric):
    """The share of expected tool calls made; 0 when a forbidden tool was called."""

    name = "tool_call_accuracy"
    version = "1"

    def applies(self, case: Case) -> bool:
        return case.agent is not None and bool(case.agent.tools or case.agent.forbidden_tools)

    def compute(self, case: Case, output: CaseOutput) -> MetricResult:
        run, expect = _run(output), _expect(case)
        calls = list(run.get("tool_calls", ()))
        forbidden = forbidden_called(expect, calls)
        made = matched_calls(expect, calls)
        value = made / len(expect.tools) if expect.tools else 1.0
        if forbidden:
            value = 0.0
        called = [c.get("name") for c in calls]
        return self.result(value, passed=value == 1.0, called=called, forbidden=forbidden)


class AgentSteps(_AgentMetric):
    """Model turns the run took (lower is cheaper)."""

    name = "agent_steps"
    version = "1"
    scores_errors = True

    def compute(self, case: Case, output: CaseOutput) -> MetricResult:
        run = _run(output)
        return self.result(float(run.get("steps", 0)), tool_calls=len(run.get("tool_calls", ())))


class NoLoop(_AgentMetric):
    """Pass when loop detection did not stop the run (mean = 1 - loop rate)."""

    name = "loop_detected"
    version = "1"

    def compute(self, case: Case, output: CaseOutput) -> MetricResult:
        looped = _run(output).get("stop_reason") == "loop_detected"
        return self.result(float(not looped), passed=not looped, looped=looped)


class ToolErrorRecovery(_AgentMetric):
    """A tool failed once (``fail_once``): it was called again and the task succeeded."""

    name = "tool_error_recovery"
    version = "1"

    def applies(self, case: Case) -> bool:
        return case.agent is not None and bool(case.agent.fail_once)

    def compute(self, case: Case, output: CaseOutput) -> MetricResult:
        run, expect = _run(output), _expect(case)
        calls = list(run.get("tool_calls", ()))
        problems: list[str] = []
        for name in expect.fail_once:
            outcomes = [c.get("ok") for c in calls if c.get("name") == name]
            if not outcomes or outcomes[0] is not False:
                problems.append(f"{name} did not fail (was it called?)")
            elif True not in outcomes[1:]:
                problems.append(f"{name} was not called again after its error")
        success = AgentSuccess().compute(case, output)
        if not success.passed:
            problems += success.details.get("problems", [])
        return self.result(float(not problems), passed=not problems, problems=problems)


class MemoryRecall(_AgentMetric):
    """Facts from an earlier session of the user that the answer contains (share)."""

    name = "memory_recall"
    version = "1"

    def applies(self, case: Case) -> bool:
        return case.agent is not None and bool(case.agent.earlier) and bool(case.must_contain)

    def compute(self, case: Case, output: CaseOutput) -> MetricResult:
        run = _run(output)
        missing = missing_facts(case, output.answer)
        value = 1 - len(missing) / len(case.must_contain)
        return self.result(value, passed=not missing, missing=missing, memories=run.get("memories"))


def agent_metrics() -> list[BaseMetric]:
    """The metrics of ``ragline eval run --agent``, with cost and latency."""
    from ragline.evals._metrics._safety import Cost, Latency

    return [
        AgentSuccess(),
        ToolCallAccuracy(),
        AgentSteps(),
        NoLoop(),
        ToolErrorRecovery(),
        MemoryRecall(),
        Cost(),
        Latency(),
    ]


__all__ = [
    "AgentSteps",
    "AgentSuccess",
    "MemoryRecall",
    "NoLoop",
    "ToolCallAccuracy",
    "ToolErrorRecovery",
    "agent_metrics",
    "call_matches",
]
