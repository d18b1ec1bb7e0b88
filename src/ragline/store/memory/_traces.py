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

from ragline.errors import InputError, StoreError
from ragline.store._traces import (
    FEEDBACK_KINDS,
    Feedback,
    SpanRecord,
    SpanStatus,
    TraceSummary,
)

#: Root-span attributes that ``list_traces(text=...)`` searches.
SEARCH_ATTRIBUTES: tuple[str, ...] = ("ragline.question", "ragline.answer")


def _search_text(root: SpanRecord) -> str:
    parts = [v for k in SEARCH_ATTRIBUTES if isinstance(v := root.attributes.get(k), str)]
    return "\n".join(parts).lower()


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
    ) -> list[TraceSummary]:
        """Root spans matching every filter given, newest first, at most ``limit``."""
        needle = text.lower() if text else None
        out: list[TraceSummary] = []
        with self._lock:
            self._check_open()
            for spans in self._spans.values():
                for root in spans.values():
                    if root.parent_id is not None:
                        continue
                    if tenant is not None and root.tenant != tenant:
                        continue
                    if since is not None and root.start < since:
                        continue
                    if until is not None and root.start > until:
                        continue
                    if status is not None and root.status != status:
                        continue
                    if min_latency_ms is not None and root.duration_ms < min_latency_ms:
                        continue
                    if needle is not None and needle not in _search_text(root):
                        continue
                    question = root.attributes.get("ragline.question")
                    out.append(
                        TraceSummary(
                            trace_id=root.trace_id,
                            tenant=root.tenant,
                            name=root.name,
                            start=root.start,
                            duration_ms=root.duration_ms,
                            status=root.status,
                            spans=len(spans),
                            question=question if isinstance(question, str) else None,
                        )
                    )
        out.sort(key=lambda t: (t.start, t.trace_id), reverse=True)
        return out[: max(0, int(limit))]

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
        if feedback.kind not in FEEDBACK_KINDS:
            raise InputError(
                f"unknown feedback kind {feedback.kind!r}",
                hint=f"use one of: {', '.join(FEEDBACK_KINDS)}",
            )
        with self._lock:
            self._check_open()
            self._feedback[feedback.id] = feedback

    def list_feedback(
        self,
        *,
        tenant: str | None = None,
        kind: str | None = None,
        trace_id: str | None = None,
    ) -> list[Feedback]:
        """Feedback matching every filter given, oldest first."""
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

    def close(self) -> None:
        with self._lock:
            self._closed = True
