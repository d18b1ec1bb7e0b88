"""``CircuitBreakerModel``: stop calling a provider that keeps failing.

States (thread-safe, one lock):

- **closed** — calls go through. ``failures`` consecutive *retryable* failures
  (429, 5xx, timeouts, connection errors — after any retries inside) open it.
- **open** — calls fail at once with :class:`CircuitOpenError` (``retryable=False``,
  ``retry_after_s`` = time left), so a fallback model answers without waiting.
- **half-open** — once ``reset_s`` has passed, exactly ONE call (the probe) goes
  through; others fail fast until it ends. Success closes the circuit, a retryable
  failure opens it again for another ``reset_s``.

Outcomes: a success resets the count; a non-retryable error (a 400, a missing key,
a bug) says nothing about the provider's health and changes nothing — except that a
probe ending that way frees the probe slot, so the next call probes again. A stream
counts as a success when it ends normally or the consumer stops after a delta.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Literal

from ragline.models._base import Completion, Delta, Messages, Model, Tools
from ragline.models._wrap import CircuitOpenError, ModelWrapper, is_retryable

CircuitState = Literal["closed", "open", "half_open"]
_Outcome = Literal["success", "failure", "neutral"]


class CircuitBreakerModel(ModelWrapper):
    """Fail fast after ``failures`` consecutive retryable failures, for ``reset_s``."""

    def __init__(
        self,
        inner: Model,
        *,
        failures: int = 5,
        reset_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failures < 1 or reset_s <= 0:
            raise ValueError("failures must be ≥ 1 and reset_s > 0")
        super().__init__(inner)
        self.failures = failures
        self.reset_s = reset_s
        self._clock = clock
        self._lock = threading.Lock()
        self._state: CircuitState = "closed"
        self._count = 0
        self._opened_at = 0.0
        self._probing = False
        self._last_error = ""

    @property
    def state(self) -> CircuitState:
        """The state now (``open`` turns ``half_open`` once ``reset_s`` has passed)."""
        with self._lock:
            if self._state == "open" and self._clock() - self._opened_at >= self.reset_s:
                return "half_open"
            return self._state

    @property
    def consecutive_failures(self) -> int:
        with self._lock:
            return self._count

    def _acquire(self) -> bool:
        """Let a call through (True when it is the half-open probe) or raise."""
        with self._lock:
            now = self._clock()
            if self._state == "open":
                left = self._opened_at + self.reset_s - now
                if left > 0:
                    raise CircuitOpenError(
                        f"circuit open for {self.name} after {self._count} consecutive "
                        f"failures (last: {self._last_error}); retry in {math.ceil(left)}s",
                        provider=self.name,
                        retry_after_s=left,
                        hint="the provider keeps failing: check it, or configure a "
                        "fallback chain (model: [primary, local])",
                    )
                self._state = "half_open"
                self._probing = False
            if self._state == "half_open":
                if self._probing:
                    raise CircuitOpenError(
                        f"circuit half-open for {self.name}: a probe request is in flight",
                        provider=self.name,
                        retry_after_s=None,
                        hint="retry when the probe has finished",
                    )
                self._probing = True
                return True
            return False

    def _record(self, outcome: _Outcome, probe: bool, error: BaseException | None) -> None:
        with self._lock:
            if error is not None and outcome == "failure":
                self._last_error = getattr(error, "message", str(error))
            if probe:
                self._probing = False
                if outcome == "success":
                    self._state, self._count = "closed", 0
                elif outcome == "failure":
                    self._state, self._opened_at = "open", self._clock()
                return
            if self._state != "closed":
                return  # a call that started before the circuit opened: ignore it
            if outcome == "success":
                self._count = 0
            elif outcome == "failure":
                self._count += 1
                if self._count >= self.failures:
                    self._state, self._opened_at = "open", self._clock()

    def complete(self, messages: Messages, *, tools: Tools = None, **options: Any) -> Completion:
        probe = self._acquire()
        try:
            result = self.inner.complete(messages, tools=tools, **options)
        except BaseException as e:
            self._record("failure" if is_retryable(e) else "neutral", probe, e)
            raise
        self._record("success", probe, None)
        return result

    def stream(self, messages: Messages, *, tools: Tools = None, **options: Any) -> Iterator[Delta]:
        probe = self._acquire()
        yielded = False
        try:
            for delta in self.inner.stream(messages, tools=tools, **options):
                yielded = True
                yield delta
        except GeneratorExit:
            self._record("success" if yielded else "neutral", probe, None)
            raise
        except BaseException as e:
            outcome: _Outcome = "failure" if is_retryable(e) else "neutral"
            self._record(outcome, probe, e)
            raise
        self._record("success", probe, None)
