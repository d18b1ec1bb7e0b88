"""``RateLimits``: token buckets per (tenant, name), shared by whoever shares the backend.

A bucket holds up to ``per_minute`` tokens and refills at ``per_minute / 60`` a
second; :meth:`RateLimits.take` takes one or says how long until one is free. The
server takes one per request (``server.rate_limit_per_minute`` / a tenant's
``rate_limit_per_minute``), so where the buckets live decides who shares a limit:

- :class:`MemoryRateLimits` (memory and SQLite backends): this process's buckets, a
  lock and a dict; each ``ragline serve`` process (and each ``--workers`` process)
  counts on its own.
- PostgreSQL (:mod:`ragline.store.postgres._limits`): one row per bucket, refilled
  and taken in one ``INSERT … ON CONFLICT DO UPDATE`` on the database clock, so every
  replica on the database draws from the same bucket — one round trip per request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from ragline.errors import InputError


@runtime_checkable
class RateLimits(Protocol):
    #: True when other processes on the same store draw from the same buckets
    shared: bool

    def take(self, tenant: str, name: str, per_minute: int) -> float:
        """Take one token from the bucket ``(tenant, name)``: ``0.0`` when granted,
        otherwise the seconds until one is free (nothing taken). ``per_minute`` below
        1 is an :class:`~ragline.errors.InputError`."""
        ...


def check_rate(per_minute: int) -> int:
    """``per_minute`` itself, or :class:`InputError` when it is below 1."""
    if per_minute < 1:
        raise InputError(
            f"a rate limit must allow at least 1 request per minute, not {per_minute}",
            hint="set rate_limit_per_minute to 1 or more, or remove it for no limit",
        )
    return per_minute


def refill(tokens: float, elapsed_s: float, per_minute: int) -> float:
    """Tokens after ``elapsed_s`` seconds of refilling, capped at ``per_minute``."""
    return min(float(per_minute), tokens + max(0.0, elapsed_s) * per_minute / 60.0)


def wait_s(tokens: float, per_minute: int) -> float:
    """Seconds until a bucket holding ``tokens`` (< 1) has one token again."""
    return max(1e-3, (1.0 - tokens) * 60.0 / per_minute)


class MemoryRateLimits:
    """This process's token buckets (thread-safe); ``clock`` is monotonic seconds."""

    shared = False

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}  # -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, tenant: str, name: str, per_minute: int) -> float:
        check_rate(per_minute)
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get((tenant, name), (float(per_minute), now))
            tokens = refill(tokens, now - at, per_minute)
            if tokens >= 1.0:
                self._buckets[(tenant, name)] = (tokens - 1.0, now)
                return 0.0
            self._buckets[(tenant, name)] = (tokens, now)
        return wait_s(tokens, per_minute)


__all__ = ["MemoryRateLimits", "RateLimits"]
