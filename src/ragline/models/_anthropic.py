"""``anthropic:<model>``: the Anthropic Messages API (``POST /v1/messages``).

System messages go in the separate ``system`` field; tools are offered with
``input_schema``; tool results travel as ``tool_result`` blocks in a user message.
Streaming follows the documented events (message_start, content_block_start/delta/stop,
message_delta, message_stop, ping, error).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import partial
from typing import Any, ClassVar, NoReturn

from ragline.errors import InputError
from ragline.models import _http
from ragline.models._anthropic_stream import (
    AnthropicStreamState,
    anthropic_finish,
    anthropic_usage,
)
from ragline.models._base import Completion, Messages, ToolCall, Tools
from ragline.models._errors import MalformedResponse
from ragline.models._pricing import estimate_usage
from ragline.models._provider import HTTPProvider
from ragline.models._stream import parse_arguments

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"


def wire_messages(messages: Messages) -> tuple[str, list[dict[str, Any]]]:
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


class AnthropicModel(HTTPProvider):
    """A :class:`~ragline.models.Model` over the Anthropic Messages API."""

    provider = "anthropic"
    label = "Anthropic"
    example_model = "claude-3-5-haiku-latest"
    default_base_url = DEFAULT_BASE_URL
    default_key_env = "ANTHROPIC_API_KEY"
    official_host = "api.anthropic.com"
    stream_fields: ClassVar[Mapping[str, Any]] = {"stream": True}

    def _base_url(self, checked: str) -> str:
        return checked.removesuffix("/v1")  # paths below carry /v1 themselves

    def _headers(self, key: str) -> dict[str, str]:
        headers = {"anthropic-version": API_VERSION}
        if key:
            headers["x-api-key"] = key
        return headers

    @property
    def url(self) -> str:
        return f"{self.base_url}/v1/messages"

    def _body(self, messages: Messages, tools: Tools, options: Any) -> dict[str, Any]:
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
        generic.pop("json_schema", None)  # nor a response schema: the prompt asks for JSON
        if tools:
            body["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters}
                for t in tools
            ]
        body.update(own)
        return body

    def _parse(self, data: dict[str, Any], messages: Messages, latency_ms: float) -> Completion:
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
        return self._completion(
            data,
            messages,
            text="".join(text),
            calls=calls,
            finish_reason=anthropic_finish(data.get("stop_reason")),
            usage=anthropic_usage(data.get("usage")),
            latency_ms=latency_ms,
        )

    def _stream_state(self, messages: Messages) -> AnthropicStreamState:
        return AnthropicStreamState(self.name, partial(estimate_usage, messages))

    def _json_stream(self, data: dict[str, Any], messages: Messages) -> NoReturn:
        """The Messages API always streams events; a JSON body means a wrong base_url."""
        raise MalformedResponse(
            f"{self.url} answered a streaming request with JSON, not events: "
            f"{json.dumps(data)[:120]}",
            provider=self.provider,
            hint=f"is models.{self.name}.base_url the Anthropic API?",
        )
