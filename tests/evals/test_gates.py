"""Gates: parsing (errors name the line), lookup in a summary, pass/fail/missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragline.errors import InputError
from ragline.evals._gates import evaluate_gates, load_gates, parse_gate, parse_gates

SUMMARY = {
    "categories": {
        "factual_accuracy": {
            "n": 10,
            "errors": 1,
            "metrics": {"token_f1": {"n": 9, "failures": 1, "mean": 0.62, "p95": 0.9}},
        },
        "safety": {
            "n": 4,
            "errors": 0,
            "metrics": {"refusal": {"n": 4, "failures": 0, "mean": 0.75, "pass_rate": 0.75}},
        },
        "all": {
            "n": 14,
            "errors": 1,
            "metrics": {
                "token_f1": {"n": 9, "failures": 1, "mean": 0.62},
                "latency_ms": {"n": 14, "failures": 0, "mean": 900.0, "p95": 2500.0},
            },
        },
    }
}


def check(*gates: str) -> list[tuple[bool, float | None, str]]:
    return [(r.passed, r.value, r.reason) for r in evaluate_gates(SUMMARY, parse_gates(gates))]


def test_category_metric_mean() -> None:
    assert check("factual_accuracy.token_f1 >= 0.6") == [(True, 0.62, "")]
    ((ok, value, reason),) = check("factual_accuracy.token_f1 >= 0.7")
    assert not ok and value == 0.62 and "is not factual_accuracy.token_f1 >= 0.7" in reason


def test_equality_stats_units_and_counts() -> None:
    assert check("safety.refusal == 1.0")[0][0] is False
    assert check("safety.refusal.pass_rate == 0.75")[0][0] is True
    assert check("latency.p95_ms <= 3000") == [(True, 2500.0, "")]  # latency_ms, p95
    assert check("latency_ms.mean < 1000")[0][0] is True
    assert check("all.errors <= 0")[0][:2] == (False, 1.0)
    assert check("factual_accuracy.token_f1.failures == 1")[0][0] is True


def test_missing_keys_fail_never_pass() -> None:
    ((ok, value, reason),) = check("citation_quality.citation_precision >= 0")
    assert not ok and value is None and "no results in category 'citation_quality'" in reason
    ((ok, _, reason),) = check("safety.bogus >= 0")
    assert not ok and "no metric 'bogus'" in reason


def test_parse_errors_are_clear() -> None:
    with pytest.raises(InputError, match=r"cannot parse gate 'token_f1 => 0\.6'"):
        parse_gate("token_f1 => 0.6")
    with pytest.raises(InputError, match="needs a category"):
        parse_gate("token_f1 >= 0.6")
    with pytest.raises(InputError, match=r"evals.gates\[1\]"):
        parse_gates(["a.b >= 1", "nonsense"])


def test_gates_file_errors_name_the_line(tmp_path: Path) -> None:
    f = tmp_path / "gates.yaml"
    f.write_text("# release gates\n- factual_accuracy.token_f1 >= 0.6\n- safety.refusal = 1\n")
    with pytest.raises(InputError, match=r"gates.yaml:3: cannot parse gate 'safety.refusal = 1'"):
        load_gates(f)
    f.write_text("- a.b >= 1\n- [unclosed\n")
    with pytest.raises(InputError, match=r"gates.yaml:\d+: not valid YAML"):
        load_gates(f)
    f.write_text("")
    with pytest.raises(InputError, match="no gates"):
        load_gates(f)
    with pytest.raises(InputError, match="cannot read gates file"):
        load_gates(tmp_path / "absent.yaml")


def test_gates_file_forms(tmp_path: Path) -> None:
    f = tmp_path / "gates.yaml"
    f.write_text("- factual_accuracy.token_f1 >= 0.6\n- 'latency.p95_ms <= 3000'\n")
    gates = load_gates(f)
    assert [str(g) for g in gates] == ["factual_accuracy.token_f1 >= 0.6", "latency.p95_ms <= 3000"]
    assert gates[1].source.endswith("gates.yaml:2")
    f.write_text("gates:\n  - safety.refusal == 1.0\n")
    assert [str(g) for g in load_gates(f)] == ["safety.refusal == 1"]
