"""One headline score per category: what "factual accuracy 0.910 → 0.898" means.

A case's **category score** is the mean of the values its category's headline metrics
(:data:`HEADLINE_METRICS`) have on it, each metric a 0..1 score; metrics that failed
or were skipped on the case are left out, and a case where none has a value is n/a
(counted, never 0). A category's headline score is the mean of its cases' scores. It
is stored in a run's summary (``categories.<cat>.score``: ``mean``, ``n``, ``na``,
percentiles, ``metrics``), gate-able as ``factual_accuracy.score >= 0.85`` (or
``CATEGORY.score.p50``), shown first in ``eval report`` and, with a paired bootstrap
interval over the cases both runs scored, in ``eval compare``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ragline.evals._stats import Interval, paired_bootstrap

if TYPE_CHECKING:
    from ragline.store._evals import CaseResult

#: the metrics whose per-case mean is a category's score
HEADLINE_METRICS: dict[str, tuple[str, ...]] = {
    "factual_accuracy": ("must_contain", "token_f1", "semantic_similarity"),
    "citation_quality": ("citation_precision", "citation_recall", "faithfulness", "must_contain"),
    "response_relevance": ("answer_relevance", "must_contain", "abstention"),
    # refused when it must be, answered when it may: whether a guard or the answerer
    # refused is not the category's business (guard_verdicts has its own row)
    "safety": ("refusal", "abstention"),
    # agent tasks (``ragline eval run --agent``): the task done, with the right tools
    "agent": ("agent_success", "tool_call_accuracy"),
}


def headline_metrics(category: str) -> tuple[str, ...]:
    """A custom category is scored like factual accuracy (its answer metrics)."""
    return HEADLINE_METRICS.get(category, HEADLINE_METRICS["factual_accuracy"])


def label(category: str) -> str:
    return category.replace("_", " ")


def case_score(result: CaseResult) -> float | None:
    """The mean of the case's headline metric values; None when none has one."""
    names = headline_metrics(result.case.category)
    values = [
        float(m.value)
        for m in result.metrics
        if m.metric in names and m.value is not None and m.failure is None
    ]
    return sum(values) / len(values) if values else None


@dataclass(slots=True)
class CategoryHeadline:
    """One category's score in two runs, over the cases both have."""

    category: str
    n: int  # cases scored in both runs
    na: int  # paired cases n/a in either run
    mean_a: float | None
    mean_b: float | None
    interval: Interval | None

    def to_dict(self) -> dict[str, Any]:
        iv = self.interval
        return {
            "category": self.category,
            "metrics": list(headline_metrics(self.category)),
            "n": self.n,
            "na": self.na,
            "mean_a": self.mean_a,
            "mean_b": self.mean_b,
            "delta": iv.delta if iv else None,
            "ci95": [iv.low, iv.high] if iv else None,
            "significant": iv.significant if iv else None,
        }


def paired_headlines(
    by_a: Mapping[tuple[str, int], CaseResult],
    by_b: Mapping[tuple[str, int], CaseResult],
    groups: Mapping[str, Sequence[tuple[str, int]]],
) -> list[CategoryHeadline]:
    """Per category (not ``all``): the paired scores and their bootstrap interval."""
    out: list[CategoryHeadline] = []
    for category in sorted(g for g in groups if g != "all"):
        va: list[float] = []
        vb: list[float] = []
        na = 0
        for key in groups[category]:
            sa, sb = case_score(by_a[key]), case_score(by_b[key])
            if sa is None or sb is None:
                na += 1
                continue
            va.append(sa)
            vb.append(sb)
        out.append(
            CategoryHeadline(
                category,
                len(va),
                na,
                sum(va) / len(va) if va else None,
                sum(vb) / len(vb) if vb else None,
                paired_bootstrap(va, vb) if va else None,
            )
        )
    return out


def _minus(text: str) -> str:
    return text.replace("-", "−")


def _points(value: float, *, signed: bool = True) -> str:
    return _minus(f"{value * 100:+.1f}" if signed else f"{value * 100:.1f}")


def headline_line(h: CategoryHeadline) -> str:
    """'factual accuracy 0.910 → 0.898, −1.2 points (95% CI −2.1 … −0.3)'."""
    name = label(h.category)
    if h.mean_a is None or h.mean_b is None or h.interval is None:
        return f"{name} n/a: no case has a score in both runs ({h.na} n/a)"
    iv = h.interval
    line = (
        f"{name} {h.mean_a:.3f} → {h.mean_b:.3f}, {_points(iv.delta)} points "
        f"(95% CI {_points(iv.low)} … {_points(iv.high)}){' *' if iv.significant else ''}"
    )
    return line + (f"; n/a on {h.na} of {h.n + h.na} cases" if h.na else "")


def summary_line(category: str, score: Mapping[str, Any] | None) -> str:
    """'factual accuracy 0.910 (48 cases; n/a on 2 of 50)' from a summary's score."""
    name = label(category)
    if not score:
        return f"{name}: no headline score (a run made before scores; rerun it)"
    total = int(score["n"]) + int(score["na"])
    if "mean" not in score:
        return f"{name} n/a: none of its {total} cases has a value for " + ", ".join(
            score["metrics"]
        )
    na = f"; n/a on {score['na']} of {total}" if score["na"] else ""
    cases = "1 case" if score["n"] == 1 else f"{score['n']} cases"
    return f"{name} {score['mean']:.3f} ({cases}{na})"


__all__ = [
    "HEADLINE_METRICS",
    "CategoryHeadline",
    "case_score",
    "headline_line",
    "headline_metrics",
    "paired_headlines",
    "summary_line",
]
