"""User feedback on answers, and finding a trace by its id or a unique prefix.

>>> fb = add_feedback(store, "3f2a9c1e", "hallucination", note="no such policy")  # doctest: +SKIP
>>> fb.kind, fb.trace_id                                                          # doctest: +SKIP
('hallucination', '3f2a9c1e5d…')

Feedback is linked to a trace that exists (unknown ids are refused) and stored under
that trace's tenant, so tenant-scoped reads see it.
"""

from __future__ import annotations

import time
import uuid

from ragline.errors import InputError
from ragline.store._traces import FEEDBACK_KINDS, Feedback, SpanRecord, TraceStore, TraceSummary
from ragline.trace._errors import TraceNotFoundError

#: The shortest trace-id prefix accepted (like git's abbreviated hashes).
MIN_PREFIX = 8
MAX_NOTE_CHARS = 10_000
_HEX = frozenset("0123456789abcdef")
_LIST_HINT = "find trace ids with `ragline traces list`"


def check_kind(kind: str) -> str:
    """``kind`` as stored (``wrong-citation`` is accepted for ``wrong_citation``).

    Raises :class:`InputError` naming the valid kinds.
    """
    normal = kind.strip().lower().replace("-", "_")
    if normal not in FEEDBACK_KINDS:
        raise InputError(
            f"unknown feedback kind {kind!r}", hint=f"use one of: {', '.join(FEEDBACK_KINDS)}"
        )
    return normal


def _for_tenant(tenant: str | None) -> str:
    return f" for tenant {tenant!r}" if tenant is not None else ""


def resolve_trace_id(store: TraceStore, trace_id: str, *, tenant: str | None = None) -> str:
    """The full id of the trace ``trace_id`` names: a full id or a unique prefix of at
    least 8 hex characters. Raises :class:`InputError` when there is no such trace
    (:class:`TraceNotFoundError`, also an ``InputError``, for none — for ``tenant``,
    when given) or the prefix is ambiguous."""
    wanted = trace_id.strip().lower()
    if not wanted:
        raise InputError("no trace id given", hint=_LIST_HINT)
    if len(wanted) >= 32 or not set(wanted) <= _HEX:
        if store.get_trace(wanted, tenant=tenant):
            return wanted
        raise TraceNotFoundError(trace_id, tenant)
    if store.get_trace(wanted, tenant=tenant):  # a store with shorter ids
        return wanted
    if len(wanted) < MIN_PREFIX:
        raise InputError(
            f"trace id {trace_id!r} is too short",
            hint=f"give the full id or at least {MIN_PREFIX} characters of it",
        )
    matches = {
        t.trace_id
        for t in store.list_traces(tenant=tenant, limit=1_000_000_000)
        if t.trace_id.startswith(wanted)
    }
    if not matches:
        raise TraceNotFoundError(trace_id, tenant)
    if len(matches) > 1:
        raise InputError(
            f"trace id prefix {trace_id!r} matches {len(matches)} traces",
            hint="give more characters of the id",
        )
    return matches.pop()


def find_trace(store: TraceStore, trace_id: str, *, tenant: str | None = None) -> list[SpanRecord]:
    """The spans of the trace ``trace_id`` (full id or unique prefix), never empty.

    Raises :class:`InputError` when there is no such trace.
    """
    full = resolve_trace_id(store, trace_id, tenant=tenant)
    spans = store.get_trace(full, tenant=tenant)
    if not spans:  # deleted in between
        raise TraceNotFoundError(trace_id, tenant)
    return spans


def root_span(spans: list[SpanRecord]) -> SpanRecord:
    """The root of a trace (the earliest span when the root was never written)."""
    for s in spans:
        if s.parent_id is None:
            return s
    return min(spans, key=lambda s: s.start)


def add_feedback(
    store: TraceStore,
    trace_id: str,
    kind: str,
    note: str | None = None,
    *,
    tenant: str | None = None,
    created_at: float | None = None,
) -> Feedback:
    """Record feedback on a trace and return it.

    ``trace_id`` may be a unique prefix (≥ 8 characters). The feedback is stored under
    the trace's tenant; with ``tenant`` given, only that tenant's traces are found.
    Unknown kinds, unknown traces and overlong notes raise :class:`InputError` and
    store nothing.
    """
    normal = check_kind(kind)
    text = note.strip() if note is not None else None
    if text is not None and len(text) > MAX_NOTE_CHARS:
        raise InputError(
            f"the note is {len(text)} characters long",
            hint=f"keep notes under {MAX_NOTE_CHARS} characters",
        )
    spans = find_trace(store, trace_id, tenant=tenant)
    root = root_span(spans)
    feedback = Feedback(
        id=uuid.uuid4().hex,
        trace_id=root.trace_id,
        tenant=root.tenant,
        kind=normal,
        note=text or None,
        created_at=time.time() if created_at is None else created_at,
    )
    store.add_feedback(feedback)
    return feedback


def get_trace(store: TraceStore, trace_id: str, *, tenant: str | None = None) -> list[SpanRecord]:
    """The spans of the trace with this exact id, by start time.

    Raises :class:`TraceNotFoundError` (an ``InputError``) when there is none (for
    ``tenant``, when given).
    """
    wanted = (trace_id or "").strip().lower()
    spans = store.get_trace(wanted, tenant=tenant) if wanted else []
    if not spans:
        raise TraceNotFoundError(trace_id, tenant)
    return spans


def list_traces(
    store: TraceStore,
    *,
    tenant: str | None = None,
    since: float | None = None,
    until: float | None = None,
    status: str | None = None,
    min_latency_ms: float | None = None,
    text: str | None = None,
    limit: int = 50,
) -> list[TraceSummary]:
    """Recent traces, newest first, matching every filter given (as ``traces list``)."""
    if status not in (None, "ok", "error"):
        raise InputError(f"unknown trace status {status!r}", hint="use ok or error")
    return store.list_traces(
        tenant=tenant,
        since=since,
        until=until,
        status=status,  # type: ignore[arg-type]
        min_latency_ms=min_latency_ms,
        text=text,
        limit=limit,
    )
