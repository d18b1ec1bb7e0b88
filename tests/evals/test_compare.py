"""compare: deltas with CIs, McNemar, flipped cases and the configuration diff."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragline import Project
from ragline.errors import InputError
from ragline.evals import Case, CaseOutput, MetricResult
from ragline.evals._compare import compare_runs
from ragline.evals._metrics import default_metrics
from ragline.evals._runner import EvalRunner, ProjectTarget
from ragline.evals._stats import mcnemar
from ragline.store._evals import CaseResult, RunInfo
from ragline.store.sqlite import SQLiteEvalStore


def run_info(rid: str, **fp: object) -> RunInfo:
    return RunInfo(
        id=rid, dataset_path="d.jsonl", dataset_hash="h", fingerprint=dict(fp), fingerprint_hash=rid
    )


def res(cid: str, f1: float, ok: bool, category: str = "factual_accuracy") -> CaseResult:
    return CaseResult(
        Case(id=cid, question=f"question {cid}?", category=category),
        0,
        CaseOutput(answer=""),
        [
            MetricResult("token_f1", "1", value=f1),
            MetricResult("must_contain", "1", value=float(ok), passed=ok),
        ],
    )


def test_hand_computed_comparison() -> None:
    a = [res("1", 1.0, True), res("2", 1.0, True), res("3", 0.0, False), res("4", 0.5, True)]
    b = [res("1", 1.0, True), res("2", 0.0, False), res("3", 1.0, True), res("4", 0.5, False)]
    b.append(res("5", 1.0, True))  # only in B: not paired
    c = compare_runs(
        run_info("A", embedder="hash", retrieval={"k": 5}),
        a,
        run_info("B", embedder="hash", retrieval={"k": 3}),
        b,
    )
    assert (c.common, c.only_a, c.only_b) == (4, 0, 1)
    overall = {d.metric: d for d in c.deltas if d.group == "all"}
    f1 = overall["token_f1"]
    assert f1.mean_a == pytest.approx(0.625) and f1.mean_b == pytest.approx(0.625)
    assert f1.interval is not None and f1.interval.delta == pytest.approx(0.0)
    mc = overall["must_contain"]
    assert (mc.pass_a, mc.pass_b, mc.flipped_to_fail, mc.flipped_to_pass) == (3, 2, 2, 1)
    assert mc.mcnemar_p == pytest.approx(mcnemar(2, 1)) == pytest.approx(1.0)
    flips = {(f.case_id, f.direction) for f in c.flips}
    assert flips == {("2", "pass→fail"), ("4", "pass→fail"), ("3", "fail→pass")}
    assert next(f for f in c.flips if f.case_id == "2").question == "question 2?"
    assert c.config_diff == [("retrieval.k", 5, 3)]
    assert {d.group for d in c.deltas} == {"factual_accuracy", "all"}
    data = c.to_dict()
    assert data["config_diff"] == [{"key": "retrieval.k", "a": 5, "b": 3}]
    assert data["metrics"][0]["ci95"] is not None


def test_changed_metric_definitions_are_flagged() -> None:
    a = [res("1", 1.0, True)]
    b = [res("1", 0.5, True)]
    b[0].metrics[0] = MetricResult("token_f1", "2", value=0.5)
    c = compare_runs(run_info("A"), a, run_info("B"), b)
    assert c.version_changes == {"token_f1": ("1", "2")}
    assert c.to_dict()["metric_version_changes"] == {"token_f1": ["1", "2"]}


def test_runs_without_common_cases_are_refused() -> None:
    with pytest.raises(InputError, match="no case in common"):
        compare_runs(run_info("A"), [res("1", 1, True)], run_info("B"), [res("2", 1, True)])


DOCS = {
    f"topic{i}.md": f"# Topic {i}\n\nThe {word} policy lasts {i + 2} weeks for every customer.\n"
    for i, word in enumerate(
        ["warranty", "refund", "shipping", "battery", "helmet", "privacy", "repair", "loyalty"]
    )
}


def test_reproduced_regression_shows_drop_ci_flips_and_config_diff(tmp_path: Path) -> None:
    """A config change (min_relevance raised: the answerer abstains) drops the scores."""
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text)
    words = ["warranty", "refund", "shipping", "battery", "helmet", "privacy", "repair", "loyalty"]
    cases = [
        Case(
            id=f"c{i}",
            question=f"How long does the {w} policy last?",
            expected=[f"{i + 2} weeks"],
            must_contain=[f"{i + 2} weeks"],
        )
        for i, w in enumerate(words)
    ]
    store = SQLiteEvalStore(tmp_path / "evals.db")
    runs = []
    for overrides in ({}, {"answer.min_relevance": 0.99}):
        project = Project(tmp_path, overrides={"embedder": "hash", **overrides})
        project.ingest([docs])
        metrics = default_metrics(project.embedder, k=5)
        runs.append(EvalRunner(store, ProjectTarget(project), metrics).run(cases, dataset_path="d"))
    a, b = runs
    c = compare_runs(a, store.results(a.id), b, store.results(b.id))
    overall = {d.metric: d for d in c.deltas if d.group == "all"}
    must = overall["must_contain"]
    assert must.pass_a == 8 and must.pass_b == 0
    assert must.flipped_to_fail == 8 and must.mcnemar_p == pytest.approx(2 / 2**8)
    f1 = overall["token_f1"]
    assert f1.interval is not None and f1.interval.delta < 0
    assert f1.interval.high < 0  # the drop is significant: its 95% CI excludes 0
    assert len([f for f in c.flips if f.metric == "must_contain"]) == 8
    assert ("answer.min_relevance", 0.37, 0.99) in c.config_diff
    assert all(not k.startswith("dataset") for k, _, _ in c.config_diff)
