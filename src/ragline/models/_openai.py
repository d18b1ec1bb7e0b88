"""``openai:<model>``: any OpenAI-compatible ``/chat/completions`` server.

OpenAI itself, vLLM, Ollama, llama.cpp server, TGI… Streaming uses SSE with
``stream_options.include_usage``; tool-call fragments are assembled by index and
yielded whole at the end. A stream that stalls or ends early raises a typed error
saying the text so far is partial — never a silent truncation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import partial
from typing import Any, ClassVar

from ragline.errors import InputError
from ragline.models import _http
from ragline.models._base import Completion, Delta, Messages, ToolCall, Tools
from ragline.models._errors import MalformedResponse
from ragline.models._pricing import estimate_usage
from ragline.models._provider import HTTPProvider
from ragline.models._stream import (
    OpenAIStreamState,
    completion_to_deltas,
    openai_finish,
    openai_usage,
    parse_arguments,
)

DEFAULT_BASE_URL = "https://api.openai.com/v1"


def wire_messages(messages: Messages) -> list[dict[str, Any]]:
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


class OpenAIModel(HTTPProvider):
    """A :class:`~ragline.models.Model` over ``POST {base_url}/chat/completions``."""

    provider = "openai"
    label = "OpenAI"
    example_model = "gpt-4o-mini"
    default_base_url = DEFAULT_BASE_URL
    default_key_env = "OPENAI_API_KEY"
    official_host = "api.openai.com"
    stream_fields: ClassVar[Mapping[str, Any]] = {
        "stream": True,
        "stream_options": {"include_usage": True},
    }

    def _headers(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"} if key else {}

    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def _body(self, messages: Messages, tools: Tools, options: Any) -> dict[str, Any]:
        generic, own = _http.split_options(options, "openai_")
        schema = generic.pop("json_schema", None)
        if schema is not None:  # structured outputs (OpenAI, vLLM, llama.cpp server)
            generic["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "reply", "schema": schema, "strict": True},
            }
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

    def _parse(self, data: dict[str, Any], messages: Messages, latency_ms: float) -> Completion:
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
        return self._completion(
            data,
            messages,
            text=text,
            calls=calls,
            finish_reason=openai_finish(choices[0].get("finish_reason")),
            usage=openai_usage(data.get("usage")),
            latency_ms=latency_ms,
        )

    def _stream_state(self, messages: Messages) -> OpenAIStreamState:
        return OpenAIStreamState(self.name, partial(estimate_usage, messages))

    def _json_stream(self, data: dict[str, Any], messages: Messages) -> Iterator[Delta]:
        """A server that ignored ``stream=true``: its completion, replayed as deltas."""
        return completion_to_deltas(self._parse(data, messages, 0.0))
