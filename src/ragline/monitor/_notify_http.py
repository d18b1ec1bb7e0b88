"""What the HTTP notifiers share: one POST of a JSON body, errors mapped to
:class:`~ragline.errors.NotifyError` (retryable or not), the URL kept out of messages.

Incoming-webhook URLs carry their secret in the path, so an error names the host
only. A timeout, a refused connection, 408, 429 and 5xx are retryable; any other 4xx
is not (the same request will be refused again: fix the URL or the key).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ragline._http import LazyClient
from ragline.errors import NotifyError

if TYPE_CHECKING:
    import httpx

_RETRYABLE_STATUS = frozenset({408, 425, 429})


class HttpNotifier:
    """POSTs ``payload(n)`` as JSON to ``url``; subclasses say what the payload is."""

    kind = "http"

    def __init__(
        self,
        name: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.name = name
        self.url = url
        self.host = urlsplit(url).netloc or url
        self._client = LazyClient(
            timeout_s, {"User-Agent": "ragline-notifier", **(headers or {})}, transport
        )

    def post(self, body: Any) -> httpx.Response:
        import httpx

        where = f"notifier {self.name!r} ({self.kind}, {self.host})"
        try:
            response = self._client.get().post(self.url, json=body)
        except httpx.TimeoutException:
            raise NotifyError(
                f"{where}: no answer within {self._client.timeout_s:g}s",
                notifier=self.name,
                hint="check that the receiver is up, or raise its timeout_s",
            ) from None
        except httpx.ConnectError as e:
            raise NotifyError(
                f"{where}: could not connect ({e})",
                notifier=self.name,
                hint="check the URL and that the receiver is listening",
            ) from None
        except httpx.HTTPError as e:
            raise NotifyError(f"{where}: {type(e).__name__}: {e}", notifier=self.name) from None
        status = response.status_code
        if status >= 400:
            retryable = status >= 500 or status in _RETRYABLE_STATUS
            raise NotifyError(
                f"{where}: HTTP {status}: {response.text[:200].strip()}",
                notifier=self.name,
                retryable=retryable,
                status_code=status,
                hint=None if retryable else "the receiver refused it: check the URL and its key",
            )
        return response

    def close(self) -> None:
        self._client.close()


__all__ = ["HttpNotifier"]
