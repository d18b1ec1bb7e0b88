"""``RetryingModel``: retries with full-jitter exponential backoff.

- Only errors whose ``retryable`` attribute is true are retried (429, 5xx, timeouts,
  connection errors); any other 4xx, a missing key, or a non-provider exception
  propagates at once.
- Retry ``n`` (0-based) waits ``uniform(0, min(backoff_max_s, backoff_initial_s * 2**n))``
  ("full jitter"), so many clients hitting one server spread out.
- ``Retry-After`` wins over the computed backoff: the wait is exactly what the server
  asked for, as long as that is at most ``backoff_max_s``. A server asking for a
  longer wait gets no retry: the error is raised at once (so a fallback model can
  answer now instead of the ask blocking for minutes).
- A stream is retried only if it failed before its first delta; once text has reached
  the caller, a failure propagates (the caller must learn the answer is partial).
- When it gives up, the last error is re-raised (same class, status code and
  attributes) with ``(after N attempts)`` added to its message.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

from ragline.errors import ProviderError
from ragline.models._base import Completion, Delta, Messages, Model, Tools
from ragline.models._wrap import ModelWrapper, is_retryable, retry_after

log = logging.getLogger("ragline.models")


class RetryingModel(ModelWrapper):
    """Retry retryable failures of ``inner``; ``max_retries`` extra attempts at most."""

    def __init__(
        self,
        inner: Model,
        *,
        max_retries: int = 3,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 20.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if max_retries < 0 or backoff_initial_s < 0 or backoff_max_s < 0:
            raise ValueError("max_retries and backoff times must be ≥ 0")
        super().__init__(inner)
        self.max_retries = max_retries
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self._sleep = sleep
        self._rng = rng

    def backoff_s(self, retry: int) -> float:
        """The jittered wait before retry ``retry`` (0-based), without ``Retry-After``."""
        cap = min(self.backoff_max_s, self.backoff_initial_s * 2.0 ** min(retry, 60))
        return min(max(self._rng(), 0.0), 1.0) * cap

    def _give_up_or_wait(self, error: ProviderError, attempts: int) -> float | None:
        """Seconds to wait before the next attempt, or ``None`` to give up (annotated)."""
        if not is_retryable(error):
            _annotate(error, attempts, "")
            return None
        if attempts > self.max_retries:
            _annotate(error, attempts, "")
            return None
        asked = retry_after(error)
        if asked is None:
            delay = self.backoff_s(attempts - 1)
        elif asked > self.backoff_max_s:
            note = f"; the server asked to retry after {asked:g}s, more than backoff_max_s"
            _annotate(error, attempts, note)
            return None
        else:
            delay = asked
        log.info(
            "%s failed (%s); retry %d/%d in %.2fs",
            self.name,
            error.message,
            attempts,
            self.max_retries,
            delay,
        )
        return delay

    def complete(self, messages: Messages, *, tools: Tools = None, **options: Any) -> Completion:
        attempts = 0
        while True:
            attempts += 1
            try:
                return self.inner.complete(messages, tools=tools, **options)
            except ProviderError as e:
                delay = self._give_up_or_wait(e, attempts)
                if delay is None:
                    raise
            self._sleep(delay)

    def stream(self, messages: Messages, *, tools: Tools = None, **options: Any) -> Iterator[Delta]:
        attempts = 0
        while True:
            attempts += 1
            yielded = False
            try:
                for delta in self.inner.stream(messages, tools=tools, **options):
                    yielded = True
                    yield delta
                return
            except ProviderError as e:
                if yielded:  # text already reached the caller: never retry
                    raise
                delay = self._give_up_or_wait(e, attempts)
                if delay is None:
                    raise
            self._sleep(delay)


def _annotate(error: ProviderError, attempts: int, note: str) -> None:
    """Add the attempt count (and why it stopped) to the message; sets ``error.attempts``."""
    base = getattr(error, "_message_before_retries", None)
    if not isinstance(base, str):
        base = error.message
        setattr(error, "_message_before_retries", base)  # noqa: B010
    error.message = base
    setattr(error, "attempts", attempts)  # noqa: B010
    if attempts > 1:
        suffix = f" (after {attempts} attempts{note})"
    elif note:
        suffix = f" ({note.removeprefix('; ')})"
    else:
        return
    error.message = f"{error.message}{suffix}"
    error.args = (error.message, *error.args[1:])
