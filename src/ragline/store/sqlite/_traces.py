"""``SQLiteTraceStore``: spans, feedback and drop counters in the project's SQLite file.

It opens its *own* connection to the same database file as :class:`SQLiteStore`
(WAL mode, so readers and the trace writer don't block each other), with a short
busy timeout: the background writer would rather drop a batch (and count it) than
wait long behind another process's write. Each ``write_spans`` batch is one
transaction, idempotent on (trace_id, span_id).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic_core import to_json

from ragline.errors import StoreError
from ragline.store._trace_rows import (
    SPAN_COLS,
    SPAN_INSERT_COLS,
    check_feedback_kind,
    feedback_from_row,
    get_trace_query,
    list_feedback_query,
    list_traces_query,
    record_from_row,
    span_row,
    summary_from_row,
)
from ragline.store._traces import Feedback, SpanRecord, SpanStatus, TraceSummary
from ragline.store.sqlite._connect import Database

_SPAN_COLS = SPAN_COLS + "attributes, events"


def _dumps(value: Any) -> str:
    """Compact JSON; anything not JSON becomes its ``str``, NaN/inf become null.

    pydantic-core's encoder (already a dependency, via pydantic) is several times
    faster than ``json.dumps`` on span attributes, and this runs for every span.
    """
    return to_json(value, fallback=str, inf_nan_mode="null").decode()


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
        self._db = Database(
            self.path, what="trace store", busy_timeout_ms=busy_timeout_ms, allow_memory=False
        )

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
            rows.append(span_row(s, _dumps))
            # called from the writer thread: encoding holds the GIL, so hand it back to
            # request threads every 0.5 ms instead of once per switch interval (5 ms)
            if time.perf_counter() - mark > 0.0005:
                time.sleep(0)
                mark = time.perf_counter()
        with self._db.transaction() as conn:
            conn.executemany(
                f"INSERT OR REPLACE INTO spans ({SPAN_INSERT_COLS})"
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
    ) -> list[TraceSummary]:
        """Root spans, newest first, matching every filter given."""
        sql, params = list_traces_query(
            mark="?",
            contains="instr({col}, {mark}) > 0",
            tenant=tenant,
            since=since,
            until=until,
            status=status,
            min_latency_ms=min_latency_ms,
            text=text,
            limit=limit,
        )
        return [summary_from_row(r) for r in self._db.fetch(sql, params)]

    def get_trace(self, trace_id: str, *, tenant: str | None = None) -> list[SpanRecord]:
        """The spans of one trace by start time; ``[]`` if none (for that tenant)."""
        sql, params = get_trace_query(_SPAN_COLS, "?", trace_id, tenant)
        return [record_from_row(r) for r in self._db.fetch(sql, params)]

    # -- feedback ----------------------------------------------------------------------

    def add_feedback(self, feedback: Feedback) -> None:
        check_feedback_kind(feedback)
        with self._db.transaction() as conn:
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
        sql, params = list_feedback_query("?", tenant=tenant, kind=kind, trace_id=trace_id)
        return [feedback_from_row(r) for r in self._db.fetch(sql, params)]

    # -- counters that outlive the process ---------------------------------------------

    def record_drops(self, n: int) -> None:
        """Add ``n`` to the persisted count of dropped spans (raises if locked)."""
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO trace_stats (name, value) VALUES ('dropped_spans', ?)"
                " ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
                (int(n),),
            )

    def dropped_spans(self) -> int:
        """Spans that any process's writer dropped, as far as it could record them."""
        rows = self._db.fetch("SELECT value FROM trace_stats WHERE name = 'dropped_spans'")
        return int(rows[0][0]) if rows else 0

    def count_traces(self) -> int:
        return int(self._db.fetch("SELECT COUNT(*) FROM spans WHERE parent_id IS NULL")[0][0])

    def count_spans(self) -> int:
        return int(self._db.fetch("SELECT COUNT(*) FROM spans")[0][0])

    def close(self) -> None:
        self._db.close()
