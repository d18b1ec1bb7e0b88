"""Fakes for monitoring tests: a metric source whose values a test sets, and a notifier
that records what it was sent (or fails, on request)."""

from __future__ import annotations

import threading
from collections.abc import Mapping

from ragline.monitor._notification import Notification
from ragline.monitor._source import MetricQuery, MetricValue

Key = tuple[str, str, tuple[tuple[str, str], ...]]


def _key(metric: str, agg: str, filters: Mapping[str, str]) -> Key:
    return metric, agg, tuple(sorted(filters.items()))


class FakeMetricSource:
    """A :class:`~ragline.monitor.MetricSource` answering with values a test sets.

    ``set("latency", "p95", 2500, route="ask")`` makes every query for that metric,
    aggregation and filters answer 2500 (with ``samples`` and ``baseline`` if given);
    an unset query answers no data (``value=None``). ``queries`` records every query
    with the ``now`` it was asked at; ``fail`` makes queries raise.
    """

    def __init__(self) -> None:
        self._values: dict[Key, MetricValue] = {}
        self.queries: list[tuple[MetricQuery, float]] = []
        self.fail: Exception | None = None
        self._lock = threading.Lock()

    def set(
        self,
        metric: str,
        agg: str,
        value: float | None,
        *,
        samples: int = 100,
        baseline: float | None = None,
        gaps: int = 0,
        **filters: str,
    ) -> None:
        mv = MetricValue(value, samples if value is not None else 0, baseline, gaps)
        with self._lock:
            self._values[_key(metric, agg, filters)] = mv

    def clear(self, metric: str, agg: str, **filters: str) -> None:
        with self._lock:
            self._values.pop(_key(metric, agg, filters), None)

    def query(self, q: MetricQuery, *, now: float) -> MetricValue:
        with self._lock:
            self.queries.append((q, now))
            if self.fail is not None:
                raise self.fail
            return self._values.get(_key(q.metric, q.agg, q.filters), MetricValue(None))


class RecordingNotifier:
    """A :class:`~ragline.monitor.Notifier` that keeps every notification it is sent.

    ``fail`` (an exception) makes ``send`` raise it instead, as a dead receiver would.
    """

    def __init__(self) -> None:
        self.sent: list[Notification] = []
        self.fail: Exception | None = None
        self._lock = threading.Lock()

    def send(self, notification: Notification) -> None:
        with self._lock:
            if self.fail is not None:
                raise self.fail
            self.sent.append(notification)
