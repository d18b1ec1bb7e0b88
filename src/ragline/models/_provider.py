"""What the HTTP providers share: setup, ``complete`` and ``stream``, written once.

A provider describes only its wire format — headers, URL, request body, how to
parse a reply, and a stream state that turns its events into deltas (with the end
marker it expects and whether a stream cut off without it can still be closed).
Everything else is here, the same for every provider: the shared client, the key
check, the "no real requests" switch, typed HTTP errors, partial text on a broken
stream, errors after the end ignored, and an early end raised, never silently
truncated.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, Self

import httpx

from ragline._time import elapsed_ms
from ragline.config import ModelSettings
from ragline.errors import ConfigError
from ragline.models import _http
from ragline.models._base import Completion, Delta, FinishReason, Messages, ToolCall, Tools, Usage
from ragline.models._guard import check_allowed
from ragline.models._pricing import cost_usd, estimate_usage, price_for
from ragline.models._sse import iter_sse
from ragline.models._stream import StreamState


class HTTPProvider:
    """Base of ``OpenAIModel`` and ``AnthropicModel``.

    A subclass names its API in the class fields and implements ``url``,
    ``_headers``, ``_body``, ``_parse``, ``_stream_state`` and ``_json_stream``.
    """

    provider: ClassVar[str]  # the spec prefix: "openai"
    label: ClassVar[str]  # for messages: "OpenAI"
    example_model: ClassVar[str]  # for hints: "gpt-4o-mini"
    default_base_url: ClassVar[str]
    default_key_env: ClassVar[str]
    official_host: ClassVar[str]  # the provider's own API host: a key is required there
    stream_fields: ClassVar[Mapping[str, Any]]  # added to the body of a streaming request

    def __init__(
        self,
        model: str,
        *,
        settings: ModelSettings | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not model.strip():
            raise ConfigError(
                f"the {self.label} model name is empty",
                hint=f"e.g. {self.provider}:{self.example_model}",
            )
        self.model = model
        self.name = f"{self.provider}:{model}"
        self.settings = settings or ModelSettings()
        base_url = self.settings.base_url or self.default_base_url
        self.base_url = self._base_url(_http.check_base_url(base_url, self.name))
        self.api_key_env = self.settings.api_key_env or self.default_key_env
        key = _http.api_key(self.api_key_env, self.base_url, self.official_host, self.name)
        self._transport = transport
        self._client = _http.acquire_client(self.base_url, self._headers(key), transport)
        self._timeout = _http.timeout_for(self.settings)
        self._price = price_for(self.name, self.settings)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model!r}, base_url={self.base_url!r})"

    # -- what a provider describes ---------------------------------------------------

    @property
    def url(self) -> str:
        raise NotImplementedError

    def _base_url(self, checked: str) -> str:
        """``base_url`` as this provider's paths expect it (checked, no trailing slash)."""
        return checked

    def _headers(self, key: str) -> dict[str, str]:
        """The headers of every request; ``key`` is empty when none is configured."""
        raise NotImplementedError

    def _body(self, messages: Messages, tools: Tools, options: Any) -> dict[str, Any]:
        """The request body (``stream_fields`` are added for a stream)."""
        raise NotImplementedError

    def _parse(self, data: dict[str, Any], messages: Messages, latency_ms: float) -> Completion:
        """A JSON reply as a :class:`Completion` (use :meth:`_completion`), or a typed error."""
        raise NotImplementedError

    def _stream_state(self, messages: Messages) -> StreamState:
        raise NotImplementedError

    def _json_stream(self, data: dict[str, Any], messages: Messages) -> Iterator[Delta]:
        """What a JSON body in place of an event stream means: deltas, or a typed error."""
        raise NotImplementedError

    # -- the Model protocol ----------------------------------------------------------

    def complete(self, messages: Messages, *, tools: Tools = None, **options: Any) -> Completion:
        data, latency_ms = self._post_json(self._body(messages, tools, options))
        return self._parse(data, messages, latency_ms)

    def stream(self, messages: Messages, *, tools: Tools = None, **options: Any) -> Iterator[Delta]:
        """Deltas as the events arrive. Bad options and blocked requests raise here,
        at the call, not at the first ``next()``."""
        body = {**self._body(messages, tools, options), **self.stream_fields}
        check_allowed(self.name, self.url, self._transport)
        return self._post_stream(body, messages, self._stream_state(messages))

    def close(self) -> None:
        """Give the shared HTTP client back (idempotent)."""
        if not getattr(self, "_released", False):
            self._released = True
            _http.release_client(self._client)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the transport ---------------------------------------------------------------

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
        latency_ms = elapsed_ms(start)
        if response.status_code >= 400:
            raise _http.error_for_status(response, spec=self.name, key_env=self.api_key_env)
        return _http.read_json(response, spec=self.name, url=self.url), latency_ms

    def _post_stream(
        self, body: dict[str, Any], messages: Messages, state: StreamState
    ) -> Iterator[Delta]:
        """POST ``body`` and stream the SSE reply through ``state``."""
        started = False  # response headers in: failures from here on are mid-stream
        try:
            request = self._client.stream("POST", self.url, json=body, timeout=self._timeout)
            with request as response:
                if response.status_code >= 400:
                    response.read()
                    raise _http.error_for_status(response, spec=self.name, key_env=self.api_key_env)
                started = True
                if "event-stream" not in response.headers.get("content-type", ""):
                    head = response.read().lstrip()[:1]
                    if head in (b"{", b"<"):  # stream=true ignored, or an error page
                        data = _http.read_json(response, spec=self.name, url=self.url)
                        yield from self._json_stream(data, messages)
                        return
                for event in iter_sse(response.iter_lines()):
                    yield from state.feed(event)
        except httpx.HTTPError as e:
            if not state.closed:
                raise _http.transport_error(
                    e,
                    spec=self.name,
                    url=self.url,
                    settings=self.settings,
                    partial_text=state.text if started else None,
                ) from e
            _http.logger.warning("%s: ignoring an error after the stream ended: %s", self.name, e)
        if state.closed:
            return
        tail = state.salvage()
        if tail is None:
            raise _http.ended_early(
                spec=self.name,
                url=self.url,
                events=state.events,
                partial_text=state.text,
                marker=state.marker,
            )
        yield from tail

    def _completion(
        self,
        data: dict[str, Any],
        messages: Messages,
        *,
        text: str,
        calls: list[ToolCall],
        finish_reason: FinishReason,
        usage: Usage | None,
        latency_ms: float,
    ) -> Completion:
        """A parsed reply as a priced :class:`Completion`: ``usage`` as reported, or
        estimated when the server sent none; ``model`` as the server names it."""
        usage = usage or estimate_usage(messages, text, calls)
        return Completion(
            text=text,
            model=str(data.get("model") or self.model),
            finish_reason=finish_reason,
            tool_calls=calls,
            usage=usage,
            cost_usd=cost_usd(usage, self._price),
            latency_ms=latency_ms,
        )
