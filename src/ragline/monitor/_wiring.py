"""A project's monitor, from its settings and its store: the metric source the rules
read, the channels they notify, and the loop that runs them.

``ragline monitor run --once``, ``ragline monitor status``, the ``alerts`` commands and
the loop inside ``ragline serve`` all build theirs here, so they read the same
numbers and write the same history.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ragline.monitor._evaluator import Evaluator
from ragline.monitor._loop import MonitorLoop
from ragline.monitor._notification import Notification, Notifier
from ragline.monitor._source import MetricQuery, MetricSource, MetricValue

if TYPE_CHECKING:
    from ragline.config import Settings
    from ragline.monitor._dispatch import Dispatcher
    from ragline.store import TraceStore
    from ragline.store._backend import Backend

log = logging.getLogger("ragline.monitor")


class NoMetrics:
    """A :class:`MetricSource` with no data in any window: what a store without
    per-minute rollups answers. Every rule sees *no data* (never zero), so its
    ``no_data`` choice decides."""

    def query(self, q: MetricQuery, *, now: float) -> MetricValue:
        return MetricValue(None)


def metric_source(backend: Backend, traces: TraceStore | None = None) -> MetricSource:
    """The metric source of a project's store: its per-minute rollups (with the
    project's monitored trace store, the gap minutes this process has not written yet
    count too); :class:`NoMetrics` when the store cannot open its rollups."""
    from ragline.monitor._setup import rollup_source

    try:
        return rollup_source(backend, traces if traces is not None else backend.traces)
    except Exception as e:  # the evaluator still runs: every rule sees no data
        log.warning("alert rules read no metrics: the rollups are unavailable: %s", e)
        return NoMetrics()


class _Channel:
    """A configured notifier as an alert rule's channel: delivered on the evaluator's
    thread (never a request's) with the notifier's retries, backoff and counters (the
    dispatcher's); ``send`` raises the last error, so the evaluator records the
    failure and tries again at the next evaluation."""

    def __init__(self, dispatcher: Dispatcher, name: str) -> None:
        self.dispatcher, self.name = dispatcher, name

    def send(self, n: Notification) -> None:
        error = self.dispatcher.send_now(n, to=[self.name]).get(self.name)
        if error is not None:
            raise error


def notifiers(
    settings: Settings,
    *,
    project_dir: str | os.PathLike[str] = ".",
    dispatcher: Dispatcher | None = None,
) -> Mapping[str, Notifier]:
    """The channels of ``monitor.notifiers`` by name (``dispatcher``: the server's, so
    its outcomes are counted on ``/metrics``; else one is built now)."""
    if dispatcher is None:
        if not settings.monitor.notifiers:
            return {}
        from ragline.monitor._notifiers import build_dispatcher

        dispatcher = build_dispatcher(settings.monitor, project_dir=project_dir)
    return {name: _Channel(dispatcher, name) for name in dispatcher.names}


def evaluator(
    settings: Settings,
    backend: Backend,
    *,
    source: MetricSource | None = None,
    channels: Mapping[str, Notifier] | None = None,
    project_dir: str | os.PathLike[str] = ".",
    dispatcher: Dispatcher | None = None,
) -> Evaluator:
    if channels is None:
        channels = notifiers(settings, project_dir=project_dir, dispatcher=dispatcher)
    return Evaluator(
        settings.alerts,
        source if source is not None else metric_source(backend),
        backend.alerts,
        channels,
    )


def monitor_loop(
    settings: Settings,
    backend: Backend,
    *,
    source: MetricSource | None = None,
    channels: Mapping[str, Notifier] | None = None,
    project_dir: str | os.PathLike[str] = ".",
    dispatcher: Dispatcher | None = None,
) -> MonitorLoop:
    """The loop of ``ragline serve`` (or one ``--once`` run) for this project."""
    ev = evaluator(
        settings,
        backend,
        source=source,
        channels=channels,
        project_dir=project_dir,
        dispatcher=dispatcher,
    )
    return MonitorLoop(ev, backend.alerts.evaluator_lock(), interval_s=settings.monitor.interval)


def start_in_server(
    settings: Settings,
    backend: Backend,
    *,
    project_dir: str | os.PathLike[str] = ".",
    dispatcher: Dispatcher | None = None,
    source: MetricSource | None = None,
) -> MonitorLoop | None:
    """Start the loop of one server process (every worker and replica starts one; the
    evaluator lock lets exactly one of them evaluate). ``None`` when there are no rules
    or ``monitor.evaluate_in_server`` is false."""
    if not settings.alerts.rules or not settings.monitor.evaluate_in_server:
        return None
    loop = monitor_loop(
        settings, backend, source=source, project_dir=project_dir, dispatcher=dispatcher
    )
    loop.start()
    log.info(
        "alert rules: %d, evaluated every %gs by one process at a time",
        len(settings.alerts.rules),
        settings.monitor.interval,
    )
    return loop
