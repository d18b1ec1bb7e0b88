"""Monitoring: windowed metrics from traces, alert rules, notifiers.

:mod:`ragline.monitor._source` is the contract between the writers (per-minute
rollups built from finished traces) and the readers (alert rules, ``ragline monitor``,
the dashboard): the metric catalogue, :class:`MetricQuery`, :class:`MetricValue` and
the :class:`MetricSource` protocol.

Alert rules (``alerts:`` in ``ragline.yaml``) run in :class:`Evaluator` — the state
machine, with history and silences kept in the store's
:class:`~ragline.store.AlertStore` — one evaluation at a time across processes
(:class:`MonitorLoop`, ``ragline monitor run --once``); what they tell the outside
world is a :class:`Notification` sent to each :class:`Notifier`.
"""

from __future__ import annotations

from ragline._lazy import lazy_exports
from ragline.monitor._notification import Notification, Notifier
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
    "CycleReport",
    "Evaluator",
    "MetricInfo",
    "MetricQuery",
    "MetricSource",
    "MetricValue",
    "MonitorLoop",
    "Notification",
    "Notifier",
    "RuleResult",
]

_LAZY = {
    "CycleReport": "ragline.monitor._evaluator",
    "Evaluator": "ragline.monitor._evaluator",
    "RuleResult": "ragline.monitor._evaluator",
    "MonitorLoop": "ragline.monitor._loop",
}

__getattr__ = lazy_exports(__name__, _LAZY)
