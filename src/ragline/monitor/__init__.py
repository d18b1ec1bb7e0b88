"""Monitoring: windowed metrics from traces, alert rules, notifiers.

:mod:`ragline.monitor._source` is the contract between the writers (per-minute
rollups built from finished traces) and the readers (alert rules, ``ragline monitor``,
the dashboard): the metric catalogue, :class:`MetricQuery`, :class:`MetricValue` and
the :class:`MetricSource` protocol.
"""

from __future__ import annotations

from ragline.monitor._source import (
    FILTERS,
    METRICS,
    Aggregation,
    MetricInfo,
    MetricQuery,
    MetricSource,
    MetricValue,
)

__all__ = [
    "FILTERS",
    "METRICS",
    "Aggregation",
    "MetricInfo",
    "MetricQuery",
    "MetricSource",
    "MetricValue",
]
