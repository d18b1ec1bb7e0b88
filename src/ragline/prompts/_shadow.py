"""Shadow variants: answer a served request again, in the background, never shown.

A ``mode: shadow`` experiment serves its control; the pipeline hands each answered
request whose assignment lists shadow variants to :meth:`Shadows.submit` just before
its ``done`` event. Submitting never blocks and never raises into the request: each
experiment has its own bounded queue (``shadow.queue``) and its own daemon workers
(``shadow.workers``, its concurrency); a run that finds the queue full is dropped and
counted (``dropped``), and one that waited longer than ``shadow.max_wait_s`` is dropped
when a worker reaches it (``expired``), so a slow or stuck shadow variant costs its own
queue, never the served path.

A worker answers the request as the shadow variant through the same pipeline (the
conversation's earlier turns included), without streaming. Its trace is a root span
``ragline.shadow`` (kind ``shadow``: monitoring rollups count served asks only) with the
experiment, the variant and ``ragline.shadow.of``, the served request's trace id — so
the two answers can be compared later (``ragline experiments report``). A shadow run
that fails is traced with status ``error`` and counted (``failed``); nothing else sees it.
Nothing is written for it but its trace: no conversation turn, no feedback.

:meth:`Shadows.close` (the project's ``close``) lets the workers finish what is queued,
up to a timeout; what is still queued then is dropped and counted.

:meth:`Shadows.listen` adds a callback told of each outcome (``queued``, ``ran``,
``failed``, ``dropped``, ``expired``) with the experiment and variant: the server's
``/metrics`` counts ``ragline_shadow_runs`` with it. A callback must not block; one
that raises is logged and skipped.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ragline._config_experiments import ExperimentSettings
    from ragline.answer._request import AskRequest
    from ragline.types import Answer

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ShadowStats:
    """What one experiment's shadow runs came to in this process."""

    submitted: int = 0  #: handed to the queue
    ran: int = 0  #: answered (traced)
    failed: int = 0  #: raised (traced with status error)
    dropped: int = 0  #: the queue was full, or still queued at close
    expired: int = 0  #: waited longer than ``max_wait_s``
    queued: int = 0  #: waiting now


Listener = Callable[[str, str, str], object]  #: (experiment, variant, outcome)


class _Runner:
    """One experiment's queue and workers."""

    def __init__(
        self,
        experiment: ExperimentSettings,
        run: Callable[[AskRequest], object],
        clock: Callable[[], float],
        listeners: list[Listener],
    ) -> None:
        self.settings = experiment.shadow
        self.name = experiment.name
        self._run = run
        self._listeners = listeners
        self._clock = clock
        self._queue: queue.Queue[tuple[float, AskRequest] | None] = queue.Queue(
            maxsize=self.settings.queue
        )
        self._lock = threading.Lock()
        self._stats = ShadowStats()
        self._busy = 0
        self._closed = False
        self._workers = [
            threading.Thread(target=self._work, name=f"ragline-shadow-{self.name}-{i}", daemon=True)
            for i in range(self.settings.workers)
        ]
        for worker in self._workers:
            worker.start()

    def submit(self, request: AskRequest) -> bool:
        with self._lock:
            queued = not self._closed
            if queued:
                try:
                    self._queue.put_nowait((self._clock(), request))
                except queue.Full:
                    queued = False
            if queued:
                self._stats.submitted += 1
                self._stats.queued += 1
            else:
                self._stats.dropped += 1
        self._tell(request, "queued" if queued else "dropped")
        return queued

    def _tell(self, request: AskRequest, outcome: str) -> None:
        for listener in self._listeners:
            try:
                listener(self.name, _variant(request), outcome)
            except Exception:  # a metrics callback never breaks a shadow run
                log.exception("shadow listener failed")

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            queued_at, request = item
            with self._lock:
                self._busy += 1
                self._stats.queued -= 1
            outcome = "ran"
            try:
                if self._clock() - queued_at > self.settings.max_wait_s:
                    outcome = "expired"
                else:
                    self._run(request)
            except Exception as e:  # a shadow never raises anywhere: it is traced, counted
                outcome = "failed"
                log.info("shadow variant %s of %s failed: %s", _variant(request), self.name, e)
            finally:
                with self._lock:
                    self._busy -= 1
                    setattr(self._stats, outcome, getattr(self._stats, outcome) + 1)
                self._tell(request, outcome)

    def stats(self) -> ShadowStats:
        with self._lock:
            return replace(self._stats)

    def idle(self) -> bool:
        with self._lock:
            return self._busy == 0 and self._stats.queued == 0

    def close(self, deadline: float) -> None:
        with self._lock:
            self._closed = True
        while not self.idle() and time.monotonic() < deadline:
            time.sleep(0.01)
        left: list[AskRequest] = []
        with self._lock:  # what no worker reached in time is dropped, counted
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    self._stats.dropped += 1
                    self._stats.queued -= 1
                    left.append(item[1])
        for request in left:
            self._tell(request, "dropped")
        for _ in self._workers:  # a worker still busy past the deadline is a daemon
            try:
                self._queue.put_nowait(None)
            except queue.Full:  # pragma: no cover - emptied above, nothing submits now
                break


def _variant(request: AskRequest) -> str:
    return request.assignment.variant if request.assignment else "?"


class Shadows:
    """The shadow runs of every ``mode: shadow`` experiment (see the module docstring).

    ``run`` answers one request as its assignment's variant (the project's pipeline of
    that variant); a runner (queue and workers) starts at an experiment's first submit.
    """

    def __init__(
        self,
        experiments: list[ExperimentSettings],
        run: Callable[[AskRequest], object],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._experiments = {e.name: e for e in experiments if e.mode == "shadow"}
        self._run = run
        self._clock = clock
        self._runners: dict[str, _Runner] = {}
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def listen(self, listener: Listener) -> None:
        """Tell ``listener(experiment, variant, outcome)`` of every shadow run's outcome."""
        self._listeners.append(listener)

    def submit(self, request: AskRequest, answer: Answer) -> int:
        """Queue ``request`` for each shadow variant its assignment lists, linked to
        ``answer``'s trace; returns how many were queued. Never blocks, never raises."""
        from ragline.prompts._experiments import Assignment

        served = request.assignment
        if served is None or not served.shadows:
            return 0
        runner = self._runner(served.experiment)
        if runner is None:
            return 0
        queued = 0
        for variant in served.shadows:
            shadow = replace(
                request,
                stream=False,
                assignment=Assignment(served.experiment, variant, served.key),
                shadow_of=answer.trace_id or "",
            )
            queued += runner.submit(shadow)
        return queued

    def _runner(self, experiment: str) -> _Runner | None:
        found = self._runners.get(experiment)
        if found is None:
            settings = self._experiments.get(experiment)
            if settings is None:
                return None
            with self._lock:
                found = self._runners.get(experiment)
                if found is None:
                    found = self._runners[experiment] = _Runner(
                        settings, self._run, self._clock, self._listeners
                    )
        return found

    def stats(self) -> dict[str, ShadowStats]:
        """Per experiment that has submitted anything: its counters."""
        return {name: runner.stats() for name, runner in list(self._runners.items())}

    def close(self, timeout: float) -> None:
        """Let the workers finish what is queued, up to ``timeout`` seconds in all."""
        deadline = time.monotonic() + timeout
        for runner in list(self._runners.values()):
            runner.close(deadline)


__all__ = ["ShadowStats", "Shadows"]
