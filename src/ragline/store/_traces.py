"""What tracing stores: spans, trace summaries and feedback — and the storage contract.

These are plain records so every backend (SQLite, PostgreSQL, memory) stores the same
thing. Times are Unix epoch seconds (float); durations are milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypedDict, Unpack, runtime_checkable

from ragline.errors import InputError

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


class TraceQuery(TypedDict, total=False):
    """The filters of :meth:`TraceStore.list_traces`, each optional: a trace is listed
    when its root span meets every one given.

    ``tenant``: only this tenant's; ``since``/``until``: started at or after / at or
    before (epoch seconds); ``status``: ``"ok"`` or ``"error"``; ``min_latency_ms``:
    took at least this long; ``text``: the question or the answer contains it (any
    case; see :func:`search_text`); ``limit``: at most this many (default 50).
    """

    tenant: str | None
    since: float | None
    until: float | None
    status: SpanStatus | None
    min_latency_ms: float | None
    text: str | None
    limit: int


class FeedbackQuery(TypedDict, total=False):
    """The filters of :meth:`TraceStore.list_feedback`, each optional: a piece of
    feedback is listed when it meets every one given."""

    tenant: str | None
    kind: str | None
    trace_id: str | None


#: root-span attributes that ``list_traces(text=...)`` searches
SEARCH_ATTRIBUTES: tuple[str, ...] = ("ragline.question", "ragline.answer")


def search_text(record: SpanRecord) -> str | None:
    """What ``list_traces(text=...)`` searches in a root span: its question and answer,
    lower-cased (``None`` when it has neither)."""
    parts = [v for k in SEARCH_ATTRIBUTES if isinstance(v := record.attributes.get(k), str)]
    return "\n".join(parts).lower() if parts else None


def check_feedback_kind(feedback: Feedback) -> None:
    """``InputError`` unless the feedback's kind is one of :data:`FEEDBACK_KINDS`."""
    if feedback.kind not in FEEDBACK_KINDS:
        raise InputError(
            f"unknown feedback kind {feedback.kind!r}",
            hint=f"use one of: {', '.join(FEEDBACK_KINDS)}",
        )


@runtime_checkable
class TraceStore(Protocol):
    """Where spans and feedback live. Implemented per store backend.

    - ``write_spans`` is called from the background writer thread with a batch; it
      is idempotent on (trace_id, span_id) and writes the batch in one transaction.
    - Reads are scoped by tenant when ``tenant`` is given (the server always gives it).
    - ``list_traces`` lists root spans, newest first (see :class:`TraceQuery`).
    - ``get_trace`` returns the spans of one trace ordered by start time, or ``[]``
      when there is no such trace (for that tenant).
    - ``add_feedback`` checks the kind (:func:`check_feedback_kind`); the same id again
      replaces it. ``list_feedback`` lists oldest first (see :class:`FeedbackQuery`).
    """

    def write_spans(self, spans: Sequence[SpanRecord]) -> None: ...

    def list_traces(self, **query: Unpack[TraceQuery]) -> list[TraceSummary]: ...

    def get_trace(self, trace_id: str, *, tenant: str | None = None) -> list[SpanRecord]: ...

    def add_feedback(self, feedback: Feedback) -> None: ...

    def list_feedback(self, **query: Unpack[FeedbackQuery]) -> list[Feedback]: ...

    def close(self) -> None: ...
