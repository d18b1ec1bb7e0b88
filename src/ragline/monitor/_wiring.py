"""A project's monitor, from its settings and its store: the metric source the rules
read, the channels they notify, and the loop that runs them.

``ragline monitor run --once``, ``ragline monitor status``, the ``alerts`` commands and
the loop inside ``ragline serve`` all build theirs here, so they read the same
numbers and write the same history.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ragline.monitor._evaluator import Evaluator
from ragline.monitor._loop import MonitorLoop
from ragline.monitor._notification import Notifier
from ragline.monitor._source import MetricQuery, MetricSource, MetricValue

if TYPE_CHECKING:
    from ragline.config import Settings
    from ragline.store._backend import Backend

log = logging.getLogger("ragline.monitor")


class NoMetrics:
    """A :class:`MetricSource` with no data in any window: what a store without
    per-minute rollups answers. Every rule sees *no data* (never zero), so its
    ``no_data`` choice decides."""

    def query(self, q: MetricQuery, *, now: float) -> MetricValue:
        return MetricValue(None)


def metric_source(backend: Backend) -> MetricSource:
    """The metric source of a project's store: its per-minute rollups.

    The rollups (``store/_rollups.py``, ``monitor/_rollup*.py``) are built separately;
    until a backend has them, this is :class:`NoMetrics`.
    """
    return NoMetrics()


def notifiers(settings: Settings) -> Mapping[str, Notifier]:
    """The configured channels by name (the notifier settings are built separately;
    none are configured until they are)."""
    return {}


def evaluator(
    settings: Settings,
    backend: Backend,
    *,
    source: MetricSource | None = None,
    channels: Mapping[str, Notifier] | None = None,
) -> Evaluator:
    return Evaluator(
        settings.alerts,
        source if source is not None else metric_source(backend),
        backend.alerts,
        channels if channels is not None else notifiers(settings),
    )


def monitor_loop(
    settings: Settings,
    backend: Backend,
    *,
    source: MetricSource | None = None,
    channels: Mapping[str, Notifier] | None = None,
) -> MonitorLoop:
    """The loop of ``ragline serve`` (or one ``--once`` run) for this project."""
    ev = evaluator(settings, backend, source=source, channels=channels)
    return MonitorLoop(ev, backend.alerts.evaluator_lock(), interval_s=settings.monitor.interval)


def start_in_server(settings: Settings, backend: Backend) -> MonitorLoop | None:
    """Start the loop of one server process (every worker and replica starts one; the
    evaluator lock lets exactly one of them evaluate). ``None`` when there are no rules
    or ``monitor.evaluate_in_server`` is false."""
    if not settings.alerts.rules or not settings.monitor.evaluate_in_server:
        return None
    loop = monitor_loop(settings, backend)
    loop.start()
    log.info(
        "alert rules: %d, evaluated every %gs by one process at a time",
        len(settings.alerts.rules),
        settings.monitor.interval,
    )
    return loop
