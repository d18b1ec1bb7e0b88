"""The row layout and queries of the trace tables, shared by the SQL backends.

SQLite and PostgreSQL store spans and feedback in the same columns (see the
``spans``/``feedback`` DDL of each backend); they differ only in the parameter mark
(``?`` or ``%s``), the substring function and the JSON encoder, which the callers pass
in. Reads go through :func:`summary_from_row` and :func:`record_from_row`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from ragline.errors import InputError
from ragline.store._traces import (
    FEEDBACK_KINDS,
    Feedback,
    SpanEvent,
    SpanRecord,
    SpanStatus,
    TraceSummary,
)

#: the columns :func:`record_from_row` reads, in order (``attributes``/``events`` last)
SPAN_COLS = "trace_id, span_id, parent_id, name, kind, tenant, start, end_time, status, "
FEEDBACK_COLS = "id, trace_id, tenant, kind, note, created_at"
#: the columns of an insert, in :func:`span_row` order
SPAN_INSERT_COLS = (
    "trace_id, span_id, parent_id, tenant, name, kind, start, end_time, duration_ms, status, "
    "question, search, attributes, events"
)
#: root-span attributes that ``list_traces(text=...)`` searches
SEARCH_ATTRIBUTES: tuple[str, ...] = ("ragline.question", "ragline.answer")

Dumps = Callable[[Any], str]


def search_text(record: SpanRecord) -> str | None:
    """What ``traces list --text`` searches: a root span's question and answer."""
    parts = [v for k in SEARCH_ATTRIBUTES if isinstance(v := record.attributes.get(k), str)]
    return "\n".join(parts).lower() if parts else None


def span_row(record: SpanRecord, dumps: Dumps) -> tuple[Any, ...]:
    """The values of one ``spans`` row, in :data:`SPAN_INSERT_COLS` order."""
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


def summary_from_row(r: Sequence[Any]) -> TraceSummary:
    """A trace summary from a :func:`list_traces_query` row."""
    return TraceSummary(
        trace_id=r[0],
        tenant=r[1],
        name=r[2],
        start=r[3],
        duration_ms=r[4],
        status="error" if r[5] == "error" else "ok",
        spans=int(r[7]),
        question=r[6],
    )


def record_from_row(row: Sequence[Any]) -> SpanRecord:
    """A span from a row of :data:`SPAN_COLS` + attributes + events (JSON text)."""
    events = tuple(
        SpanEvent(str(e["name"]), float(e["time"]), dict(e.get("attributes") or {}))
        for e in json.loads(row[10])
    )
    return SpanRecord(
        trace_id=row[0],
        span_id=row[1],
        parent_id=row[2],
        name=row[3],
        kind=row[4],
        tenant=row[5],
        start=row[6],
        end=row[7],
        status="error" if row[8] == "error" else "ok",
        attributes=json.loads(row[9]),
        events=events,
    )


def list_traces_query(
    *,
    mark: str,
    contains: str,
    tenant: str | None,
    since: float | None,
    until: float | None,
    status: SpanStatus | None,
    min_latency_ms: float | None,
    text: str | None,
    limit: int,
) -> tuple[str, list[Any]]:
    """``list_traces``' SQL and parameters; ``contains`` is e.g. ``instr({col}, {mark}) > 0``."""
    where = ["r.parent_id IS NULL"]
    params: list[Any] = []
    for clause, value in (
        ("r.tenant = ", tenant),
        ("r.start >= ", since),
        ("r.start <= ", until),
        ("r.status = ", status),
        ("r.duration_ms >= ", min_latency_ms),
    ):
        if value is not None:
            where.append(clause + mark)
            params.append(value)
    if text:
        where.append(contains.format(col="r.search", mark=mark))
        params.append(text.lower())
    params.append(max(0, int(limit)))
    sql = (
        "SELECT r.trace_id, r.tenant, r.name, r.start, r.duration_ms, r.status, r.question,"
        " (SELECT COUNT(*) FROM spans s WHERE s.trace_id = r.trace_id)"
        f" FROM spans r WHERE {' AND '.join(where)} ORDER BY r.start DESC LIMIT {mark}"
    )
    return sql, params


def get_trace_query(
    cols: str, mark: str, trace_id: str, tenant: str | None
) -> tuple[str, list[Any]]:
    """``get_trace``' SQL (spans by start time) and parameters."""
    sql = f"SELECT {cols} FROM spans WHERE trace_id = {mark}"
    params: list[Any] = [trace_id]
    if tenant is not None:
        sql += f" AND tenant = {mark}"
        params.append(tenant)
    return sql + " ORDER BY start, end_time DESC", params


def list_feedback_query(
    mark: str, *, tenant: str | None, kind: str | None, trace_id: str | None
) -> tuple[str, list[Any]]:
    """``list_feedback``' SQL (oldest first) and parameters."""
    where: list[str] = []
    params: list[Any] = []
    for column, value in (("tenant", tenant), ("kind", kind), ("trace_id", trace_id)):
        if value is not None:
            where.append(f"{column} = {mark}")
            params.append(value)
    sql = f"SELECT {FEEDBACK_COLS} FROM feedback"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return sql + " ORDER BY created_at, id", params


def feedback_from_row(r: Sequence[Any]) -> Feedback:
    return Feedback(r[0], r[1], r[2], r[3], r[4], r[5])


def check_feedback_kind(feedback: Feedback) -> None:
    if feedback.kind not in FEEDBACK_KINDS:
        raise InputError(
            f"unknown feedback kind {feedback.kind!r}",
            hint=f"use one of: {', '.join(FEEDBACK_KINDS)}",
        )
