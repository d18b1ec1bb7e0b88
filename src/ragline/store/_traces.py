"""What tracing stores: spans, trace summaries and feedback — and the storage contract.

These are plain records so every backend (SQLite, PostgreSQL, memory) stores the same
thing. Times are Unix epoch seconds (float); durations are milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

SpanStatus = Literal["ok", "error"]
FeedbackKind = Literal["hallucination", "wrong_citation", "irrelevant", "good"]
FEEDBACK_KINDS: tuple[str, ...] = ("hallucination", "wrong_citation", "irrelevant", "good")


@dataclass(frozen=True, slots=True)
class SpanEvent:
    name: str
    time: float
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SpanRecord:
    """One finished span. ``parent_id`` is None for the root span of a trace.

    ``attributes`` hold JSON values only; OpenTelemetry GenAI names (``gen_ai.*``)
    where one exists, ``ragline.*`` otherwise.
    """

    trace_id: str  # 32 lowercase hex chars
    span_id: str  # 16 lowercase hex chars
    parent_id: str | None
    name: str
    kind: str  # "ask", "retrieval", "retriever", "fusion", "prompt", "model", ...
    tenant: str
    start: float
    end: float
    status: SpanStatus = "ok"
    attributes: dict[str, Any] = field(default_factory=dict)
    events: tuple[SpanEvent, ...] = ()

    @property
    def duration_ms(self) -> float:
        return (self.end - self.start) * 1000.0


@dataclass(frozen=True, slots=True)
class TraceSummary:
    """One line of ``ragline traces list``: the root span of a trace."""

    trace_id: str
    tenant: str
    name: str
    start: float
    duration_ms: float
    status: SpanStatus
    spans: int
    question: str | None = None  # the root span's ``ragline.question``, if any


@dataclass(frozen=True, slots=True)
class Feedback:
    id: str
    trace_id: str
    tenant: str
    kind: str  # one of FEEDBACK_KINDS
    note: str | None
    created_at: float


@runtime_checkable
class TraceStore(Protocol):
    """Where spans and feedback live. Implemented per store backend.

    - ``write_spans`` is called from the background writer thread with a batch; it
      is idempotent on (trace_id, span_id) and writes the batch in one transaction.
    - Reads are scoped by tenant when ``tenant`` is given (the server always gives it).
    - ``get_trace`` returns the spans of one trace ordered by start time, or ``[]``
      when there is no such trace (for that tenant).
    """

    def write_spans(self, spans: Sequence[SpanRecord]) -> None: ...

    def list_traces(
        self,
        *,
        tenant: str | None = None,
        since: float | None = None,
        until: float | None = None,
        status: SpanStatus | None = None,
        min_latency_ms: float | None = None,
        text: str | None = None,
        limit: int = 50,
    ) -> list[TraceSummary]: ...

    def get_trace(self, trace_id: str, *, tenant: str | None = None) -> list[SpanRecord]: ...

    def add_feedback(self, feedback: Feedback) -> None: ...

    def list_feedback(
        self,
        *,
        tenant: str | None = None,
        kind: str | None = None,
        trace_id: str | None = None,
    ) -> list[Feedback]: ...

    def close(self) -> None: ...
