"""The monitoring contract: which metrics exist, and how a reader asks for a value.

Writers (the per-minute rollups built from finished traces) and readers (alert rules,
``ragline monitor metrics``, the dashboard) meet here and nowhere else:

- :data:`METRICS` names every windowed metric, its unit, the aggregations it supports
  and the filters it can be sliced by. A rule naming a metric, aggregation or filter
  that is not listed is a configuration error at load time.
- A :class:`MetricQuery` asks for one number: metric, aggregation, window, filters
  and, for drift and change rules, a baseline window.
- A :class:`MetricSource` answers it with a :class:`MetricValue`. ``value is None``
  means *no data* in the window (no requests), which is not the same as zero; a
  window that overlaps a gap in the rollups (the rollup write failed) says so in
  ``gaps``, so a reader never mistakes missing data for a healthy zero.

Times are Unix epoch seconds (float); windows are seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

Aggregation = Literal["count", "sum", "mean", "rate", "p50", "p95", "p99", "max", "psi", "ks"]
Unit = Literal["count", "ratio", "ms", "tokens", "usd", "score"]

#: The filters a metric can be sliced by (a rule's ``filter:`` keys).
FILTERS: tuple[str, ...] = ("tenant", "route", "stage", "model", "doc_type", "kind")


@dataclass(frozen=True, slots=True)
class MetricInfo:
    name: str
    unit: Unit
    aggregations: tuple[Aggregation, ...]
    description: str
    filters: tuple[str, ...] = ("tenant", "route")


_DIST: tuple[Aggregation, ...] = ("mean", "p50", "p95", "p99", "max", "count")
_RATE: tuple[Aggregation, ...] = ("rate", "count")
_DRIFT: tuple[Aggregation, ...] = ("mean", "p50", "p95", "psi", "ks", "count")

#: Every windowed metric. A rate metric counts asks where the condition held over the
#: asks in the window (``rate``) or the number of such asks (``count``).
METRICS: Mapping[str, MetricInfo] = {
    m.name: m
    for m in (
        MetricInfo("requests", "count", ("count", "rate"), "asks answered or failed"),
        MetricInfo("errors", "ratio", _RATE, "asks that ended in an error"),
        MetricInfo("timeouts", "ratio", _RATE, "asks that ran past their deadline"),
        MetricInfo("shed", "ratio", _RATE, "requests refused with 429 (limits, overload)"),
        MetricInfo(
            "latency",
            "ms",
            _DIST,
            "ask latency; with filter stage=NAME one pipeline stage's span",
            ("tenant", "route", "stage"),
        ),
        MetricInfo(
            "tokens",
            "tokens",
            ("sum", "mean", "count"),
            "model tokens",
            ("tenant", "route", "model"),
        ),
        MetricInfo(
            "cost", "usd", ("sum", "mean", "count"), "model cost", ("tenant", "route", "model")
        ),
        MetricInfo("abstentions", "ratio", _RATE, "asks answered with an abstention"),
        MetricInfo("guard_triggers", "ratio", _RATE, "asks where a guard blocked/redacted/flagged"),
        MetricInfo(
            "feedback",
            "count",
            ("count",),
            "feedback received, with filter kind=hallucination|wrong_citation|irrelevant|good",
            ("tenant", "route", "kind"),
        ),
        MetricInfo(
            "top1_score",
            "score",
            _DRIFT,
            "the first retrieval hit's fused score; with filter stage=keyword|dense that "
            "retriever's own best score",
            ("tenant", "route", "stage"),
        ),
        MetricInfo(
            "mean_score",
            "score",
            _DRIFT,
            "the mean score of the returned hits; with filter stage=keyword|dense of that "
            "retriever's top hits",
            ("tenant", "route", "stage"),
        ),
        MetricInfo(
            "cross_language",
            "ratio",
            _RATE,
            "asks where a top-k or cited hit's language differs from the question's",
        ),
        MetricInfo("citation_support", "ratio", ("mean", "count"), "cited sentences supported"),
        MetricInfo("cache_hits", "ratio", _RATE, "asks answered from the response cache"),
        MetricInfo(
            "quality",
            "score",
            ("mean", "p50", "count"),
            "online quality scores of sampled asks, with filter kind=METRIC "
            "(citation_support, faithfulness, answer_relevance, judge)",
            ("tenant", "route", "kind"),
        ),
    )
}


@dataclass(frozen=True, slots=True)
class MetricQuery:
    """One number: ``agg`` of ``metric`` over ``[now - window_s, now)``.

    ``baseline_s`` (drift and change rules): the baseline window is the
    ``baseline_s`` seconds before the evaluated window; ``psi``/``ks`` compare the
    two distributions, and a reader computing a relative change reads both values.
    """

    metric: str
    agg: Aggregation
    window_s: float
    filters: Mapping[str, str] = field(default_factory=dict)
    baseline_s: float | None = None


@dataclass(frozen=True, slots=True)
class MetricValue:
    value: float | None  # None: no data in the window (not zero)
    samples: int = 0  # asks (or feedback items, scores) the value is computed from
    baseline: float | None = None  # the same aggregation over the baseline window
    gaps: int = 0  # minutes in the window whose rollups are missing (write failed)


@runtime_checkable
class MetricSource(Protocol):
    """Answers metric queries (the rollups of a store; a fake in tests)."""

    def query(self, q: MetricQuery, *, now: float) -> MetricValue: ...


__all__ = [
    "FILTERS",
    "METRICS",
    "Aggregation",
    "MetricInfo",
    "MetricQuery",
    "MetricSource",
    "MetricValue",
    "Unit",
]
