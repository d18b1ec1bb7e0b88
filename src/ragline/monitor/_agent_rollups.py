"""Turn one finished agent run's trace into rollup increments (the ``agent_*`` metrics).

Read from the spans the agent writes (:mod:`ragline.agent._agent`): the root ``agent``
span's ``ragline.agent.stop_reason`` and ``ragline.agent.steps``, and each
``agent.tool`` span's ``gen_ai.tool.name`` and ``ragline.tool.ok``. Keyed like an ask
by minute and tenant; an agent run has no routing rules, so its route is ``""``.

- ``agent_runs``: 1 per run, overall (label ``""``) and under its stop reason (filter
  ``kind=completed|step_limit|…``);
- ``agent_steps``: the run's model turns (a distribution);
- ``agent_tool_calls``: the run's tool calls, overall and per tool (``kind=TOOL``);
- ``agent_tool_errors``: a rate over tool calls — 1 per call that failed;
- ``agent_limit_hits``: a rate over runs — 1 when the run stopped at ``step_limit``,
  ``loop_detected``, ``budget`` or ``timeout``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from ragline.monitor._builder import Rows
from ragline.store._rollups import minute_of
from ragline.store._traces import SpanRecord

LIMIT_STOPS = frozenset({"step_limit", "loop_detected", "budget", "timeout"})


def is_agent_run(span: SpanRecord) -> bool:
    return span.parent_id is None and span.kind == "agent"


def add_agent_run(out: Rows, root: SpanRecord, children: Sequence[SpanRecord]) -> None:
    """Add the increments of one ``agent`` trace (root span + its other spans)."""
    minute, tenant, route = minute_of(root.start), root.tenant, ""
    stop = root.attributes.get("ragline.agent.stop_reason")
    reason = str(stop) if stop else "error"  # a run that raised never set its reason
    out.observe(minute, tenant, route, "agent_runs", 1.0)
    out.observe(minute, tenant, route, "agent_runs", 1.0, reason)
    steps = root.attributes.get("ragline.agent.steps")
    if isinstance(steps, int) and not isinstance(steps, bool):
        out.observe(minute, tenant, route, "agent_steps", float(steps))
    out.observe(minute, tenant, route, "agent_limit_hits", 1.0 if reason in LIMIT_STOPS else 0.0)
    tools = [s for s in children if s.name == "agent.tool"]
    out.observe(minute, tenant, route, "agent_tool_calls", float(len(tools)))
    for name, n in Counter(str(s.attributes.get("gen_ai.tool.name", "")) for s in tools).items():
        out.observe(minute, tenant, route, "agent_tool_calls", float(n), name)
    for s in tools:
        failed = s.attributes.get("ragline.tool.ok") is not True
        out.observe(minute, tenant, route, "agent_tool_errors", 1.0 if failed else 0.0)


__all__ = ["LIMIT_STOPS", "add_agent_run", "is_agent_run"]
