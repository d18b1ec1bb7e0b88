"""``RateLimitedModel``: client-side requests-per-minute and tokens-per-minute limits.

Two token buckets, each holding at most one minute of budget and refilling
continuously (``per_minute / 60`` per second). A call reserves 1 request and an
*estimate* of its tokens (prompt characters / 4, tools included) before it starts,
sleeping until both buckets can pay; after the call the estimate is corrected with
the real ``usage.total_tokens`` (prompt + completion), refunding or charging the
difference. A failed call keeps its estimate charged (errors are a signal to slow
down). Waits are computed under a lock and slept outside it, so concurrent callers
queue up fairly: reservations may drive a bucket below zero, and later callers wait
for that debt to refill.

**A single request larger than the per-minute budget** is not refused: it waits until
the bucket is full, goes through, and leaves the bucket in debt, so the calls after it
wait until the overdraft has refilled — the long-run rate still holds.

Waits are bounded: when the wait would exceed ``max_wait_s`` (default 120 s; ``None``
= no bound) nothing is reserved and :class:`RateLimitWaitError` (not retryable)
is raised, saying how long it would have been.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from ragline.models._base import Completion, Delta, Messages, Model, Tools, Usage
from ragline.models._wrap import ModelWrapper, RateLimitWaitError


def estimate_prompt_tokens(messages: Messages, tools: Tools = None) -> int:
    """A rough prompt size: characters / 4 (rounded up), at least 1."""
    chars = 0
    for m in messages:
        chars += len(m.content)
        for call in m.tool_calls:
            chars += len(call.name) + len(json.dumps(call.arguments, ensure_ascii=False))
    for tool in tools or ():
        chars += len(tool.name) + len(tool.description)
        chars += len(json.dumps(tool.parameters, ensure_ascii=False))
    return max(1, math.ceil(chars / 4))


class TokenBucket:
    """``per_minute`` units of capacity, refilled continuously; may go into debt."""

    def __init__(self, per_minute: float, *, now: float) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be > 0")
        self.capacity = float(per_minute)
        self.rate = self.capacity / 60.0
        self.level = self.capacity
        self._at = now

    def refill(self, now: float) -> None:
        if now > self._at:
            self.level = min(self.capacity, self.level + (now - self._at) * self.rate)
            self._at = now

    def wait_for(self, amount: float, now: float) -> float:
        """Seconds until ``amount`` (capped at the capacity) can be taken."""
        self.refill(now)
        need = min(amount, self.capacity)
        return max(0.0, (need - self.level) / self.rate)

    def take(self, amount: float) -> None:
        self.level -= amount

    def give(self, amount: float, now: float) -> None:
        """Refund (``amount`` > 0) or charge (< 0) after the fact."""
        self.refill(now)
        self.level = min(self.capacity, self.level + amount)


class RateLimitedModel(ModelWrapper):
    """Pace calls to ``inner`` to ``requests_per_minute`` and ``tokens_per_minute``."""

    def __init__(
        self,
        inner: Model,
        *,
        requests_per_minute: int | None = None,
        tokens_per_minute: int | None = None,
        max_wait_s: float | None = 120.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(inner)
        self._clock = clock
        self._sleep = sleep
        self.max_wait_s = max_wait_s
        now = clock()
        self.requests = TokenBucket(requests_per_minute, now=now) if requests_per_minute else None
        self.tokens = TokenBucket(tokens_per_minute, now=now) if tokens_per_minute else None
        self._lock = threading.Lock()

    def reserve(self, tokens: int) -> float:
        """Reserve one request and ``tokens``; return the seconds to wait before calling."""
        with self._lock:
            now = self._clock()
            wait = 0.0
            if self.requests is not None:
                wait = max(wait, self.requests.wait_for(1, now))
            if self.tokens is not None:
                wait = max(wait, self.tokens.wait_for(tokens, now))
            if self.max_wait_s is not None and wait > self.max_wait_s:
                raise RateLimitWaitError(
                    f"client-side rate limit for {self.name}: the call would wait "
                    f"{wait:.0f}s, more than {self.max_wait_s:g}s",
                    provider=self.name,
                    retry_after_s=wait,
                    hint="raise requests_per_minute / tokens_per_minute for this model "
                    "in ragline.yaml, or send fewer or smaller requests",
                )
            if self.requests is not None:
                self.requests.take(1)
            if self.tokens is not None:
                self.tokens.take(tokens)
            return wait

    def settle(self, estimated: int, usage: Usage | None) -> None:
        """Replace the token estimate with the real usage, when it is known."""
        if self.tokens is None or usage is None or usage.total_tokens <= 0:
            return
        with self._lock:
            self.tokens.give(estimated - usage.total_tokens, self._clock())

    def _admit(self, messages: Messages, tools: Tools) -> int:
        estimated = estimate_prompt_tokens(messages, tools) if self.tokens is not None else 0
        wait = self.reserve(estimated)
        if wait > 0:
            self._sleep(wait)
        return estimated

    def complete(self, messages: Messages, *, tools: Tools = None, **options: Any) -> Completion:
        estimated = self._admit(messages, tools)
        result = self.inner.complete(messages, tools=tools, **options)
        self.settle(estimated, result.usage)
        return result

    def stream(self, messages: Messages, *, tools: Tools = None, **options: Any) -> Iterator[Delta]:
        estimated = self._admit(messages, tools)
        settled = False
        for delta in self.inner.stream(messages, tools=tools, **options):
            if delta.usage is not None and not settled:
                self.settle(estimated, delta.usage)
                settled = True
            yield delta
