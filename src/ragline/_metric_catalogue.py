"""The catalogue of windowed metrics (:data:`METRICS`): names, units, aggregations and
filters. :mod:`ragline.monitor._source` re-exports it as part of the monitoring
contract; it lives here, outside the ``monitor`` role, so that :mod:`ragline.config`
can check an alert rule against it at load time without importing a role (which would
make an import cycle: monitor → store → models → config).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

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
            "agent_runs",
            "count",
            ("count",),
            "agent runs; with filter kind=STOP_REASON (completed, step_limit, loop_detected, "
            "budget, timeout, handoff, error, blocked) those that stopped so",
            ("tenant", "route", "kind"),
        ),
        MetricInfo("agent_steps", "count", _DIST, "model turns per agent run"),
        MetricInfo(
            "agent_tool_calls",
            "count",
            ("sum", "mean", "count"),
            "tool calls per agent run; with filter kind=TOOL one tool's",
            ("tenant", "route", "kind"),
        ),
        MetricInfo("agent_tool_errors", "ratio", _RATE, "agent tool calls that failed"),
        MetricInfo(
            "agent_limit_hits",
            "ratio",
            _RATE,
            "agent runs stopped by step_limit, loop_detected, budget or timeout",
        ),
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


__all__ = ["FILTERS", "METRICS", "Aggregation", "MetricInfo", "Unit"]
