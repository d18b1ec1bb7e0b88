"""No silent zeros: the run record, every report format, gates and ``strict`` say what
could not be scored — gold ids missing from the store, empty tenants, metrics n/a."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from ragline import Project
from ragline.errors import EvalWarningsError
from ragline.evals import Case, CaseOutput, MetricResult
from ragline.evals._gates import evaluate_gates, parse_gates
from ragline.evals._metrics import default_metrics
from ragline.evals._report import print_table, report_html, report_json, summarize
from ragline.evals._runner import EvalRunner, ProjectTarget
from ragline.evals._warnings import result_warnings, stored_warnings
from ragline.store._evals import CaseResult, RunInfo
from ragline.store.sqlite import SQLiteEvalStore

DOCS = {
    "warranty.md": "# Warranty\n\nThe frame has a two year warranty.\n",
    "shipping.md": "# Shipping\n\nExpress shipping costs 15 euros.\n",
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("kb")
    docs = root / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text)
    with Project(root, overrides={"embedder": "hash"}) as p:
        p.ingest([docs])
        yield p


def doc_id(project: Project, name: str) -> str:
    return next(d.id for d in project.store.list_documents("default") if d.id.endswith(name))


def chunk_id(project: Project, name: str) -> str:
    return project.store.document_chunks("default", doc_id(project, name))[0].id


def run(project: Project, tmp_path: Path, cases: list[Case], **kw: Any) -> tuple[Any, Any]:
    store = SQLiteEvalStore(tmp_path / "evals.db")
    runner = EvalRunner(store, ProjectTarget(project), default_metrics(project.embedder))
    return store, runner.run(cases, dataset_path="cases.jsonl", **kw)


# --------------------------------------------------------------------- from the results


def r(cid: str, metrics: list[MetricResult], error: str | None = None) -> CaseResult:
    return CaseResult(
        Case(id=cid, question=f"q {cid}?"), 0, CaseOutput(answer="a", error=error), metrics
    )


F1 = "token_f1"


def test_pipeline_errors_and_metric_failures_are_counted_once_with_reasons() -> None:
    results = [
        r("a", [MetricResult(F1, "1", value=0.5), MetricResult("faithfulness", "1", value=1.0)]),
        r("b", [MetricResult(F1, "1", failure="pipeline_error")], error="model down"),
        r("c", [MetricResult(F1, "1", value=1.0), MetricResult("faithfulness", "1", failure="x")]),
        r("d", [MetricResult(F1, "1", value=1.0), MetricResult("faithfulness", "1", skipped="s")]),
        r("e", [MetricResult("faithfulness", "1", failure="judge_unparseable: 'maybe'")]),
    ]
    pipeline, faith = result_warnings(results)
    assert (pipeline.kind, pipeline.count, pipeline.of, pipeline.examples) == (
        "pipeline_errors",
        1,
        5,
        ("b",),
    )
    assert "b: model down" in pipeline.message and "n/a on them, not 0" in pipeline.message
    # token_f1 failed only because the pipeline did: not warned again under the metric
    assert (faith.kind, faith.subject, faith.count, faith.of) == ("metric_na", "faithfulness", 2, 4)
    assert faith.reasons == {"x": 1, "judge_unparseable": 1}  # the skipped one is by design
    assert faith.message.startswith("faithfulness: n/a on 2 of 4 cases (")
    assert "left out of its mean, not scored 0" in faith.message
    assert result_warnings([r("a", [MetricResult(F1, "1", value=0.0)])]) == []  # a real 0


def test_the_table_json_and_html_say_na_never_zero() -> None:
    results = [
        r("a", [MetricResult(F1, "1", value=1.0), MetricResult("faithfulness", "1", failure="x")]),
        r("b", [MetricResult(F1, "1", value=0.5), MetricResult("faithfulness", "1", failure="x")]),
    ]
    run = RunInfo("r1", "d.jsonl", "h", {}, "f", status="complete")
    buf = io.StringIO()
    print_table(run, results, Console(file=buf, width=120))
    out = buf.getvalue()
    row = next(line for line in out.splitlines() if "faithfulness" in line.split())
    assert "n/a" in row and "2 of 2" in row and "0.000" not in row
    assert "warnings (1):" in out and "faithfulness: n/a on all 2 cases (x: 2" in out
    data = json.loads(json.dumps(report_json(run, results)))
    (w,) = data["summary"]["warnings"]
    assert (w["kind"], w["subject"], w["count"], w["of"]) == ("metric_na", "faithfulness", 2, 2)
    page = report_html(run, results)
    assert "Warnings (1)" in page and "faithfulness: n/a on all 2 cases" in page


def test_a_gate_on_a_metric_na_everywhere_says_so_not_a_zero() -> None:
    results = [r(c, [MetricResult("faithfulness", "1", failure="no_citations")]) for c in "abc"]
    (g,) = evaluate_gates(summarize(results), parse_gates(["all.faithfulness >= 0.9"]))
    assert not g.passed and g.value is None
    assert g.reason.startswith("n/a: faithfulness could not be computed on any of the 3 cases")
    assert "(no_citations: 3)" in g.reason and "0.000" not in g.reason
    (g,) = evaluate_gates(
        summarize([r("a", [MetricResult("faithfulness", "1", skipped="abstained")])]),
        parse_gates(["faithfulness.mean >= 0.9"]),
    )
    assert not g.passed and "any of the 1 cases" in g.reason and "skipped: 1" in g.reason


# ------------------------------------------------------------------ the runner and store


def test_missing_gold_ids_and_empty_tenants_are_stored_with_the_run(
    project: Project, tmp_path: Path
) -> None:
    good_doc, good_chunk = doc_id(project, "warranty.md"), chunk_id(project, "warranty.md")
    cases = [
        Case(id="ok", question="Frame warranty?", gold_doc_ids=[good_doc]),
        Case(id="moved", question="Shipping cost?", gold_doc_ids=["kb/shipping.md"]),
        Case(id="chunk-ok", question="Frame warranty?", gold_chunk_ids=[good_chunk]),
        Case(id="rechunked", question="Warranty?", gold_chunk_ids=["warranty.md#9", good_chunk]),
        Case(id="empty", question="Anything?", tenant="nobody"),
    ]
    store, info = run(project, tmp_path, cases)
    assert info.status == "complete"
    assert len(store.results(info.id)) == 5  # every case scored and kept
    by_kind = {w.kind: w for w in stored_warnings(info.summary)}
    gold = by_kind["missing_gold"]
    assert (gold.count, gold.of, gold.examples) == (1, 2, ("kb/shipping.md",))
    chunks = by_kind["missing_gold_chunks"]
    assert (chunks.count, chunks.of, chunks.examples) == (1, 2, ("warranty.md#9",))
    assert "rechunked: warranty.md#9" in chunks.message
    tenant = by_kind["empty_tenant"]
    assert (tenant.subject, tenant.count) == ("nobody", 1)
    assert info.summary["dataset_check"]["missing_gold"] == {"moved": ["kb/shipping.md"]}
    # the stored run reads back the same in the JSON report
    kinds = [w["kind"] for w in report_json(info, store.results(info.id))["summary"]["warnings"]]
    assert kinds[:3] == ["missing_gold", "missing_gold_chunks", "empty_tenant"]


def test_strict_refuses_before_the_run_and_stores_nothing(project: Project, tmp_path: Path) -> None:
    cases = [
        Case(id="moved", question="Shipping cost?", gold_doc_ids=["kb/shipping.md"]),
        Case(id="empty", question="Anything?", tenant="nobody"),
    ]
    store = SQLiteEvalStore(tmp_path / "evals.db")
    runner = EvalRunner(store, ProjectTarget(project), default_metrics(project.embedder))
    with pytest.raises(EvalWarningsError) as err:
        runner.run(cases, dataset_path="cases.jsonl", strict=True)
    assert err.value.run_id is None
    line = str(err.value)
    assert "\n" not in line and line.startswith("--strict: 2 evaluation warnings: ")
    assert "gold documents missing from the store for 1 of 1 cases" in line
    assert "tenant 'nobody' has no documents (1 case)" in line
    assert store.list_runs() == []


def test_strict_after_the_run_keeps_the_run_with_its_warnings(
    project: Project, tmp_path: Path
) -> None:
    cases = [
        Case(id="fine", question="How much is express shipping?", must_contain=["15 euros"]),
        Case(id="blank", question="How long is the warranty?", must_contain=["  "]),
    ]
    store = SQLiteEvalStore(tmp_path / "evals.db")
    runner = EvalRunner(store, ProjectTarget(project), default_metrics(project.embedder))
    with pytest.raises(EvalWarningsError) as err:
        runner.run(cases, dataset_path="cases.jsonl", strict=True)
    assert err.value.run_id is not None
    assert "must_contain n/a on 1 of 2 cases" in str(err.value)
    stored = store.get_run(err.value.run_id)
    assert stored.status == "complete" and len(store.results(stored.id)) == 2
    (w,) = [w for w in stored_warnings(stored.summary) if w.subject == "must_contain"]
    assert w.reasons == {"empty_facts": 1} and w.examples == ("blank",)
    mc = stored.summary["categories"]["all"]["metrics"]["must_contain"]
    assert mc["n"] == 1 and mc["failures"] == 1  # the blank case is not a 0 in the mean
