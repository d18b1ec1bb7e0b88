"""The agent's Prometheus series: stop reasons, steps, tool outcomes, limit hits; a
model cannot grow the tool label set with names of tools that do not exist."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from ragline.agent import AgentRun
from ragline.server._agent_metrics import AgentMetrics


def _call(name: str, ok: bool, error: str | None = None) -> dict[str, object]:
    out: dict[str, object] = {"name": name, "ok": ok}
    if error is not None:
        out["error"] = {"type": error, "message": "…"}
    return out


def test_runs_steps_tool_outcomes_and_limit_hits() -> None:
    registry = CollectorRegistry()
    metrics = AgentMetrics(registry, ["tenant"])
    metrics.observe(
        ("acme",),
        AgentRun(
            "x",
            "loop_detected",
            steps=3,
            tool_calls=[
                _call("calculator", True),
                _call("calculator", False, "invalid_arguments"),
                _call("made_up_tool_1", False, "unknown_tool"),
                _call("made_up_tool_2", False, "unknown_tool"),
                _call("read_email", False, "guard_blocked"),
            ],
        ),
    )
    metrics.observe(("acme",), AgentRun("y", "completed", steps=1))
    text = generate_latest(registry).decode()
    assert 'ragline_agent_runs_total{stop_reason="loop_detected",tenant="acme"} 1.0' in text
    assert 'ragline_agent_runs_total{stop_reason="completed",tenant="acme"} 1.0' in text
    assert 'ragline_agent_steps_sum{tenant="acme"} 4.0' in text
    assert (
        'ragline_agent_tool_calls_total{outcome="ok",tenant="acme",tool="calculator"} 1.0' in text
    )
    assert (
        'ragline_agent_tool_calls_total{outcome="unknown_tool",tenant="acme",tool="(unknown)"} 2.0'
        in text
    )
    assert "made_up_tool" not in text
    assert 'outcome="guard_blocked",tenant="acme",tool="read_email"' in text
    assert 'ragline_agent_limit_hits_total{limit="loop_detected",tenant="acme"} 1.0' in text
    assert 'limit="completed"' not in text


def test_without_tenant_labels() -> None:
    registry = CollectorRegistry()
    AgentMetrics(registry, []).observe((), AgentRun("x", "step_limit", steps=8))
    text = generate_latest(registry).decode()
    assert 'ragline_agent_limit_hits_total{limit="step_limit"} 1.0' in text
    assert "tenant=" not in text
