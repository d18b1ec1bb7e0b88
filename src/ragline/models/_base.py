"""The ``Model`` contract: chat messages in, a typed ``Completion`` (or deltas) out.

A provider implements ``complete`` and ``stream``; retries, fallback, circuit
breaking, rate limits, caching and cost accounting wrap any ``Model`` from the
outside (``ragline.models`` resilience wrappers), so providers stay small.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeAlias, runtime_checkable

Role = Literal["system", "user", "assistant", "tool"]
FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "error"]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool call the model asked for; ``arguments`` is the parsed JSON object."""

    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool offered to the model: name, description and JSON-schema parameters."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None  # for role="tool": which call this answers


#: the parameters of every ``complete``/``stream``: the conversation, oldest first …
Messages: TypeAlias = Sequence[Message]
#: … and the tools offered to the model, if any
Tools: TypeAlias = Sequence[ToolSpec] | None


@dataclass(slots=True)
class Usage:
    """Token counts; ``estimated`` when the provider did not report them."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = False

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(slots=True)
class Completion:
    text: str
    model: str
    finish_reason: FinishReason = "stop"
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None  # None when the model has no known price
    latency_ms: float = 0.0
    cached: bool = False


@dataclass(slots=True)
class Delta:
    """One streamed piece. The last delta of a stream carries ``finish_reason`` and
    ``usage``; tool calls arrive whole (providers assemble their fragments)."""

    text: str = ""
    tool_call: ToolCall | None = None
    finish_reason: FinishReason | None = None
    usage: Usage | None = None


@runtime_checkable
class Model(Protocol):
    """``name`` is the spec it was made from, e.g. ``openai:gpt-4o-mini`` or ``local``."""

    name: str

    def complete(
        self, messages: Messages, *, tools: Tools = None, **options: Any
    ) -> Completion: ...

    def stream(
        self, messages: Messages, *, tools: Tools = None, **options: Any
    ) -> Iterator[Delta]: ...
