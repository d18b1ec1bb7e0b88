"""The support agent's Prometheus series on ``/metrics``: runs, steps, tool calls, limits.

- ``ragline_agent_runs_total{stop_reason}``: every run that ended, by its stop reason;
- ``ragline_agent_steps``: a histogram of model turns per run;
- ``ragline_agent_tool_calls_total{tool, outcome}``: tool calls, ``outcome`` ``ok`` or
  the error type the model was given (``invalid_arguments``, ``tool_error``,
  ``timeout``, ``bad_result``, ``guard_blocked``…); a call to a tool that does not exist
  is counted under ``tool="(unknown)"``, so a model cannot grow the label set;
- ``ragline_agent_limit_hits_total{limit}``: runs stopped by ``step_limit``,
  ``loop_detected``, ``budget`` or ``timeout``.

Each has a ``tenant`` label unless ``server.metrics_tenant_labels`` is false.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram

if TYPE_CHECKING:
    from ragline.agent import AgentRun

LIMITS = frozenset({"step_limit", "loop_detected", "budget", "timeout"})
_STEP_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 25, 50, 100)


class AgentMetrics:
    """The agent's counters on ``registry`` (``tenant``: the tenant label, or none)."""

    def __init__(self, registry: CollectorRegistry, tenant: list[str]) -> None:
        self.runs = Counter(
            "ragline_agent_runs",
            "agent runs by stop reason",
            [*tenant, "stop_reason"],
            registry=registry,
        )
        self.steps = Histogram(
            "ragline_agent_steps",
            "model turns per agent run",
            tenant,
            buckets=_STEP_BUCKETS,
            registry=registry,
        )
        self.tool_calls = Counter(
            "ragline_agent_tool_calls",
            "agent tool calls by tool and outcome (ok, or the error type)",
            [*tenant, "tool", "outcome"],
            registry=registry,
        )
        self.limit_hits = Counter(
            "ragline_agent_limit_hits",
            "agent runs stopped by a limit (step_limit, loop_detected, budget, timeout)",
            [*tenant, "limit"],
            registry=registry,
        )

    def observe(self, tenant: tuple[str, ...], run: AgentRun) -> None:
        self.runs.labels(*tenant, run.stop_reason).inc()
        steps = self.steps.labels(*tenant) if tenant else self.steps  # no labels: the metric
        steps.observe(run.steps)
        for call in run.tool_calls:
            error = call.get("error") or {}
            outcome = "ok" if call.get("ok") else str(error.get("type", "error"))
            name = "(unknown)" if outcome == "unknown_tool" else str(call.get("name", ""))
            self.tool_calls.labels(*tenant, name, outcome).inc()
        if run.stop_reason in LIMITS:
            self.limit_hits.labels(*tenant, run.stop_reason).inc()
