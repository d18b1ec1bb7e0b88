"""Assemble an Anthropic Messages API event stream into deltas."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ragline.errors import ProviderError
from ragline.models._base import Delta, FinishReason, ToolCall, Usage
from ragline.models._errors import (
    MalformedResponse,
    ProviderUnavailable,
    RateLimitError,
    RequestRejected,
    _ModelError,
)
from ragline.models._http import logger
from ragline.models._sse import SSEEvent
from ragline.models._stream import Estimator, StreamState, parse_arguments

_STOP: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def anthropic_finish(value: Any) -> FinishReason:
    return _STOP.get(str(value), "stop")


def prompt_tokens(raw: dict[str, Any]) -> int:
    """Input tokens, cache writes and reads included (all are billed as input)."""
    return sum(
        int(raw.get(k) or 0)
        for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )


def anthropic_usage(raw: Any) -> Usage | None:
    """``usage`` of a message; None when the server reported none."""
    if not isinstance(raw, dict) or "input_tokens" not in raw:
        return None
    return Usage(prompt_tokens(raw), int(raw.get("output_tokens") or 0))


def stream_error(spec: str, error: Any, partial_text: str) -> ProviderError:
    """An ``error`` event (e.g. overloaded_error) as a typed error."""
    err = error if isinstance(error, dict) else {"message": str(error)}
    kind = str(err.get("type") or "error")
    message = f"{spec} stream failed: {err.get('message') or kind} ({kind})"
    if partial_text:
        message += f"; the text so far ({len(partial_text)} characters) is partial"
    cls: type[_ModelError]
    if kind == "rate_limit_error":
        cls = RateLimitError
    elif kind in ("overloaded_error", "api_error", "timeout_error"):
        cls = ProviderUnavailable
    else:
        cls = RequestRejected
    hint = None if cls is RequestRejected else "try again later"
    return cls(message, provider="anthropic", hint=hint, partial_text=partial_text)


class AnthropicStreamState(StreamState):
    """Feeds on Messages API events; yields text deltas as they come, each tool call
    whole when its block stops, and the final delta at ``message_stop``."""

    marker = "message_stop"

    def __init__(self, spec: str, estimate: Estimator) -> None:
        super().__init__(spec, estimate)
        self.stop_reason: FinishReason | None = None
        self._input_tokens: int | None = None
        self._output_tokens: int | None = None
        self._blocks: dict[int, dict[str, Any]] = {}

    def _bad(self, why: str) -> MalformedResponse:
        return MalformedResponse(
            f"{self.spec} sent a stream event that {why}",
            provider="anthropic",
            hint="is base_url the Anthropic API?",
        )

    def feed(self, event: SSEEvent) -> Iterator[Delta]:
        if not event.complete:
            return  # cut off mid-event: reported as a stream that ended early
        self.events += 1
        try:
            data: Any = json.loads(event.data)
        except ValueError:
            raise self._bad(f"is not JSON: {event.data[:80]!r}") from None
        if not isinstance(data, dict):
            raise self._bad("is not a JSON object")
        kind = data.get("type") or event.event
        if kind == "ping":
            return
        if self.closed:
            logger.warning("%s: discarding a %s event after message_stop", self.spec, kind)
            return
        if kind == "error":
            if self.text:
                logger.warning("%s: stream failed after %d characters", self.spec, len(self.text))
            raise stream_error(self.spec, data.get("error"), self.text)
        if kind == "message_start":
            usage = (data.get("message") or {}).get("usage") or {}
            self._input_tokens = prompt_tokens(usage)
            self._output_tokens = int(usage.get("output_tokens") or 0) or None
        elif kind == "content_block_start":
            block = data.get("content_block") or {}
            self._blocks[int(data.get("index", 0))] = {
                "type": block.get("type"),
                "id": block.get("id"),
                "name": block.get("name"),
                "json": [],
            }
        elif kind == "content_block_delta":
            yield from self._delta(int(data.get("index", 0)), data.get("delta") or {})
        elif kind == "content_block_stop":
            block = self._blocks.pop(int(data.get("index", 0)), None)
            if block is not None and block["type"] == "tool_use":
                name = str(block["name"] or "")
                args = parse_arguments("".join(block["json"]), name, self.spec)
                call = ToolCall(id=str(block["id"] or ""), name=name, arguments=args)
                self.calls.append(call)
                yield Delta(tool_call=call)
        elif kind == "message_delta":
            delta = data.get("delta") or {}
            if delta.get("stop_reason"):
                self.stop_reason = anthropic_finish(delta["stop_reason"])
            usage = data.get("usage") or {}
            if usage.get("output_tokens") is not None:
                self._output_tokens = int(usage["output_tokens"])
            if usage.get("input_tokens") is not None:
                self._input_tokens = int(usage["input_tokens"])
        elif kind == "message_stop":
            self.closed = True
            yield Delta(finish_reason=self.stop_reason or "stop", usage=self._usage())

    def _delta(self, index: int, delta: dict[str, Any]) -> Iterator[Delta]:
        block = self._blocks.get(index)
        if block is None:
            logger.warning("%s: discarding a fragment for closed block %d", self.spec, index)
            return
        if delta.get("type") == "text_delta":
            piece = str(delta.get("text") or "")
            if piece:
                self.text += piece
                yield Delta(text=piece)
        elif delta.get("type") == "input_json_delta":
            block["json"].append(str(delta.get("partial_json") or ""))
        # thinking_delta, signature_delta, citations_delta: not part of the answer text

    def _usage(self) -> Usage:
        if self._input_tokens is None or self._output_tokens is None:
            return self.estimate(self.text, self.calls)
        return Usage(self._input_tokens, self._output_tokens)
