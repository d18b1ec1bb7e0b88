"""``anthropic:<model>``: the Anthropic Messages API (``POST /v1/messages``).

System messages go in the separate ``system`` field; tools are offered with
``input_schema``; tool results travel as ``tool_result`` blocks in a user message.
Streaming follows the documented events (message_start, content_block_start/delta/stop,
message_delta, message_stop, ping, error).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from ragline.config import ModelSettings
from ragline.errors import ConfigError, InputError
from ragline.models import _http
from ragline.models._anthropic_stream import AnthropicStreamState, anthropic_finish
from ragline.models._base import Completion, Delta, Message, ToolCall, ToolSpec, Usage
from ragline.models._errors import MalformedResponse
from ragline.models._guard import check_allowed
from ragline.models._pricing import cost_usd, price_for
from ragline.models._provider import HTTPProvider
from ragline.models._sse import iter_sse
from ragline.models._stream import parse_arguments

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"


def wire_messages(messages: Sequence[Message]) -> tuple[str, list[dict[str, Any]]]:
    """``(system, messages)`` in Messages API form; consecutive turns of one role merge
    (so several tool results become one user message, as the API requires)."""
    system = [m.content for m in messages if m.role == "system"]
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "system":
            continue
        blocks: list[dict[str, Any]] = []
        if m.role == "tool":
            if not m.tool_call_id:
                raise InputError("a tool message needs tool_call_id (the call it answers)")
            role = "user"
            blocks.append(
                {"type": "tool_result", "tool_use_id": m.tool_call_id, "content": m.content}
            )
        else:
            role = m.role
            if m.content:
                blocks.append({"type": "text", "text": m.content})
            for c in m.tool_calls:
                blocks.append(
                    {"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments}
                )
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return "\n\n".join(system), out


def usage_from(raw: Any) -> Usage | None:
    if not isinstance(raw, dict) or "input_tokens" not in raw:
        return None
    prompt = sum(
        int(raw.get(k) or 0)
        for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )
    return Usage(prompt, int(raw.get("output_tokens") or 0))


class AnthropicModel(HTTPProvider):
    """A :class:`~ragline.models.Model` over the Anthropic Messages API."""

    provider = "anthropic"

    def __init__(
        self,
        model: str,
        *,
        settings: ModelSettings | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not model.strip():
            raise ConfigError(
                "the Anthropic model name is empty", hint="e.g. anthropic:claude-3-5-haiku-latest"
            )
        self.model = model
        self.name = f"anthropic:{model}"
        self.settings = settings or ModelSettings()
        base = _http.check_base_url(self.settings.base_url or DEFAULT_BASE_URL, self.name)
        self.base_url = base.removesuffix("/v1")
        self.api_key_env = self.settings.api_key_env or "ANTHROPIC_API_KEY"
        key = _http.api_key(self.api_key_env, self.base_url, "api.anthropic.com", self.name)
        headers = {"anthropic-version": API_VERSION}
        if key:
            headers["x-api-key"] = key
        self._transport = transport
        self._client = _http.acquire_client(self.base_url, headers, transport)
        self._timeout = _http.timeout_for(self.settings)
        self._price = price_for(self.name, self.settings)

    def __repr__(self) -> str:
        return f"AnthropicModel({self.model!r}, base_url={self.base_url!r})"

    @property
    def url(self) -> str:
        return f"{self.base_url}/v1/messages"

    def _body(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None, options: Any
    ) -> dict[str, Any]:
        generic, own = _http.split_options(options, "anthropic_")
        system, wire = wire_messages(messages)
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": generic.pop("max_tokens", self.settings.max_tokens),
            "messages": wire,
            "temperature": generic.pop("temperature", self.settings.temperature),
        }
        if system:
            body["system"] = system
        stop = generic.pop("stop", None)
        if stop:
            body["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
        if "top_p" in generic:
            body["top_p"] = generic.pop("top_p")
        generic.pop("seed", None)  # the Messages API has no seed
        if tools:
            body["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters}
                for t in tools
            ]
        body.update(own)
        return body

    def _estimate(self, messages: Sequence[Message], text: str, calls: list[ToolCall]) -> Usage:
        prompt = "\n".join(m.content for m in messages)
        out = text + "".join(json.dumps(c.arguments) for c in calls)
        return Usage(_http.estimate_tokens(prompt), _http.estimate_tokens(out), estimated=True)

    def complete(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] | None = None,
        **options: Any,
    ) -> Completion:
        data, latency_ms = self._post_json(self._body(messages, tools, options))
        if data.get("type") == "error":
            raise _http.body_error(data, spec=self.name)
        content = data.get("content")
        if not isinstance(content, list):
            raise MalformedResponse(
                f"{self.url} returned a message without a content list",
                provider=self.provider,
                hint=f"is models.{self.name}.base_url the Anthropic API?",
            )
        text: list[str] = []
        calls: list[ToolCall] = []
        for block in content:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "text":
                text.append(str(block.get("text") or ""))
            elif block.get("type") == "tool_use":
                name = str(block.get("name") or "")
                args = parse_arguments(block.get("input"), name, self.name)
                calls.append(ToolCall(id=str(block.get("id") or ""), name=name, arguments=args))
        joined = "".join(text)
        usage = usage_from(data.get("usage")) or self._estimate(messages, joined, calls)
        return Completion(
            text=joined,
            model=str(data.get("model") or self.model),
            finish_reason=anthropic_finish(data.get("stop_reason")),
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
        check_allowed(self.name, self.url, self._transport)
        return self._stream(body, messages)

    def _stream(self, body: dict[str, Any], messages: Sequence[Message]) -> Iterator[Delta]:
        state = AnthropicStreamState(
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
                    if head in (b"{", b"<"):
                        data = _http.read_json(response, spec=self.name, url=self.url)
                        raise MalformedResponse(
                            f"{self.url} answered a streaming request with JSON, not events: "
                            f"{json.dumps(data)[:120]}",
                            provider=self.provider,
                            hint=f"is models.{self.name}.base_url the Anthropic API?",
                        )
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
            raise _http.ended_early(
                spec=self.name,
                url=self.url,
                events=state.events,
                partial_text=state.text,
                marker="message_stop",
            )
