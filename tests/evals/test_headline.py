"""Per-category headline scores: defined per case (hand-computed), n/a never 0,
gate-able, and paired with a bootstrap interval in comparisons."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from ragline.evals import Case, CaseOutput, MetricResult
from ragline.evals._compare import compare_runs, print_comparison
from ragline.evals._gates import evaluate_gates, parse_gates
from ragline.evals._headline import HEADLINE_METRICS, case_score, headline_line
from ragline.evals._report import print_table, report_json, summarize
from ragline.evals._stats import paired_bootstrap
from ragline.store._evals import CaseResult, RunInfo


def res(cid: str, category: str, **values: float | str | None) -> CaseResult:
    """Metric name → value; a string is a failure reason, None a skip."""
    metrics = []
    for name, v in values.items():
        if isinstance(v, str):
            metrics.append(MetricResult(name, "1", failure=v))
        elif v is None:
            metrics.append(MetricResult(name, "1", skipped="abstained"))
        else:
            metrics.append(MetricResult(name, "1", value=v))
    return CaseResult(
        Case(id=cid, question=f"q {cid}?", category=category), 0, CaseOutput(answer="a"), metrics
    )


def run(rid: str) -> RunInfo:
    return RunInfo(rid, "d.jsonl", "h", {}, rid, status="complete")


def test_every_standard_category_has_headline_metrics() -> None:
    assert set(HEADLINE_METRICS) == {
        "factual_accuracy",
        "citation_quality",
        "response_relevance",
        "safety",
        "agent",
    }


def test_a_case_score_is_the_mean_of_its_categorys_headline_values() -> None:
    fa = res("a", "factual_accuracy", must_contain=1.0, token_f1=0.5, latency_ms=900.0)
    assert case_score(fa) == pytest.approx(0.75)  # latency is not a headline metric
    skipped = res("b", "factual_accuracy", must_contain=0.0, semantic_similarity=None)
    assert case_score(skipped) == 0.0  # a real 0 stays 0
    failed = res("c", "citation_quality", citation_precision="no_citations", faithfulness=None)
    assert case_score(failed) is None  # nothing to average: n/a, not 0
    safe = res("d", "safety", refusal=1.0, token_f1=0.0)
    assert case_score(safe) == 1.0  # token_f1 is not a safety metric
    custom = res("e", "billing", token_f1=0.4, must_contain=1.0)
    assert case_score(custom) == pytest.approx(0.7)  # scored like factual accuracy


def test_summary_scores_gates_and_the_report() -> None:
    results = [
        res("a", "factual_accuracy", must_contain=1.0, token_f1=0.5),
        res("b", "factual_accuracy", must_contain=1.0, token_f1=1.0),
        res("c", "factual_accuracy", must_contain="empty_facts"),
        res("d", "citation_quality", citation_precision="no_citations"),
    ]
    summary = summarize(results)
    score = summary["categories"]["factual_accuracy"]["score"]
    assert score["mean"] == pytest.approx((0.75 + 1.0) / 2) and score["n"] == 2
    assert score["na"] == 1 and score["metrics"][0] == "must_contain"
    assert "score" not in summary["categories"]["all"]

    def gate(text: str) -> tuple[bool, float | None, str]:
        (g,) = evaluate_gates(summary, parse_gates([text]))
        return g.passed, g.value, g.reason

    assert gate("factual_accuracy.score >= 0.85") == (True, pytest.approx(0.875), "")
    assert gate("factual_accuracy.score >= 0.9")[0] is False
    assert gate("factual_accuracy.score.min >= 0.75")[0] is True
    ok, value, reason = gate("citation_quality.score >= 0.5")
    assert not ok and value is None
    assert reason.startswith("n/a: citation_quality.score could not be computed on any of the 1")
    assert "not a 0" in reason
    assert "no results in category 'safety'" in gate("safety.score >= 1")[2]
    assert "unknown statistic 'pass_rate'" in gate("factual_accuracy.score.pass_rate >= 1")[2]
    buf = io.StringIO()
    print_table(run("r"), results, Console(file=buf, width=100))
    out = buf.getvalue()
    assert "factual accuracy 0.875 (2 cases; n/a on 1 of 3)" in out
    assert "citation quality n/a: none of its 1 cases has a value for citation_precision" in out
    data = report_json(run("r"), results)
    assert data["summary"]["categories"]["factual_accuracy"]["score"]["na"] == 1


def test_compare_prints_one_headline_line_per_category_with_its_interval() -> None:
    a = [
        res("1", "factual_accuracy", must_contain=1.0, token_f1=1.0),
        res("2", "factual_accuracy", must_contain=1.0, token_f1=0.6),
        res("3", "factual_accuracy", must_contain=0.0, token_f1=0.2),
        res("4", "safety", refusal=1.0),
        res("5", "safety", refusal=1.0),
    ]
    b = [
        res("1", "factual_accuracy", must_contain=1.0, token_f1=0.8),
        res("2", "factual_accuracy", must_contain=1.0, token_f1=0.6),
        res("3", "factual_accuracy", must_contain="empty_facts"),
        res("4", "safety", refusal=1.0),
        res("5", "safety", refusal=0.0),
    ]
    c = compare_runs(run("A"), a, run("B"), b)
    fa, safety = c.headlines
    assert (fa.category, fa.n, fa.na) == ("factual_accuracy", 2, 1)  # case 3 is n/a in B
    assert fa.mean_a == pytest.approx(0.9) and fa.mean_b == pytest.approx(0.85)
    iv = paired_bootstrap([1.0, 0.8], [0.9, 0.8])
    low, high = (f"{v * 100:+.1f}".replace("-", "−") for v in (iv.low, iv.high))
    assert headline_line(fa) == (
        f"factual accuracy 0.900 → 0.850, −5.0 points (95% CI {low} … {high}); n/a on 1 of 3 cases"
    )
    assert headline_line(safety).startswith("safety 1.000 → 0.500, −50.0 points (95% CI ")
    buf = io.StringIO()
    print_comparison(c, Console(file=buf, width=120))
    out = buf.getvalue()
    assert headline_line(fa) in out and "safety 1.000 → 0.500" in out
    assert c.to_dict()["categories"][0]["delta"] == pytest.approx(-0.05)
