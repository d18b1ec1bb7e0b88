"""``MemoryTraceStore``: the reference :class:`~ragline.trace.TraceStore`, in memory.

It defines the behaviour every backend must match (``ragline.testing``'s
``TraceStoreConformance`` runs against it): idempotent writes keyed on
(trace_id, span_id), tenant-scoped reads, list filters on the *root* span of each
trace, newest first, and a case-insensitive text search over the root span's
question and answer. Thread-safe: the background writer thread writes while
request threads read.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Unpack

from ragline.errors import StoreError
from ragline.store._traces import (
    Feedback,
    FeedbackQuery,
    SpanRecord,
    TraceQuery,
    TraceSummary,
    check_feedback_kind,
    search_text,
)


def _matches(root: SpanRecord, query: TraceQuery) -> bool:
    """Whether a root span meets every filter of ``query`` (``limit`` aside)."""
    tenant, status = query.get("tenant"), query.get("status")
    since, until = query.get("since"), query.get("until")
    min_latency_ms, text = query.get("min_latency_ms"), query.get("text")
    return (
        (tenant is None or root.tenant == tenant)
        and (since is None or root.start >= since)
        and (until is None or root.start <= until)
        and (status is None or root.status == status)
        and (min_latency_ms is None or root.duration_ms >= min_latency_ms)
        and (not text or text.lower() in (search_text(root) or ""))
    )


def _summary(root: SpanRecord, spans: int) -> TraceSummary:
    question = root.attributes.get("ragline.question")
    return TraceSummary(
        root.trace_id,
        root.tenant,
        root.name,
        root.start,
        root.duration_ms,
        root.status,
        spans,
        question if isinstance(question, str) else None,
    )


class MemoryTraceStore:
    """Spans and feedback in dictionaries; nothing survives the process.

    >>> traces = MemoryTraceStore()
    >>> traces.list_traces()
    []
    """

    def __init__(self) -> None:
        self._spans: dict[str, dict[str, SpanRecord]] = {}  # trace_id -> span_id -> span
        self._feedback: dict[str, Feedback] = {}
        self._lock = threading.Lock()
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the in-memory trace store is closed")

    # -- spans -------------------------------------------------------------------------

    def write_spans(self, spans: Sequence[SpanRecord]) -> None:
        """Store a batch; a span written before (same trace and span id) is replaced."""
        with self._lock:
            self._check_open()
            for s in spans:
                self._spans.setdefault(s.trace_id, {})[s.span_id] = s

    def list_traces(self, **query: Unpack[TraceQuery]) -> list[TraceSummary]:
        """Root spans matching every filter given, newest first, at most ``limit``."""
        with self._lock:
            self._check_open()
            out = [
                _summary(root, len(spans))
                for spans in self._spans.values()
                for root in spans.values()
                if root.parent_id is None and _matches(root, query)
            ]
        out.sort(key=lambda t: (t.start, t.trace_id), reverse=True)
        return out[: max(0, int(query.get("limit", 50)))]

    def get_trace(self, trace_id: str, *, tenant: str | None = None) -> list[SpanRecord]:
        """The spans of one trace by start time (longest first on ties); ``[]`` if none."""
        with self._lock:
            self._check_open()
            spans = [
                s
                for s in self._spans.get(trace_id, {}).values()
                if tenant is None or s.tenant == tenant
            ]
        spans.sort(key=lambda s: (s.start, -s.end))
        return spans

    # -- feedback ----------------------------------------------------------------------

    def add_feedback(self, feedback: Feedback) -> None:
        """Store one piece of feedback; the same id again replaces it."""
        check_feedback_kind(feedback)
        with self._lock:
            self._check_open()
            self._feedback[feedback.id] = feedback

    def list_feedback(self, **query: Unpack[FeedbackQuery]) -> list[Feedback]:
        """Feedback matching every filter given, oldest first."""
        tenant, kind, trace_id = query.get("tenant"), query.get("kind"), query.get("trace_id")
        with self._lock:
            self._check_open()
            items = [
                f
                for f in self._feedback.values()
                if (tenant is None or f.tenant == tenant)
                and (kind is None or f.kind == kind)
                and (trace_id is None or f.trace_id == trace_id)
            ]
        items.sort(key=lambda f: (f.created_at, f.id))
        return items

    # -- extras ------------------------------------------------------------------------

    def count_spans(self) -> int:
        with self._lock:
            return sum(len(s) for s in self._spans.values())

    def prune_traces(self, before: float, *, dry_run: bool = False) -> tuple[int, int, int]:
        """Delete traces whose root span started before ``before`` (their spans and
        feedback; spans without a root that started before it too): how many
        (traces, spans, feedback items); ``dry_run`` deletes nothing."""
        with self._lock:
            self._check_open()
            old = []
            for trace_id, spans in self._spans.items():
                roots = [x for x in spans.values() if x.parent_id is None]
                first = roots[0].start if roots else min(x.start for x in spans.values())
                if first < before:
                    old.append((trace_id, bool(roots)))
            gone = {t for t, _ in old}
            n_spans = sum(len(self._spans[t]) for t in gone)
            feedback = [f for f in self._feedback.values() if f.trace_id in gone]
            if not dry_run:
                for t in gone:
                    del self._spans[t]
                for f in feedback:
                    del self._feedback[f.id]
            return sum(1 for _, rooted in old if rooted), n_spans, len(feedback)

    def close(self) -> None:
        with self._lock:
            self._closed = True
