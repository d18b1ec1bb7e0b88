"""One HTTP client, made at first use and shared by threads (guards, rerankers).

The external backends (``guards.http``, ``retrieval.reranker: http:…``) each hold one
:class:`LazyClient`: httpx is imported, and its connection pool made, only when the
first request goes out, so building the pipeline stays cheap and ``ragline --help``
never imports httpx.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx


class LazyClient:
    """An ``httpx.Client`` with ``timeout_s``, ``headers`` and an optional ``transport``
    (tests), built once on the first :meth:`get` (thread-safe)."""

    def __init__(
        self,
        timeout_s: float,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        self._headers = dict(headers or {})
        self._transport = transport
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    def get(self) -> httpx.Client:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    import httpx

                    self._client = httpx.Client(
                        timeout=httpx.Timeout(self.timeout_s),
                        headers=self._headers,
                        transport=self._transport,
                    )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


__all__ = ["LazyClient"]
