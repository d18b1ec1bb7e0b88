"""Agent evaluation: the shipped agent task set, the agent metrics, ``eval run --agent``.

The scripted reference policy answers only with what the tools and memory gave it, so
it scores high only when search, the order tool, the calculator, the injected tool
error and long-term memory all work; a broken policy (the wrong tool, in a loop) must
score low on success, tool-call accuracy and loop rate.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ragline import Project
from ragline.cli import app
from ragline.errors import InputError
from ragline.evals import (
    AgentTarget,
    Case,
    CaseOutput,
    EvalRunner,
    RunInfo,
    ToolCallAccuracy,
    agent_metrics,
    compare_runs,
    load_cases,
)
from ragline.store import MemoryStore
from ragline.store._evals import AgentExpect
from ragline.testing import HashEmbedder, broken_policy, lookup_order, reference_policy

REPO = Path(__file__).resolve().parents[2]
KB = REPO / "examples" / "sample-kb"
TASKS = REPO / "examples" / "sample-kb-eval" / "agent-tasks.jsonl"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    p = Project(tmp_path_factory.mktemp("agent-eval"), store=MemoryStore(), embedder=HashEmbedder())
    p.ingest([KB])
    return p


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return load_cases(TASKS)


def _means(run: RunInfo) -> dict[str, float]:
    metrics = run.summary["categories"]["all"]["metrics"]
    return {name: m["mean"] for name, m in metrics.items()}


def _run(project: Project, cases: list[Case], model: Any, *, memory: bool = True) -> RunInfo:
    target = AgentTarget(project, model=model, tools=[lookup_order], memory=memory)
    return EvalRunner(project.evals, target, agent_metrics(), use_cache=False).run(
        cases, dataset_path=str(TASKS)
    )


def test_the_shipped_set_covers_every_kind_of_task(cases: list[Case]) -> None:
    assert len(cases) >= 30
    tags = {t for c in cases for t in c.tags}
    assert tags >= {"multi_hop", "arithmetic", "order", "handoff", "memory", "recovery"}
    assert all(c.agent is not None for c in cases)
    assert any(c.agent and c.agent.stop_reason == "handoff" for c in cases)


@pytest.fixture(scope="module")
def reference_run(project: Project, cases: list[Case]) -> RunInfo:
    return _run(project, cases, reference_policy(cases))


def test_the_reference_policy_does_every_task(reference_run: RunInfo) -> None:
    means = _means(reference_run)
    assert means["agent_success"] == 1.0
    assert means["tool_call_accuracy"] == 1.0
    assert means["loop_detected"] == 1.0  # no run stopped by loop detection
    assert means["tool_error_recovery"] == 1.0
    assert means["memory_recall"] == 1.0
    assert 1.0 < means["agent_steps"] < 4.0
    assert reference_run.summary["categories"]["agent"]["score"]["mean"] == 1.0


def test_runs_are_stored_and_compared_like_answer_runs(
    project: Project, cases: list[Case], reference_run: RunInfo
) -> None:
    broken = _run(project, cases, broken_policy())
    means = _means(broken)
    assert means["agent_success"] == 0.0
    assert means["tool_call_accuracy"] == 0.0
    assert means["loop_detected"] == 0.0  # every run looped
    stored = project.evals.results(broken.id)
    assert {r.output.agent["stop_reason"] for r in stored if r.output.agent} == {"loop_detected"}
    evals = project.evals
    comparison = compare_runs(
        reference_run, evals.results(reference_run.id), broken, evals.results(broken.id)
    )
    delta = next(d for d in comparison.deltas if d.metric == "agent_success" and d.group == "all")
    assert delta.mean_a == 1.0 and delta.mean_b == 0.0
    assert comparison.flips  # the cases that went from pass to fail are listed


def test_without_memory_only_the_memory_tasks_fail(project: Project, cases: list[Case]) -> None:
    run = _run(project, cases, reference_policy(cases), memory=False)
    failed = {
        r.case.id
        for r in project.evals.results(run.id)
        if (m := r.metric("agent_success")) is not None and not m.passed
    }
    assert failed == {c.id for c in cases if "memory" in c.tags}


def test_a_recovery_task_sees_the_injected_error_then_succeeds(
    project: Project, reference_run: RunInfo
) -> None:
    result = next(
        r for r in project.evals.results(reference_run.id) if r.case.id == "recover-order-1043"
    )
    assert result.output.agent is not None
    calls = result.output.agent["tool_calls"]
    assert [(c["name"], c["ok"]) for c in calls] == [
        ("lookup_order", False),
        ("lookup_order", True),
    ]
    assert calls[0]["error"] == "tool_error"


def test_fail_once_on_a_tool_the_agent_lacks_is_a_clear_case_error(project: Project) -> None:
    case = Case.model_validate({"id": "x", "question": "q", "agent": {"fail_once": ["calculator"]}})
    out = AgentTarget(project, model=reference_policy([case])).run_case(case)
    assert out.error is not None and "fail_once names ['calculator']" in out.error


def test_a_bad_agent_block_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "tasks.jsonl"
    path.write_text('{"id": "a", "question": "q", "agent": {"stop_reason": "done"}}\n')
    with pytest.raises(InputError, match=r"tasks.jsonl:1: field 'agent.stop_reason'"):
        load_cases(path)


def test_wrong_arguments_and_forbidden_tools_lower_tool_call_accuracy() -> None:
    case = Case.model_validate(
        {
            "id": "o",
            "question": "order?",
            "agent": {
                "tools": [{"name": "lookup_order", "arguments": {"order_id": 1042}}],
                "forbidden_tools": ["handoff_to_human"],
            },
        }
    )

    def score(*calls: tuple[str, dict[str, Any]]) -> float | None:
        run = {"stop_reason": "completed", "steps": 2, "tool_calls": []}
        run["tool_calls"] = [{"name": n, "arguments": a, "ok": True} for n, a in calls]
        return ToolCallAccuracy().score(case, CaseOutput(answer="", agent=run)).value

    assert score(("lookup_order", {"order_id": 1042})) == 1.0
    assert score(("lookup_order", {"order_id": 1043})) == 0.0
    assert score(("lookup_order", {"order_id": 1042}), ("handoff_to_human", {})) == 0.0
    no_run = ToolCallAccuracy().score(case, CaseOutput(answer="x"))
    assert no_run.failure == "no_agent_run"


def test_eval_run_agent_on_the_command_line(
    tmp_path: Path, cases: list[Case], monkeypatch: pytest.MonkeyPatch
) -> None:
    import ragline.models

    shutil.copytree(KB, tmp_path / "examples" / "sample-kb")
    (tmp_path / "ragline.yaml").write_text(
        "embedder: hash\nagent:\n  model: openai:gpt-4o-mini\n"
        "  tools: ['ragline.testing:lookup_order']\n"
    )
    subset = tmp_path / "tasks.jsonl"
    picked = [c for c in cases if c.id in {"order-1042-status", "recover-order-1043"}]
    subset.write_text("".join(c.model_dump_json() + "\n" for c in picked))
    monkeypatch.setattr(ragline.models, "build_model", lambda spec, s: reference_policy(picked))
    runner = CliRunner()
    assert runner.invoke(app, ["-C", str(tmp_path), "ingest", "examples/sample-kb"]).exit_code == 0
    result = runner.invoke(
        app, ["-C", str(tmp_path), "eval", "run", str(subset), "--agent", "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    summary = out["summary"]
    assert summary["categories"]["all"]["metrics"]["agent_success"]["mean"] == 1.0
    with Project(tmp_path) as p:  # the SQLite eval store keeps the agent run
        stored = {r.case.id: r for r in p.evals.results(out["run"])}
    recovered = stored["recover-order-1043"]
    assert recovered.case.agent is not None and recovered.case.agent.fail_once == ["lookup_order"]
    assert recovered.output.agent is not None
    assert [c["ok"] for c in recovered.output.agent["tool_calls"]] == [False, True]
    bad = runner.invoke(
        app, ["-C", str(tmp_path), "eval", "run", str(subset), "--agent", "--target", "http://x"]
    )
    assert bad.exit_code == 2 and "--agent runs the project's agent" in bad.output


def test_eval_run_agent_without_a_tool_calling_model_says_so_and_stores_nothing(
    tmp_path: Path, cases: list[Case]
) -> None:
    from ragline.errors import ConfigError

    (tmp_path / "ragline.yaml").write_text("embedder: hash\n")  # model: extractive
    subset = tmp_path / "tasks.jsonl"
    subset.write_text(cases[0].model_dump_json() + "\n")
    result = CliRunner().invoke(app, ["-C", str(tmp_path), "eval", "run", str(subset), "--agent"])
    assert isinstance(result.exception, ConfigError)
    assert "the agent needs a model that calls tools" in str(result.exception)
    with Project(tmp_path) as p:
        assert p.evals.list_runs() == []


def test_changing_a_tasks_agent_block_does_not_reuse_a_cached_run() -> None:
    from ragline.evals._fingerprint import cache_key

    plain = Case.model_validate({"id": "r", "question": "Where is my order 1043?"})
    task = plain.model_copy(update={"agent": AgentExpect(fail_once=["lookup_order"])})
    other = plain.model_copy(update={"agent": AgentExpect()})
    keys = {cache_key("p", c, 0) for c in (plain, task, other)}
    assert len(keys) == 3
