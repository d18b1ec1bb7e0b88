"""Typed provider failures, so wrappers can tell "try again" from "fix something".

Every class is a :class:`ragline.errors.ProviderError` (carrying the provider's own
message and HTTP status) with a boolean ``retryable``:

===================== ========= ==================================================
class                 retryable raised for
===================== ========= ==================================================
RateLimitError        yes       HTTP 429 (``retry_after_s`` from Retry-After)
ProviderTimeout       yes       connect/read timeout, HTTP 408
ProviderUnavailable   yes       HTTP 5xx/529, connection refused or reset
StreamInterrupted     yes       a stream that ended early, dropped, or was empty
StreamStalled         yes       a stream idle longer than ``read_timeout_s``
RequestRejected       no        other HTTP 4xx (bad key, unknown model, bad request)
MalformedResponse     no        not JSON, an HTML page, invalid tool-call arguments
RealRequestsBlocked   no        a real provider called while tests block requests
===================== ========= ==================================================

A stream error carries ``partial_text``: what was already yielded. A wrapper must not
retry a stream transparently once it has yielded text (the consumer has seen it).
"""

from __future__ import annotations

from ragline.errors import ProviderError


class _ModelError(ProviderError):
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        status_code: int | None = None,
        hint: str | None = None,
        retry_after_s: float | None = None,
        partial_text: str = "",
    ) -> None:
        super().__init__(message, provider=provider, status_code=status_code, hint=hint)
        self.retry_after_s = retry_after_s
        self.partial_text = partial_text


class RateLimitError(_ModelError):
    """HTTP 429: rate limited or out of quota; ``retry_after_s`` when the server said."""

    retryable = True


class ProviderTimeout(_ModelError):
    """The server did not connect or answer within the configured timeout."""

    retryable = True


class ProviderUnavailable(_ModelError):
    """HTTP 5xx, an overloaded server, or a connection that failed or dropped."""

    retryable = True


class StreamInterrupted(ProviderUnavailable):
    """A stream ended before the provider said it was done; the text so far is partial."""


class StreamStalled(StreamInterrupted, ProviderTimeout):
    """No stream data for longer than the idle timeout; the text so far is partial."""


class RequestRejected(_ModelError):
    """An HTTP 4xx other than 429: retrying the same request cannot help."""


class MalformedResponse(_ModelError):
    """The provider answered, but not with what its API documents."""


class RealRequestsBlocked(_ModelError):
    """A real provider was called while ``block_real_requests`` is on (unit tests)."""


__all__ = [
    "MalformedResponse",
    "ProviderTimeout",
    "ProviderUnavailable",
    "RateLimitError",
    "RealRequestsBlocked",
    "RequestRejected",
    "StreamInterrupted",
    "StreamStalled",
]
