"""``openai:<model>``: any OpenAI-compatible ``/chat/completions`` server.

OpenAI itself, vLLM, Ollama, llama.cpp server, TGI… Streaming uses SSE with
``stream_options.include_usage``; tool-call fragments are assembled by index and
yielded whole at the end. A stream that stalls or ends early raises a typed error
saying the text so far is partial — never a silent truncation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from ragline.config import ModelSettings
from ragline.errors import ConfigError, InputError
from ragline.models import _http
from ragline.models._base import Completion, Delta, Message, ToolCall, ToolSpec, Usage
from ragline.models._errors import MalformedResponse
from ragline.models._guard import check_allowed
from ragline.models._pricing import cost_usd, price_for
from ragline.models._provider import HTTPProvider
from ragline.models._sse import iter_sse
from ragline.models._stream import (
    OpenAIStreamState,
    completion_to_deltas,
    openai_finish,
    parse_arguments,
)

DEFAULT_BASE_URL = "https://api.openai.com/v1"


def wire_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "tool":
            if not m.tool_call_id:
                raise InputError("a tool message needs tool_call_id (the call it answers)")
            out.append({"role": "tool", "tool_call_id": m.tool_call_id, "content": m.content})
        elif m.role == "assistant" and m.tool_calls:
            calls = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
                }
                for c in m.tool_calls
            ]
            out.append({"role": "assistant", "content": m.content or None, "tool_calls": calls})
        else:
            out.append({"role": m.role, "content": m.content})
    return out


def prompt_text(messages: Sequence[Message]) -> str:
    parts = [m.content for m in messages]
    parts += [json.dumps(c.arguments) for m in messages for c in m.tool_calls]
    return "\n".join(parts)


class OpenAIModel(HTTPProvider):
    """A :class:`~ragline.models.Model` over ``POST {base_url}/chat/completions``."""

    provider = "openai"

    def __init__(
        self,
        model: str,
        *,
        settings: ModelSettings | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not model.strip():
            raise ConfigError("the OpenAI model name is empty", hint="e.g. openai:gpt-4o-mini")
        self.model = model
        self.name = f"openai:{model}"
        self.settings = settings or ModelSettings()
        self.base_url = _http.check_base_url(self.settings.base_url or DEFAULT_BASE_URL, self.name)
        self.api_key_env = self.settings.api_key_env or "OPENAI_API_KEY"
        key = _http.api_key(self.api_key_env, self.base_url, "api.openai.com", self.name)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._transport = transport
        self._client = _http.acquire_client(self.base_url, headers, transport)
        self._timeout = _http.timeout_for(self.settings)
        self._price = price_for(self.name, self.settings)

    def __repr__(self) -> str:
        return f"OpenAIModel({self.model!r}, base_url={self.base_url!r})"

    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def _body(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None, options: Any
    ) -> dict[str, Any]:
        generic, own = _http.split_options(options, "openai_")
        body: dict[str, Any] = {
            "model": self.model,
            "messages": wire_messages(messages),
            "temperature": generic.pop("temperature", self.settings.temperature),
            "max_tokens": generic.pop("max_tokens", self.settings.max_tokens),
            **generic,
        }
        if tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.parameters,
                    },
                }
                for t in tools
            ]
        body.update(own)
        if "max_completion_tokens" in own:  # o-series / gpt-5 reject max_tokens
            body.pop("max_tokens")
        return body

    def _estimate(self, messages: Sequence[Message], text: str, calls: list[ToolCall]) -> Usage:
        out = text + "".join(json.dumps(c.arguments) for c in calls)
        return Usage(
            _http.estimate_tokens(prompt_text(messages)),
            _http.estimate_tokens(out),
            estimated=True,
        )

    def _usage(self, raw: Any) -> Usage | None:
        if not isinstance(raw, dict) or "prompt_tokens" not in raw:
            return None
        return Usage(int(raw.get("prompt_tokens") or 0), int(raw.get("completion_tokens") or 0))

    def complete(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] | None = None,
        **options: Any,
    ) -> Completion:
        data, latency_ms = self._post_json(self._body(messages, tools, options))
        return self._parse(data, messages, latency_ms)

    def _parse(
        self, data: dict[str, Any], messages: Sequence[Message], latency_ms: float
    ) -> Completion:
        if data.get("error"):
            raise _http.body_error(data, spec=self.name)
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise MalformedResponse(
                f"{self.url} returned a response without choices",
                provider=self.provider,
                hint=f"is models.{self.name}.base_url an OpenAI-compatible server?",
            )
        message = choices[0].get("message") or {}
        text = str(message.get("content") or "")
        calls: list[ToolCall] = []
        for i, c in enumerate(message.get("tool_calls") or []):
            fn = c.get("function") or {}
            name = str(fn.get("name") or "")
            args = parse_arguments(fn.get("arguments"), name, self.name)
            calls.append(ToolCall(id=str(c.get("id") or f"call_{i}"), name=name, arguments=args))
        usage = self._usage(data.get("usage")) or self._estimate(messages, text, calls)
        return Completion(
            text=text,
            model=str(data.get("model") or self.model),
            finish_reason=openai_finish(choices[0].get("finish_reason")),
            tool_calls=calls,
            usage=usage,
            cost_usd=cost_usd(usage, self._price),
            latency_ms=latency_ms,
        )

    def stream(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] | None = None,
        **options: Any,
    ) -> Iterator[Delta]:
        body = self._body(messages, tools, options)
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
        check_allowed(self.name, self.url, self._transport)
        return self._stream(body, messages)

    def _stream(self, body: dict[str, Any], messages: Sequence[Message]) -> Iterator[Delta]:
        state = OpenAIStreamState(
            self.name, lambda text, calls: self._estimate(messages, text, calls)
        )
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
                        yield from completion_to_deltas(self._parse(data, messages, 0.0))
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
        if not state.closed:
            if state.finish_reason is None:
                raise _http.ended_early(
                    spec=self.name,
                    url=self.url,
                    events=state.events,
                    partial_text=state.text,
                    marker="finish_reason or [DONE]",
                )
            yield from state.close()
