"""Where rules run: one evaluator at a time, on an interval or once.

:class:`MonitorLoop` wraps an :class:`~ragline.monitor.Evaluator` and a handle on the
store's evaluator lock (:meth:`~ragline.store.AlertStore.evaluator_lock`):

- :meth:`MonitorLoop.run_once` evaluates only if this handle holds the lock, so of
  several processes — server workers, replicas, a cron job — sharing one store exactly
  one evaluates; the others skip (``None``) and try again on their next turn, taking
  over when the holder exits or dies. ``ragline monitor run --once`` releases it after.
- :meth:`MonitorLoop.start` runs it on a daemon thread every ``interval_s`` (inside
  ``ragline serve``), holding the lock between evaluations. A slow or failing
  evaluation delays only the next one: requests never wait for it, and an error is
  logged and counted (``failures``), never raised into the server.

The time of an evaluation is ``clock()`` (``time.time`` by default) read when it
starts; the evaluator copes with a clock that jumps.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from ragline.monitor._evaluator import CycleReport, Evaluator
from ragline.store._alerts import EvaluatorLock

log = logging.getLogger("ragline.monitor")


class MonitorLoop:
    """One contender for evaluating a store's alert rules (see the module docstring)."""

    def __init__(
        self,
        evaluator: Evaluator,
        lock: EvaluatorLock,
        *,
        interval_s: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.evaluator = evaluator
        self.lock = lock
        self.interval_s = interval_s
        self.clock = clock
        self.cycles = 0  # evaluations done by this one
        self.skipped = 0  # turns another evaluator had the lock
        self.failures = 0  # evaluations that raised
        self.last: CycleReport | None = None
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, now: float | None = None) -> CycleReport | None:
        """Evaluate at ``now`` (default ``clock()``) if this contender holds the lock;
        ``None`` when another one does. Errors of the evaluation are raised."""
        if not self.lock.acquire():
            self.skipped += 1
            return None
        report = self.evaluator.evaluate(self.clock() if now is None else now)
        self.cycles += 1
        self.last = report
        return report

    # -- in the background -----------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="ragline-monitor", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
                self.last_error = None
            except Exception as e:
                self.failures += 1
                self.last_error = f"{type(e).__name__}: {e}"
                log.warning("alert evaluation failed (will retry): %s", self.last_error)
            self._stop.wait(self.interval_s)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread (waiting up to ``timeout`` for an evaluation under way) and
        let the lock go, so another process takes over at once."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
        self.lock.release()
