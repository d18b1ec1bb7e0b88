"""Terminal tables that fit: ``eval compare`` and ``eval report`` at 80 and 200 columns
— every line fits, headers are whole and unique, abbreviations have a legend."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from ragline.evals import Case, CaseOutput, MetricResult
from ragline.evals._compare import compare_runs, print_comparison
from ragline.evals._fit import Column, Section, fit_table
from ragline.evals._report import print_table
from ragline.store._evals import CaseResult, RunInfo

CATS = ("factual_accuracy", "citation_quality", "response_relevance", "safety")
LONG = ("semantic_similarity", "citation_precision", "answer_relevance", "guard_verdicts")


def results(shift: float) -> list[CaseResult]:
    out = []
    for i in range(24):
        cat = CATS[i % 4]
        v = min(1.0, max(0.0, (i % 7) / 7 + shift * (i % 3)))
        out.append(
            CaseResult(
                Case(id=f"c{i}", question=f"question number {i}?", category=cat),
                0,
                CaseOutput(answer="a", latency_ms=1234.5 + i),
                [
                    *(MetricResult(name, "1", value=v) for name in LONG),
                    MetricResult("must_contain", "1", value=float(v > 0.4), passed=v > 0.4),
                    MetricResult("latency_ms", "1", value=1234.5 + i * shift * 100),
                ],
            )
        )
    return out


def run(rid: str) -> RunInfo:
    return RunInfo(rid, "d.jsonl", "h", {"k": rid}, rid, name=rid, status="complete")


A, B = results(0.0), results(-0.2)


def render(width: int, draw: str = "compare") -> list[str]:
    buf = io.StringIO()
    console = Console(file=buf, width=width, color_system=None, highlight=False)
    if draw == "compare":
        print_comparison(compare_runs(run("base"), A, run("cand"), B), console)
    else:
        print_table(run("base"), A, console)
    return buf.getvalue().splitlines()


def header(lines: list[str]) -> str:
    """The line above the table's rule."""
    return next(lines[i - 1] for i, line in enumerate(lines) if line.startswith("─"))


def in_order(line: str, heads: list[str]) -> bool:
    """Each header appears exactly once, in this order."""
    pos = 0
    for head in heads:
        if line.count(head) != 1 and head not in ("A", "B", "n", "p"):
            return False
        at = line.find(head, pos)
        if at < 0:
            return False
        pos = at + len(head)
    return True


def test_compare_at_80_columns_abbreviates_with_a_legend_and_fits() -> None:
    lines = render(80)
    assert max(len(line) for line in lines) <= 80
    heads = header(lines).split()
    assert heads == ["metric", "A", "B", "Δ", "CI", "p", "±", "n"]
    assert len(set(heads)) == len(heads)
    legend = next(line for line in lines if line.startswith("Δ = "))
    assert "Δ = B − A" in legend and "CI = 95% interval of Δ" in legend and "p = McNemar" in legend
    for cat in (*CATS, "all"):  # each category's name on a line of its own, whole
        assert cat in [line.strip() for line in lines]


def test_compare_at_200_columns_uses_whole_headers_and_does_not_fold() -> None:
    lines = render(200)
    assert max(len(line) for line in lines) <= 200
    head = header(lines)
    full = ["group", "metric", "A", "B", "Δ (B−A)", "95% CI", "McNemar p", "flips", "n"]
    assert in_order(head, full), head
    assert not any(line.startswith("Δ = ") for line in lines)  # nothing to explain
    for name in LONG:  # every row on one line: name, the values and the interval
        row = next(line for line in lines if f" {name} " in line)
        assert row.count("[") == 1 and row.rstrip().endswith("6")  # n = 6 per category


@pytest.mark.parametrize("width", [80, 100, 120, 160, 200])
def test_every_line_of_compare_and_report_fits_and_nothing_is_cut(width: int) -> None:
    for draw in ("compare", "report"):
        lines = render(width, draw)
        assert max(len(line) for line in lines) <= width, (draw, width)
        heads = header(lines).split()
        words = [w for w in heads if w not in ("rate",)]
        assert len(set(words)) == len(words), heads  # no two columns share a header
        text = "\n".join(lines)
        table = text[text.index(header(lines)) :]  # the headline lines use "…" for ranges
        assert "…" not in table  # no value or header cut with an ellipsis
        for name in LONG:  # metric names are whole (they fold only under 80 columns)
            assert name in text, (draw, width, name)


def test_duplicate_headers_are_refused() -> None:
    cols = (Column("p50", "p", "median"), Column("McNemar p", "p", "p-value"))
    console = Console(file=io.StringIO(), width=20)
    with pytest.raises(ValueError, match="unique"):
        fit_table(Column("group"), cols, [Section("all", [["0.5", "0.01"]])], console)
