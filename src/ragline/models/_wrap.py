"""Plumbing shared by the resilience wrappers: the wrapper base and error helpers.

Provider errors say whether a retry can help with two optional attributes, read
with ``getattr`` so the wrappers work with any provider's ``ProviderError``
subclass: ``retryable`` (``True`` for 429, 5xx, timeouts and connection errors)
and ``retry_after_s`` (the server's ``Retry-After``, in seconds, or ``None``).
"""

from __future__ import annotations

import math

from ragline.errors import ProviderError
from ragline.models._base import Model


def is_retryable(error: BaseException) -> bool:
    """True for a :class:`ProviderError` whose ``retryable`` attribute is true."""
    return isinstance(error, ProviderError) and bool(getattr(error, "retryable", False))


def retry_after(error: BaseException) -> float | None:
    """The error's ``retry_after_s`` when it is a finite number ≥ 0, else ``None``."""
    value = getattr(error, "retry_after_s", None)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or value < 0:
        return None
    return float(value)


class ModelWrapper:
    """Base of the wrappers: keeps ``inner`` and its ``name``; ``close()`` passes through."""

    name: str

    def __init__(self, inner: Model) -> None:
        self.inner = inner
        self.name = inner.name

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if callable(close):
            close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.inner!r})"


class CircuitOpenError(ProviderError):
    """Raised without calling the provider while its circuit is open (not retryable)."""

    retryable = False

    def __init__(
        self, message: str, *, provider: str, retry_after_s: float | None, hint: str | None = None
    ) -> None:
        super().__init__(message, provider=provider, hint=hint)
        self.retry_after_s = retry_after_s


class RateLimitWaitError(ProviderError):
    """A client-side rate limit would make the call wait longer than allowed."""

    retryable = False

    def __init__(
        self, message: str, *, provider: str, retry_after_s: float, hint: str | None = None
    ) -> None:
        super().__init__(message, provider=provider, hint=hint)
        self.retry_after_s = retry_after_s


class FallbackError(ProviderError):
    """Every model of a fallback chain failed; ``errors`` holds ``(model, error)`` pairs."""

    def __init__(self, errors: list[tuple[str, BaseException]]) -> None:
        parts = "; ".join(f"{name}: {getattr(err, 'message', err)}" for name, err in errors)
        last = errors[-1][1] if errors else None
        super().__init__(
            f"all {len(errors)} models of the fallback chain failed — {parts}",
            provider="fallback",
            status_code=getattr(last, "status_code", None),
            hint="check the providers (ragline doctor) or add a local model to the chain",
        )
        self.errors = errors
        self.retryable = any(is_retryable(e) for _, e in errors)
        self.retry_after_s: float | None = None
