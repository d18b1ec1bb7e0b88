"""What an agent run gives back (:class:`AgentRun`) and the limits it ran under."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ragline.agent._limits import StopReason
from ragline.models._base import Usage
from ragline.types import AnswerSentence, Reference

if TYPE_CHECKING:
    from ragline.agent._builtins import Handoff
    from ragline.config import AgentSettings


@dataclass(frozen=True, slots=True)
class AgentLimits:
    """The bounds of one run (``agent:`` in ragline.yaml; see :mod:`._limits`)."""

    max_steps: int = 8
    max_tool_calls: int = 16
    max_wall_s: float = 60.0
    max_tokens: int = 20_000
    max_cost_usd: float | None = None
    tool_timeout_s: float = 10.0
    max_result_chars: int = 8_000
    repeat_limit: int = 2

    @classmethod
    def from_settings(cls, s: AgentSettings) -> AgentLimits:
        return cls(
            max_steps=s.max_steps,
            max_tool_calls=s.max_tool_calls,
            max_wall_s=s.max_wall_s,
            max_tokens=s.max_tokens,
            max_cost_usd=s.max_cost_usd,
            tool_timeout_s=s.tool_timeout_s,
            max_result_chars=s.max_result_chars,
            repeat_limit=s.repeat_limit,
        )


@dataclass(slots=True)
class AgentRun:
    """One run: the answer (citations checked), why it stopped, and what it cost.

    ``text`` is always set: the model's answer when ``completed``, otherwise a
    best-effort answer that says why the run stopped (with what the searches found).
    """

    text: str
    stop_reason: StopReason
    detail: str = ""
    steps: int = 0
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    sentences: list[AnswerSentence] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None
    elapsed_ms: float = 0.0
    trace_id: str | None = None
    conversation_id: str | None = None
    handoff: Handoff | None = None
    memories: int = 0  # long-term memories shown to the model
    notes: list[str] = field(default_factory=list)  # e.g. "memory unavailable: …"

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "stop_reason": self.stop_reason,
            "detail": self.detail,
            "steps": self.steps,
            "tool_calls": list(self.tool_calls),
            "references": [r.to_dict() for r in self.references],
            "sentences": [s.to_dict() for s in self.sentences],
            "usage": asdict(self.usage),
            "cost_usd": self.cost_usd,
            "elapsed_ms": round(self.elapsed_ms, 3),
            "trace_id": self.trace_id,
            "conversation_id": self.conversation_id,
            "handoff": self.handoff.to_dict() if self.handoff else None,
            "memories": self.memories,
            "notes": list(self.notes),
        }


__all__ = ["AgentLimits", "AgentRun"]
