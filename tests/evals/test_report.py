"""Summaries by category (hand-computed), the terminal table, JSON and self-contained HTML."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from ragline.evals import Case, CaseOutput, MetricResult
from ragline.evals._report import percentile, print_table, report_html, report_json, summarize
from ragline.store._evals import CaseResult, RunInfo


def result(
    cid: str,
    category: str,
    f1: float | None,
    *,
    passed: bool | None = None,
    ms: float = 10.0,
    error: str | None = None,
    trace: str | None = None,
) -> CaseResult:
    metrics = [
        MetricResult("token_f1", "1", value=f1)
        if f1 is not None
        else MetricResult("token_f1", "1", failure="pipeline_error"),
        MetricResult("latency_ms", "1", value=ms),
    ]
    if passed is not None:
        metrics.append(MetricResult("refusal", "1", value=float(passed), passed=passed))
    return CaseResult(
        Case(id=cid, question=f"question {cid}?", category=category),
        0,
        CaseOutput(answer=f"answer {cid}", error=error, trace_id=trace),
        metrics,
    )


RESULTS = [
    result("a", "factual_accuracy", 1.0, ms=10),
    result("b", "factual_accuracy", 0.5, ms=20),
    result("c", "factual_accuracy", None, ms=30, error="boom"),
    result("d", "safety", 0.0, passed=True, ms=40, trace="tr-9"),
    result("e", "safety", 0.0, passed=False, ms=50),
]
RUN = RunInfo(
    id="r1",
    dataset_path="cases.jsonl",
    dataset_hash="dh",
    fingerprint={"embedder": "hash"},
    fingerprint_hash="fh",
    status="complete",
)


def test_percentile_by_hand() -> None:
    assert percentile([10, 20, 30, 40, 50], 95) == pytest.approx(48.0)  # 40 + 0.8 * 10
    assert percentile([7], 50) == 7
    with pytest.raises(ValueError):
        percentile([], 50)


def test_summary_by_category_by_hand() -> None:
    s = summarize(RESULTS)
    assert s["cases"] == 5 and s["errors"] == 1 and s["metric_failures"] == 1
    fa = s["categories"]["factual_accuracy"]
    assert fa["n"] == 3 and fa["errors"] == 1
    assert fa["metrics"]["token_f1"]["mean"] == pytest.approx(0.75)
    assert fa["metrics"]["token_f1"]["n"] == 2
    assert fa["metrics"]["token_f1"]["failures"] == 1
    assert fa["metrics"]["token_f1"]["failure_reasons"] == {"pipeline_error": 1}
    safety = s["categories"]["safety"]["metrics"]["refusal"]
    assert safety["pass_rate"] == 0.5 and safety["mean"] == 0.5
    lat = s["categories"]["all"]["metrics"]["latency_ms"]
    assert lat["p95"] == pytest.approx(48.0) and lat["mean"] == 30.0
    assert list(s["categories"])[-1] == "all"


def test_summary_of_nothing() -> None:
    s = summarize([])
    assert s["cases"] == 0 and s["categories"] == {}


def test_table_shows_categories_failures_and_worst_cases() -> None:
    buf = io.StringIO()
    print_table(RUN, RESULTS, Console(file=buf, width=160))
    out = buf.getvalue()
    assert "factual_accuracy (3)" in out and "safety (2)" in out and "all (5)" in out
    assert "1 pipeline errors" in out and "1 metric failures" in out
    assert "worst cases:" in out and "c [factual_accuracy]" in out and "error: boom" in out
    assert "ragline traces show tr-9" in out


def test_json_report() -> None:
    data = report_json(RUN, RESULTS)
    assert data["run"]["id"] == "r1" and data["summary"]["cases"] == 5
    assert data["worst_cases"][0]["case_id"] == "c"  # the pipeline error first
    assert data["worst_cases"][0]["metrics"]["token_f1"] == "failed: pipeline_error"
    assert len(data["results"]) == 5


def test_html_is_self_contained_with_bars_and_trace_links() -> None:
    page = report_html(RUN, RESULTS)
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert "<style>" in page and "<svg" in page and "<script" not in page
    assert not re.search(r"(src|href)=\"https?://", page)  # nothing fetched from outside
    assert 'href="/traces/tr-9"' in page and "ragline traces show tr-9" in page
    assert "factual_accuracy" in page and "Worst cases" in page


def test_html_escapes_case_text() -> None:
    evil = result("<x>", "factual_accuracy", 0.0)
    evil.case.question = "<script>alert(1)</script>"
    page = report_html(RUN, [evil])
    assert "<script>alert" not in page and "&lt;script&gt;" in page
