"""Stream helpers: the OpenAI chunk assembler, and Completion ↔ Delta conversion."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar

from ragline.models._base import Completion, Delta, FinishReason, ToolCall, Usage
from ragline.models._errors import MalformedResponse
from ragline.models._sse import SSEEvent

logger = logging.getLogger("ragline.models")
Estimator = Callable[[str, list[ToolCall]], Usage]

_OPENAI_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}


def openai_finish(value: Any) -> FinishReason:
    return _OPENAI_FINISH.get(str(value), "stop")


def openai_usage(raw: Any) -> Usage | None:
    """``usage`` of a completion or chunk; None when the server reported none."""
    if not isinstance(raw, dict) or "prompt_tokens" not in raw:
        return None
    return Usage(int(raw.get("prompt_tokens") or 0), int(raw.get("completion_tokens") or 0))


def parse_arguments(raw: Any, name: str, spec: str) -> dict[str, Any]:
    """Tool-call arguments: a JSON object string (or an object) → dict."""
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw) if isinstance(raw, str) and raw.strip() else {}
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise MalformedResponse(
            f"{spec} called tool {name!r} with arguments that are not a JSON object: "
            f"{str(raw)[:200]!r}",
            provider=spec.partition(":")[0],
            hint="retry, or use a model that supports tool calling reliably",
        )
    return value


class StreamState:
    """A provider's stream assembler: SSE events in, deltas out (what the transport in
    :class:`~ragline.models._provider.HTTPProvider` drives).

    ``text`` is the answer text yielded so far, ``events`` how many complete events
    arrived, ``closed`` whether the end ``marker`` was seen (or the final delta sent),
    ``calls`` the tool calls yielded. ``estimate`` prices a stream that reported no usage.
    """

    marker: ClassVar[str]  # named in the error when a stream stops without it

    def __init__(self, spec: str, estimate: Estimator) -> None:
        self.spec = spec
        self.estimate = estimate
        self.text = ""
        self.events = 0
        self.closed = False
        self.calls: list[ToolCall] = []

    def feed(self, event: SSEEvent) -> Iterator[Delta]:
        raise NotImplementedError

    def salvage(self) -> Iterator[Delta] | None:
        """For a stream that stopped without its end marker: the deltas that still
        close it (the answer is whole), or None — it ended early (the default)."""
        return None


class OpenAIStreamState(StreamState):
    """Feeds on ``chat.completion.chunk`` events; yields text deltas as they come and,
    at the end, whole tool calls and a final delta with finish reason and usage."""

    marker = "finish_reason or [DONE]"

    def __init__(self, spec: str, estimate: Estimator) -> None:
        super().__init__(spec, estimate)
        self.finish_reason: FinishReason | None = None
        self.usage: Usage | None = None
        self._fragments: dict[int, dict[str, Any]] = {}

    def _late(self, what: str) -> None:
        logger.warning("%s: discarding %s that arrived after the stream closed", self.spec, what)

    def feed(self, event: SSEEvent) -> Iterator[Delta]:
        data = event.data.strip()
        if data == "[DONE]":
            if not self.closed:
                if self.finish_reason is None:
                    self.finish_reason = "tool_calls" if self._fragments else "stop"
                yield from self.close()
            return
        if not event.complete:
            return  # cut off mid-event: the caller reports the stream as ended early
        self.events += 1
        if self.closed:
            self._late("a chunk")
            return
        try:
            chunk: Any = json.loads(data)
        except ValueError:
            raise MalformedResponse(
                f"{self.spec} streamed a chunk that is not JSON: {data[:80]!r}",
                provider=self.spec.partition(":")[0],
                hint="is base_url an OpenAI-compatible server?",
            ) from None
        if not isinstance(chunk, dict):
            return
        if chunk.get("error"):
            from ragline.models._errors import ProviderUnavailable

            err = chunk["error"]
            msg = err.get("message", err) if isinstance(err, dict) else err
            raise ProviderUnavailable(
                f"{self.spec} stream failed: {msg}; the text so far is partial",
                provider=self.spec.partition(":")[0],
                partial_text=self.text,
            )
        self.usage = openai_usage(chunk.get("usage")) or self.usage
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if self.finish_reason is not None and (delta.get("content") or delta.get("tool_calls")):
                self._late("content or tool-call fragments")
                continue
            content = delta.get("content")
            if content:
                self.text += content
                yield Delta(text=content)
            for frag in delta.get("tool_calls") or []:
                slot = self._fragments.setdefault(
                    int(frag.get("index", 0)), {"id": None, "name": "", "args": []}
                )
                slot["id"] = frag.get("id") or slot["id"]
                fn = frag.get("function") or {}
                slot["name"] += fn.get("name") or ""
                slot["args"].append(fn.get("arguments") or "")
            if choice.get("finish_reason"):
                self.finish_reason = openai_finish(choice["finish_reason"])

    def salvage(self) -> Iterator[Delta] | None:
        """A stream that stopped before ``[DONE]`` is whole if a finish_reason arrived
        (some servers omit ``[DONE]``): close it; else it ended early."""
        return self.close() if self.finish_reason is not None else None

    def close(self) -> Iterator[Delta]:
        """Whole tool calls (by index), then the final delta."""
        self.closed = True
        for index in sorted(self._fragments):
            slot = self._fragments[index]
            call = ToolCall(
                id=slot["id"] or f"call_{index}",
                name=slot["name"],
                arguments=parse_arguments("".join(slot["args"]), slot["name"], self.spec),
            )
            self.calls.append(call)
            yield Delta(tool_call=call)
        usage = self.usage or self.estimate(self.text, self.calls)
        yield Delta(finish_reason=self.finish_reason or "stop", usage=usage)


def completion_to_deltas(completion: Completion) -> Iterator[Delta]:
    """A completion as a stream: word-sized text pieces, tool calls, the final delta."""
    for piece in re.findall(r"\s*\S+\s*", completion.text) or (
        [completion.text] if completion.text else []
    ):
        yield Delta(text=piece)
    for call in completion.tool_calls:
        yield Delta(tool_call=call)
    yield Delta(finish_reason=completion.finish_reason, usage=completion.usage)


def deltas_to_completion(deltas: Iterable[Delta], *, model: str) -> Completion:
    """Assemble a stream into one completion (what ``complete`` would have returned)."""
    text: list[str] = []
    calls: list[ToolCall] = []
    finish: FinishReason = "stop"
    usage = Usage()
    for d in deltas:
        text.append(d.text)
        if d.tool_call is not None:
            calls.append(d.tool_call)
        if d.finish_reason is not None:
            finish = d.finish_reason
        if d.usage is not None:
            usage = d.usage
    return Completion(
        text="".join(text), model=model, finish_reason=finish, tool_calls=calls, usage=usage
    )
