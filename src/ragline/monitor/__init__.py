"""Monitoring: windowed metrics from traces, alert rules, notifiers.

:mod:`ragline.monitor._source` is the contract between the writers (per-minute
rollups built from finished traces) and the readers (alert rules, ``ragline monitor``,
the dashboard): the metric catalogue, :class:`MetricQuery`, :class:`MetricValue` and
the :class:`MetricSource` protocol.

The writer side: :class:`RollupRecorder` turns finished ask traces into per-minute
rollups (:class:`MonitoredTraceStore` feeds it from the trace writer), and
:class:`RollupSource` answers metric queries from them.
"""

from __future__ import annotations

from ragline._duration import format_duration, parse_duration
from ragline.monitor._recorder import MonitoredTraceStore, RollupRecorder, RollupStats
from ragline.monitor._rollup_source import RollupSource
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
    "MonitoredTraceStore",
    "RollupRecorder",
    "RollupSource",
    "RollupStats",
    "format_duration",
    "parse_duration",
]
