"""Typed events of a streamed answer, in the order a consumer receives them.

``retrieval`` (the hits) → ``delta`` × n (text as the model writes it) → one
``citation`` per answer sentence → ``done`` (the checked answer, usage, cost,
timings). If the model fails part-way, an ``error`` event ends the stream instead of
``done``: ``partial_text`` is what was sent so far and it is incomplete. A stream
always ends with exactly one ``done`` or ``error``. A ``guard`` event says a guard
acted: an input guard that blocks sends it (and then ``done`` with the refusal) before
anything is retrieved; the output guard holds back the last
:data:`~ragline.answer._stages.HOLD_BACK_CHARS` characters of the streamed text, so
PII inside that window is redacted before it is sent, and a block stops the stream
with a ``guard`` event, then ``done`` with the refusal — never a silent truncation.
A chat stream adds a ``conversation`` event before and after.

Every event has a ``type`` and ``to_dict()`` (JSON-ready, e.g. for server-sent events).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, cast

from ragline.models._base import Usage
from ragline.types import Answer, Hit

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


class _PlainEvent:
    """An event whose fields are JSON-ready as they are: ``to_dict`` is its type, then them."""

    __slots__ = ()
    type: ClassVar[str]

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **asdict(cast("DataclassInstance", self))}


@dataclass(frozen=True, slots=True)
class RetrievalEvent:
    type: ClassVar[str] = "retrieval"
    hits: list[Hit]

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "hits": [h.to_dict() for h in self.hits]}


@dataclass(frozen=True, slots=True)
class DeltaEvent(_PlainEvent):
    type: ClassVar[str] = "delta"
    text: str


@dataclass(frozen=True, slots=True)
class CitationEvent(_PlainEvent):
    """The checked citations of one sentence (reference numbers as in the final answer)."""

    type: ClassVar[str] = "citation"
    sentence_index: int
    citations: list[int]
    support: float
    text: str = ""
    #: False when no cited passage supports the sentence (see ``AnswerSentence.supported``)
    supported: bool = True


@dataclass(frozen=True, slots=True)
class DoneEvent:
    type: ClassVar[str] = "done"
    answer: Answer
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    #: ``"length"`` when ``max_tokens`` cut the answer short (the text is then incomplete)
    finish_reason: str = "stop"

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "trace_id": self.answer.trace_id,
            "answer": self.answer.to_dict(),
            "usage": asdict(self.usage),
            "cost_usd": self.cost_usd,
            "timings_ms": dict(self.timings_ms),
            "finish_reason": self.finish_reason,
        }


@dataclass(frozen=True, slots=True)
class ErrorEvent(_PlainEvent):
    """The stream failed; ``partial_text`` (possibly empty) is incomplete."""

    type: ClassVar[str] = "error"
    message: str
    partial_text: str = ""
    retryable: bool = False


@dataclass(frozen=True, slots=True)
class GuardEvent(_PlainEvent):
    """A guard flagged, redacted or blocked at ``stage`` (``block``: a refusal follows)."""

    type: ClassVar[str] = "guard"
    stage: str
    action: str
    guards: list[str]
    reasons: list[str]


@dataclass(frozen=True, slots=True)
class ConversationEvent:
    """Chat: the conversation an answer belongs to and the turn just stored.

    First the user turn (``stored`` False), and — once the answer is complete and its
    assistant turn stored — that turn (``stored`` True).
    """

    type: ClassVar[str] = "conversation"
    conversation_id: str
    turn: int
    stored: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": self.type,
            "conversation_id": self.conversation_id,
            "turn": self.turn,
        }
        if self.stored:
            out["stored"] = True
        return out


Event = (
    RetrievalEvent
    | DeltaEvent
    | CitationEvent
    | DoneEvent
    | ErrorEvent
    | ConversationEvent
    | GuardEvent
)

__all__ = [
    "CitationEvent",
    "ConversationEvent",
    "DeltaEvent",
    "DoneEvent",
    "ErrorEvent",
    "Event",
    "GuardEvent",
    "RetrievalEvent",
]
