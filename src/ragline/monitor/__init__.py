"""Monitoring: windowed metrics from traces, alert rules, notifiers.

:mod:`ragline.monitor._source` is the contract between the writers (per-minute
rollups built from finished traces) and the readers (alert rules, ``ragline monitor``,
the dashboard): the metric catalogue, :class:`MetricQuery`, :class:`MetricValue` and
the :class:`MetricSource` protocol.

Alert rules (``alerts:`` in ``ragline.yaml``) run in :class:`Evaluator` — the state
machine, with history and silences kept in the store's
:class:`~ragline.store.AlertStore` — one evaluation at a time across processes
(:class:`MonitorLoop`, ``ragline monitor run --once``); what they tell the outside
world is a :class:`Notification`.

Notifications: a :class:`Notification` goes to each :class:`Notifier` (webhook, Slack,
PagerDuty, email, file) through a :class:`Dispatcher` (background, retried, counted);
:func:`build_dispatcher` makes one from ``monitor.notifiers``.

The writer side: :class:`RollupRecorder` turns finished ask traces into per-minute
rollups (:class:`MonitoredTraceStore` feeds it from the trace writer), and
:class:`RollupSource` answers metric queries from them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ragline._duration import format_duration, parse_duration
from ragline._lazy import lazy_exports
from ragline.monitor._dispatch import OUTCOMES, DeliveryPolicy, Dispatcher, NotifierStats
from ragline.monitor._notification import Notification, NotificationState, Notifier
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

if TYPE_CHECKING:
    from ragline.monitor._evaluator import CycleReport, Evaluator, RuleResult
    from ragline.monitor._loop import MonitorLoop
    from ragline.monitor._notifiers import build_dispatcher, build_notifier
    from ragline.monitor._notify_email import EmailNotifier
    from ragline.monitor._notify_file import FileNotifier
    from ragline.monitor._notify_pagerduty import PagerDutyNotifier
    from ragline.monitor._notify_slack import SlackNotifier
    from ragline.monitor._notify_webhook import WebhookNotifier

__all__ = [
    "FILTERS",
    "METRICS",
    "OUTCOMES",
    "Aggregation",
    "CycleReport",
    "DeliveryPolicy",
    "Dispatcher",
    "EmailNotifier",
    "Evaluator",
    "FileNotifier",
    "MetricInfo",
    "MetricQuery",
    "MetricSource",
    "MetricValue",
    "MonitorLoop",
    "MonitoredTraceStore",
    "Notification",
    "NotificationState",
    "Notifier",
    "NotifierStats",
    "PagerDutyNotifier",
    "RollupRecorder",
    "RollupSource",
    "RollupStats",
    "RuleResult",
    "SlackNotifier",
    "WebhookNotifier",
    "build_dispatcher",
    "build_notifier",
    "format_duration",
    "parse_duration",
]

# the evaluator, the loop, the notifiers and their builder are imported on first use
_LAZY = {
    "CycleReport": "ragline.monitor._evaluator",
    "Evaluator": "ragline.monitor._evaluator",
    "RuleResult": "ragline.monitor._evaluator",
    "MonitorLoop": "ragline.monitor._loop",
    "EmailNotifier": "ragline.monitor._notify_email",
    "FileNotifier": "ragline.monitor._notify_file",
    "PagerDutyNotifier": "ragline.monitor._notify_pagerduty",
    "SlackNotifier": "ragline.monitor._notify_slack",
    "WebhookNotifier": "ragline.monitor._notify_webhook",
    "build_dispatcher": "ragline.monitor._notifiers",
    "build_notifier": "ragline.monitor._notifiers",
}

__getattr__ = lazy_exports(__name__, _LAZY)
