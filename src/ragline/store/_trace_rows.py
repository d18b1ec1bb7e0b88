"""The row layout and queries of the trace tables, shared by the SQL backends.

SQLite and PostgreSQL store spans and feedback in the same columns (see the
``spans``/``feedback`` DDL of each backend); they differ only in the words of their
:class:`~ragline.store.sql._dialect.Dialect` (the parameter mark, the substring
function) and in the JSON encoder, which the callers pass in. Rows are read back with
the :data:`SPAN`, :data:`SUMMARY` and :data:`FEEDBACK` layouts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ragline.store._rows import Layout, json_dict
from ragline.store._traces import (
    Feedback,
    FeedbackQuery,
    SpanEvent,
    SpanRecord,
    SpanStatus,
    TraceQuery,
    TraceSummary,
    search_text,
)

if TYPE_CHECKING:
    from ragline.store.sql._dialect import Dialect

Dumps = Callable[[Any], str]


def span_status(value: Any) -> SpanStatus:
    return "error" if value == "error" else "ok"


def span_events(value: Any) -> tuple[SpanEvent, ...]:
    """A span's ``events`` column (JSON text or parsed) as events."""
    parsed = json.loads(value) if isinstance(value, str) else value
    return tuple(
        SpanEvent(str(e["name"]), float(e["time"]), dict(e.get("attributes") or {})) for e in parsed
    )


#: ``spans`` rows, in the order of :class:`SpanRecord`'s fields
SPAN: Layout[SpanRecord] = Layout(
    SpanRecord,
    "trace_id span_id parent_id name kind tenant start end status attributes events",
    columns={"end": "end_time"},
    read={"status": span_status, "attributes": json_dict, "events": span_events},
)

#: one line of ``list_traces``: a root span and its trace's number of spans
SUMMARY: Layout[TraceSummary] = Layout(
    TraceSummary,
    "trace_id tenant name start duration_ms status spans question",
    read={"status": span_status, "spans": int},
)

#: ``feedback`` rows
FEEDBACK: Layout[Feedback] = Layout(Feedback, "id trace_id tenant kind note created_at")

#: the columns of a ``spans`` insert, in :func:`span_row` order
SPAN_INSERT: tuple[str, ...] = (
    "trace_id",
    "span_id",
    "parent_id",
    "tenant",
    "name",
    "kind",
    "start",
    "end_time",
    "duration_ms",
    "status",
    "question",
    "search",
    "attributes",
    "events",
)


def span_row(record: SpanRecord, dumps: Dumps) -> tuple[Any, ...]:
    """The values of one ``spans`` row, in :data:`SPAN_INSERT` order."""
    question = record.attributes.get("ragline.question")
    root = record.parent_id is None
    events = record.events
    return (
        record.trace_id,
        record.span_id,
        record.parent_id,
        record.tenant,
        record.name,
        record.kind,
        record.start,
        record.end,
        record.duration_ms,
        record.status,
        question if root and isinstance(question, str) else None,
        search_text(record) if root else None,
        dumps(record.attributes),
        dumps([{"name": e.name, "time": e.time, "attributes": e.attributes} for e in events])
        if events
        else "[]",
    )


def list_traces_query(sql: Dialect, query: TraceQuery) -> tuple[str, list[Any]]:
    """``list_traces``' SQL and parameters: :data:`SUMMARY` rows, newest first."""
    m = sql.mark
    where = ["r.parent_id IS NULL"]
    params: list[Any] = []
    for clause, value in (
        ("r.tenant = ", query.get("tenant")),
        ("r.start >= ", query.get("since")),
        ("r.start <= ", query.get("until")),
        ("r.status = ", query.get("status")),
        ("r.duration_ms >= ", query.get("min_latency_ms")),
    ):
        if value is not None:
            where.append(clause + m)
            params.append(value)
    text = query.get("text")
    if text:
        where.append(f"{sql.find}(r.search, {m}) > 0")
        params.append(sql.clean(text.lower()))
    params.append(max(0, int(query.get("limit", 50))))
    spans = "(SELECT COUNT(*) FROM spans s WHERE s.trace_id = r.trace_id)"  # SUMMARY's order
    select = f"r.trace_id, r.tenant, r.name, r.start, r.duration_ms, r.status, {spans}"
    select += ", r.question"
    sql_text = (
        f"SELECT {select} FROM spans r WHERE {' AND '.join(where)} ORDER BY r.start DESC LIMIT {m}"
    )
    return sql_text, params


def get_trace_query(sql: Dialect, trace_id: str, tenant: str | None) -> tuple[str, list[Any]]:
    """``get_trace``' SQL (:data:`SPAN` rows by start time) and parameters."""
    text = f"SELECT {SPAN.select()} FROM spans WHERE trace_id = {sql.mark}"
    params: list[Any] = [trace_id]
    if tenant is not None:
        text += f" AND tenant = {sql.mark}"
        params.append(tenant)
    return text + " ORDER BY start, end_time DESC", params


def list_feedback_query(sql: Dialect, query: FeedbackQuery) -> tuple[str, list[Any]]:
    """``list_feedback``' SQL (:data:`FEEDBACK` rows, oldest first) and parameters."""
    where: list[str] = []
    params: list[Any] = []
    for column, value in (
        ("tenant", query.get("tenant")),
        ("kind", query.get("kind")),
        ("trace_id", query.get("trace_id")),
    ):
        if value is not None:
            where.append(f"{column} = {sql.mark}")
            params.append(value)
    text = f"SELECT {FEEDBACK.select()} FROM feedback"
    if where:
        text += " WHERE " + " AND ".join(where)
    return text + " ORDER BY created_at, id", params
