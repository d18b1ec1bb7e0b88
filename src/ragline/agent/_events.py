"""Typed events of an agent run, in the order a consumer receives them.

Per step: ``delta`` × n (the model's text as it writes it), then, when the model asked
for tools, one ``tool_call`` per call (before any of them runs) and one ``tool_result``
per call (in call order, after they ran in parallel). After the last step: one
``citation`` per sentence of the final answer, then ``done`` with the run (its stop
reason, answer, references, usage). When the model fails an ``error`` event comes just
before ``done`` (stop reason ``error``, a best-effort answer). A run always ends with
exactly one ``done``. ``delta``, ``citation`` and ``error`` are the answer stream's own
event types (:mod:`ragline.answer._events`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from ragline.answer._events import CitationEvent, DeltaEvent, ErrorEvent

if TYPE_CHECKING:
    from ragline.agent._run import AgentRun
    from ragline.agent._tools import ToolResult


@dataclass(frozen=True, slots=True)
class ToolCallEvent:
    type: ClassVar[str] = "tool_call"
    step: int
    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "step": self.step,
            "id": self.id,
            "name": self.name,
            "arguments": self.arguments,
        }


@dataclass(frozen=True, slots=True)
class ToolResultEvent:
    type: ClassVar[str] = "tool_result"
    step: int
    result: ToolResult

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "step": self.step, **self.result.to_dict()}


@dataclass(frozen=True, slots=True)
class AgentDoneEvent:
    type: ClassVar[str] = "done"
    run: AgentRun

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **self.run.to_dict()}


AgentEvent = (
    DeltaEvent | ToolCallEvent | ToolResultEvent | CitationEvent | ErrorEvent | AgentDoneEvent
)

__all__ = [
    "AgentDoneEvent",
    "AgentEvent",
    "CitationEvent",
    "DeltaEvent",
    "ErrorEvent",
    "ToolCallEvent",
    "ToolResultEvent",
]
