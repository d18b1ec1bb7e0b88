"""Delivery that never blocks the caller: one bounded queue and one background thread
per notifier, retries with exponential backoff and jitter, every outcome counted.

:meth:`Dispatcher.submit` only puts the notification on each notifier's queue and
returns; a full queue drops it (counted ``dropped``), it never waits. Each notifier
has its own lane, so a dead PagerDuty endpoint does not delay the Slack message. A
lane makes up to ``1 + retries`` attempts, each bounded by the notifier's own timeout;
between attempts it waits ``min(backoff_max_s, backoff_initial_s * 2**attempt)``
scaled by a random factor in [0.5, 1) (jitter: many workers retrying a receiver that
came back do not hit it in step). A :class:`~ragline.errors.NotifyError` with
``retryable`` False (a 4xx, a refused recipient) is not retried. Counters per
notifier — ``sent``, ``failed`` (gave up), ``retried`` (attempts after the first),
``dropped`` (queue full, or still queued at close) — are :meth:`Dispatcher.stats` and
``ragline_notifications_total{notifier,outcome}`` on ``/metrics``.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from ragline.errors import NotifyError
from ragline.monitor._notification import Notification, Notifier

log = logging.getLogger("ragline.monitor")

OUTCOMES: tuple[str, ...] = ("sent", "failed", "retried", "dropped")


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    retries: int = 3
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    queue_size: int = 1000

    def delay(self, attempt: int, jitter: float) -> float:
        """The wait after failed attempt ``attempt`` (0-based); ``jitter`` in [0, 1)."""
        base = min(self.backoff_max_s, self.backoff_initial_s * (2.0**attempt))
        return base * (0.5 + 0.5 * jitter)


@dataclass(frozen=True, slots=True)
class NotifierStats:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    dropped: int = 0
    pending: int = 0  # queued or being delivered now
    last_error: str | None = None

    def count(self, outcome: str) -> int:
        value: int = getattr(self, outcome)
        return value


class _Lane:
    """One notifier's queue, thread and counters."""

    def __init__(
        self,
        notifier: Notifier,
        policy: DeliveryPolicy,
        rng: Callable[[], float],
        closing: threading.Event,
        on_outcome: Callable[[str, str], None] | None,
    ) -> None:
        self.notifier = notifier
        self._on_outcome = on_outcome
        self.policy = policy
        self._rng = rng
        self._closing = closing
        self._queue: queue.Queue[Notification] = queue.Queue(maxsize=policy.queue_size)
        self._lock = threading.Condition()
        self._counts = dict.fromkeys(OUTCOMES, 0)
        self._pending = 0
        self._last_error: str | None = None
        self._thread: threading.Thread | None = None

    def _bump(self, outcome: str, error: str | None = None) -> None:
        with self._lock:
            self._counts[outcome] += 1
            if error is not None:
                self._last_error = error
        if self._on_outcome is not None:
            try:
                self._on_outcome(self.notifier.name, outcome)
            except Exception:  # a metrics hook never breaks delivery
                log.exception("notification outcome hook failed")

    def offer(self, n: Notification) -> bool:
        if self._closing.is_set():
            self._bump("dropped", "closed")
            return False
        with self._lock:
            try:
                self._queue.put_nowait(n)
            except queue.Full:
                full = True
            else:
                full = False
                self._pending += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"ragline-notify-{self.notifier.name}", daemon=True
                )
                self._thread.start()
        if full:
            self._bump("dropped", f"queue full ({self.policy.queue_size} waiting)")
            log.warning("notifier %r: queue full, notification dropped", self.notifier.name)
            return False
        return True

    def deliver(self, n: Notification) -> NotifyError | None:
        """Send with retries; count the outcome; the last error, or None when sent."""
        attempt = 0
        while True:
            try:
                self.notifier.send(n)
            except NotifyError as e:
                error = e
            except Exception as e:  # a notifier that raised something else: same handling
                error = NotifyError(
                    f"notifier {self.notifier.name!r}: {type(e).__name__}: {e}",
                    notifier=self.notifier.name,
                )
            else:
                self._bump("sent")
                return None
            if not error.retryable or attempt >= self.policy.retries:
                self._bump("failed", str(error))
                log.warning(
                    "notifier %r gave up on %s after %d attempt(s): %s",
                    self.notifier.name,
                    n.rule,
                    attempt + 1,
                    error,
                )
                return error
            self._bump("retried", str(error))
            # closing: stop waiting between attempts (the remaining ones run at once)
            self._closing.wait(self.policy.delay(attempt, self._rng()))
            attempt += 1

    def _run(self) -> None:
        while True:
            try:
                n = self._queue.get(timeout=0.2)
            except queue.Empty:
                if self._closing.is_set():
                    return
                continue
            try:
                self.deliver(n)
            finally:
                with self._lock:
                    self._pending -= 1
                    self._lock.notify_all()

    def wait_idle(self, deadline: float) -> bool:
        with self._lock:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
        return True

    def abandon(self) -> None:
        """At close, past the deadline: what is still queued is dropped (and counted)."""
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return
            with self._lock:
                self._pending -= 1
                self._lock.notify_all()
            self._bump("dropped", "still queued at close")

    def stats(self) -> NotifierStats:
        with self._lock:
            return NotifierStats(**self._counts, pending=self._pending, last_error=self._last_error)


class Dispatcher:
    """Fans notifications out to notifiers in the background (see the module doc)."""

    def __init__(
        self,
        notifiers: Sequence[Notifier],
        *,
        policies: Mapping[str, DeliveryPolicy] | None = None,
        rng: Callable[[], float] = random.random,
        on_outcome: Callable[[str, str], None] | None = None,
    ) -> None:
        """``on_outcome(notifier, outcome)`` is called for every count (metrics)."""
        self._closing = threading.Event()
        self._lanes: dict[str, _Lane] = {}
        for notifier in notifiers:
            if notifier.name in self._lanes:
                raise ValueError(f"two notifiers named {notifier.name!r}")
            policy = (policies or {}).get(notifier.name, DeliveryPolicy())
            self._lanes[notifier.name] = _Lane(notifier, policy, rng, self._closing, on_outcome)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._lanes)

    def notifier(self, name: str) -> Notifier:
        return self._lanes[name].notifier

    def policy(self, name: str) -> DeliveryPolicy:
        return self._lanes[name].policy

    def _targets(self, to: Iterable[str] | None) -> list[_Lane]:
        if to is None:
            return list(self._lanes.values())
        lanes = []
        for name in to:
            lane = self._lanes.get(name)
            if lane is None:
                log.warning("no notifier named %r (known: %s)", name, ", ".join(self._lanes))
                continue
            lanes.append(lane)
        return lanes

    def submit(self, n: Notification, *, to: Iterable[str] | None = None) -> bool:
        """Queue ``n`` for the notifiers named in ``to`` (default: every one); returns at
        once. False when some queue was full (the notification was dropped there)."""
        results = [lane.offer(n) for lane in self._targets(to)]
        return all(results)

    def send_now(
        self, n: Notification, *, to: Iterable[str] | None = None
    ) -> dict[str, NotifyError | None]:
        """Deliver on the calling thread, with the same retries and counters (``ragline
        notifiers test``); each notifier's last error, or None when it was sent."""
        return {lane.notifier.name: lane.deliver(n) for lane in self._targets(to)}

    def stats(self) -> dict[str, NotifierStats]:
        return {name: lane.stats() for name, lane in self._lanes.items()}

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every queued notification was delivered or given up on."""
        deadline = time.monotonic() + timeout_s
        return all(lane.wait_idle(deadline) for lane in self._lanes.values())

    def close(self, timeout_s: float = 5.0) -> bool:
        """Stop taking notifications, deliver what is queued within ``timeout_s``
        (retries no longer wait), then drop (and count) the rest. True when all went."""
        self._closing.set()
        done = self.flush(timeout_s)
        if not done:
            for lane in self._lanes.values():
                lane.abandon()
        for lane in self._lanes.values():
            close = getattr(lane.notifier, "close", None)
            if callable(close):
                close()
        return done


__all__ = ["OUTCOMES", "DeliveryPolicy", "Dispatcher", "NotifierStats"]
