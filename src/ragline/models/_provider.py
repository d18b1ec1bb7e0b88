"""What the HTTP providers share: client lifecycle and one JSON request/response."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any, Self

import httpx

from ragline.config import ModelSettings
from ragline.models import _http
from ragline.models._guard import check_allowed


class HTTPProvider:
    """Base of ``OpenAIModel`` and ``AnthropicModel``; subclasses set the fields and ``url``."""

    name: str
    settings: ModelSettings
    api_key_env: str
    _client: httpx.Client
    _timeout: httpx.Timeout
    _transport: httpx.BaseTransport | None

    @property
    def url(self) -> str:
        raise NotImplementedError

    def close(self) -> None:
        """Give the shared HTTP client back (idempotent)."""
        if not getattr(self, "_released", False):
            self._released = True
            _http.release_client(self._client)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _post_json(self, body: dict[str, Any]) -> tuple[dict[str, Any], float]:
        """POST ``body``; the parsed JSON reply and the latency in ms, or a typed error."""
        check_allowed(self.name, self.url, self._transport)
        start = time.perf_counter()
        try:
            response = self._client.post(self.url, json=body, timeout=self._timeout)
        except httpx.HTTPError as e:
            raise _http.transport_error(
                e, spec=self.name, url=self.url, settings=self.settings
            ) from e
        latency_ms = (time.perf_counter() - start) * 1000
        if response.status_code >= 400:
            raise _http.error_for_status(response, spec=self.name, key_env=self.api_key_env)
        return _http.read_json(response, spec=self.name, url=self.url), latency_ms
