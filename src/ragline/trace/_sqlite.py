"""``SQLiteTraceStore``: spans, feedback and drop counters in the project's SQLite file.

It opens its *own* connection to the same database file as :class:`SQLiteStore`
(WAL mode, so readers and the trace writer don't block each other), with a short
busy timeout: the background writer would rather drop a batch (and count it) than
wait long behind another process's write. Each ``write_spans`` batch is one
transaction, idempotent on (trace_id, span_id).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic_core import to_json

from ragline.errors import InputError, StoreError
from ragline.store._migrations import open_connection
from ragline.trace._records import FEEDBACK_KINDS, Feedback, SpanEvent, SpanRecord, SpanStatus
from ragline.trace._records import TraceSummary as _Summary

_SPAN_COLS = "trace_id, span_id, parent_id, name, kind, tenant, start, end_time, status, "
_SPAN_COLS += "attributes, events"


def _dumps(value: Any) -> str:
    """Compact JSON; anything not JSON becomes its ``str``, NaN/inf become null.

    pydantic-core's encoder (already a dependency, via pydantic) is several times
    faster than ``json.dumps`` on span attributes, and this runs for every span.
    """
    return to_json(value, fallback=str, inf_nan_mode="null").decode()


def search_text(record: SpanRecord) -> str | None:
    """What ``traces list --text`` searches: a root span's question and answer."""
    parts = [
        v
        for k in ("ragline.question", "ragline.answer")
        if isinstance(v := record.attributes.get(k), str)
    ]
    return "\n".join(parts).lower() if parts else None


def span_row(record: SpanRecord) -> tuple[Any, ...]:
    question = record.attributes.get("ragline.question")
    root = record.parent_id is None
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
        _dumps(record.attributes),
        _dumps([{"name": e.name, "time": e.time, "attributes": e.attributes} for e in events])
        if (events := record.events)
        else "[]",
    )


def _summary(r: Sequence[Any]) -> _Summary:
    """A trace summary from a ``list_traces`` row (root span columns + span count)."""
    return _Summary(
        trace_id=r[0],
        tenant=r[1],
        name=r[2],
        start=r[3],
        duration_ms=r[4],
        status="error" if r[5] == "error" else "ok",
        spans=int(r[7]),
        question=r[6],
    )


def _record(row: Sequence[Any]) -> SpanRecord:
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


class SQLiteTraceStore:
    """Traces and feedback in a ragline SQLite database (the same file as the store).

    >>> traces = SQLiteTraceStore("ragline.db")                    # doctest: +SKIP
    >>> traces.list_traces(tenant="acme", status="error", limit=10)  # doctest: +SKIP
    """

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 500) -> None:
        self.path = str(path)
        if self.path == ":memory:":
            raise StoreError(
                "SQLiteTraceStore needs a database file, not ':memory:'",
                hint="use MemoryTraceStore for an in-memory store",
            )
        self._conn = open_connection(
            self.path, what="trace store", busy_timeout_ms=busy_timeout_ms, allow_memory=False
        )
        self._lock = threading.Lock()
        self._closed = False

    @contextmanager
    def _tx(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._closed:
                raise StoreError(f"trace store {self.path!r} is closed")
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as e:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(e, sqlite3.Error):
                    hint = (
                        "another process is writing to the database; try again"
                        if "locked" in str(e) or "busy" in str(e)
                        else "check the database file (disk full, permissions, corruption)"
                    )
                    raise StoreError(f"trace store {self.path!r}: {e}", hint=hint) from e
                raise

    # -- spans -------------------------------------------------------------------------

    def write_spans(self, spans: Sequence[SpanRecord]) -> None:
        """Store a batch in one transaction; a span stored before is replaced.

        Raises :class:`StoreError` (locked, disk full…): the writer counts it.
        """
        if not spans:
            return
        rows = []
        mark = time.perf_counter()
        for s in spans:
            rows.append(span_row(s))
            # called from the writer thread: encoding holds the GIL, so hand it back to
            # request threads every 0.5 ms instead of once per switch interval (5 ms)
            if time.perf_counter() - mark > 0.0005:
                time.sleep(0)
                mark = time.perf_counter()
        with self._tx(write=True) as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO spans (trace_id, span_id, parent_id, tenant, name, kind,"
                " start, end_time, duration_ms, status, question, search, attributes, events)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

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
    ) -> list[_Summary]:
        """Root spans, newest first, matching every filter given."""
        where = ["r.parent_id IS NULL"]
        params: list[Any] = []
        if tenant is not None:
            where.append("r.tenant = ?")
            params.append(tenant)
        if since is not None:
            where.append("r.start >= ?")
            params.append(since)
        if until is not None:
            where.append("r.start <= ?")
            params.append(until)
        if status is not None:
            where.append("r.status = ?")
            params.append(status)
        if min_latency_ms is not None:
            where.append("r.duration_ms >= ?")
            params.append(min_latency_ms)
        if text:
            where.append("instr(r.search, ?) > 0")
            params.append(text.lower())
        params.append(max(0, int(limit)))
        sql = (
            "SELECT r.trace_id, r.tenant, r.name, r.start, r.duration_ms, r.status, r.question,"
            " (SELECT COUNT(*) FROM spans s WHERE s.trace_id = r.trace_id)"
            f" FROM spans r WHERE {' AND '.join(where)} ORDER BY r.start DESC LIMIT ?"
        )
        with self._tx(write=False) as conn:
            rows = conn.execute(sql, params).fetchall()
        return [_summary(r) for r in rows]

    def get_trace(self, trace_id: str, *, tenant: str | None = None) -> list[SpanRecord]:
        """The spans of one trace by start time; ``[]`` if none (for that tenant)."""
        sql = f"SELECT {_SPAN_COLS} FROM spans WHERE trace_id = ?"
        params: list[Any] = [trace_id]
        if tenant is not None:
            sql += " AND tenant = ?"
            params.append(tenant)
        with self._tx(write=False) as conn:
            rows = conn.execute(sql + " ORDER BY start, end_time DESC", params).fetchall()
        return [_record(r) for r in rows]

    # -- feedback ----------------------------------------------------------------------

    def add_feedback(self, feedback: Feedback) -> None:
        if feedback.kind not in FEEDBACK_KINDS:
            raise InputError(
                f"unknown feedback kind {feedback.kind!r}",
                hint=f"use one of: {', '.join(FEEDBACK_KINDS)}",
            )
        with self._tx(write=True) as conn:
            conn.execute(
                "INSERT OR REPLACE INTO feedback (id, trace_id, tenant, kind, note,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    feedback.id,
                    feedback.trace_id,
                    feedback.tenant,
                    feedback.kind,
                    feedback.note,
                    feedback.created_at,
                ),
            )

    def list_feedback(
        self,
        *,
        tenant: str | None = None,
        kind: str | None = None,
        trace_id: str | None = None,
    ) -> list[Feedback]:
        """Feedback oldest first, matching every filter given."""
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("tenant", tenant), ("kind", kind), ("trace_id", trace_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        sql = "SELECT id, trace_id, tenant, kind, note, created_at FROM feedback"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._tx(write=False) as conn:
            rows = conn.execute(sql + " ORDER BY created_at, id", params).fetchall()
        return [Feedback(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]

    # -- counters that outlive the process ---------------------------------------------

    def record_drops(self, n: int) -> None:
        """Add ``n`` to the persisted count of dropped spans (raises if locked)."""
        with self._tx(write=True) as conn:
            conn.execute(
                "INSERT INTO trace_stats (name, value) VALUES ('dropped_spans', ?)"
                " ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
                (int(n),),
            )

    def dropped_spans(self) -> int:
        """Spans that any process's writer dropped, as far as it could record them."""
        with self._tx(write=False) as conn:
            row = conn.execute(
                "SELECT value FROM trace_stats WHERE name = 'dropped_spans'"
            ).fetchone()
        return int(row[0]) if row else 0

    def count_traces(self) -> int:
        with self._tx(write=False) as conn:
            row = conn.execute("SELECT COUNT(*) FROM spans WHERE parent_id IS NULL").fetchone()
            return int(row[0])

    def count_spans(self) -> int:
        with self._tx(write=False) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM spans").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()
