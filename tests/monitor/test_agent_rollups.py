"""A project's agent runs feed the ``agent_*`` rollup metrics (SQLite store, the real
trace writer and recorder): runs by stop reason, steps, tool calls per tool, tool
errors and limit hits — what ``ragline monitor metrics`` and alert rules read."""

from __future__ import annotations

import time

import pytest

import ragline
from ragline.agent import AgentLimits
from ragline.monitor import MetricQuery, RollupSource
from ragline.monitor._recorder import MonitoredTraceStore
from ragline.testing import FakeModel, HashEmbedder, tool_turn

CALC = ("calculator", {"expression": "2 + 2"})
BAD = ("calculator", {"expression": "2 +"})


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> ragline.Project:
    root = tmp_path_factory.mktemp("agent-rollups")
    (root / "ragline.yaml").write_text("store: sqlite:///ragline.db\nembedder: hash\n")
    p = ragline.Project(root, embedder=HashEmbedder())
    p.agent(model=FakeModel([tool_turn(CALC, BAD), "It is 4."])).run("what is 2 + 2?")
    p.agent(model=FakeModel(["hello"])).run("hi")
    looping = FakeModel([tool_turn(CALC)] * 5)
    p.agent(model=looping, limits=AgentLimits(max_steps=2)).run("loop")
    p.flush_traces(5)
    return p


def value(p: ragline.Project, metric: str, agg: str, **filters: str) -> float | None:
    store = p.trace_store
    assert isinstance(store, MonitoredTraceStore)
    source = RollupSource(p.parts.backend.rollups, pending_gaps=store.recorder.pending_gaps)
    query = MetricQuery(metric, agg, 3600, filters)  # type: ignore[arg-type]
    return source.query(query, now=time.time()).value


def test_runs_by_stop_reason(project: ragline.Project) -> None:
    assert value(project, "agent_runs", "count") == 3
    assert value(project, "agent_runs", "count", kind="completed") == 2
    assert value(project, "agent_runs", "count", kind="step_limit") == 1
    assert value(project, "agent_runs", "count", kind="handoff") is None  # no data, not 0
    assert value(project, "agent_runs", "count", tenant="default") == 3


def test_steps_tool_calls_errors_and_limit_hits(project: ragline.Project) -> None:
    assert value(project, "agent_steps", "max") == 2
    assert value(project, "agent_steps", "mean") == pytest.approx((2 + 1 + 2) / 3)
    assert value(project, "agent_tool_calls", "sum") == 4  # 2 + 0 + 2
    assert value(project, "agent_tool_calls", "sum", kind="calculator") == 4
    assert value(project, "agent_tool_errors", "count") == 1  # the "2 +"
    assert value(project, "agent_tool_errors", "rate") == pytest.approx(1 / 4)
    assert value(project, "agent_limit_hits", "rate") == pytest.approx(1 / 3)
    # asks are not agent runs: the ask metrics saw none of this
    assert value(project, "requests", "count") is None
