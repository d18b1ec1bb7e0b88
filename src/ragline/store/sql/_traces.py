"""``SQLTraceStore``: spans, feedback and drop counters in SQL, for SQLite and PostgreSQL.

Tables ``spans``, ``trace_stats`` and ``feedback`` from each backend's migrations.
Each ``write_spans`` batch is one transaction, idempotent on (trace_id, span_id)
(an upsert), so several writers — threads, processes, servers — can write at once.
The batch holds spans of many tenants, so it is written with ``tenant=None``: on
PostgreSQL that opts in to the all-tenant view the ``spans`` policy allows (as do the
operator's reads without a tenant); a query that sets neither sees nothing.

A backend passes the JSON encoder of span attributes and events along with its
dialect (its JSON columns have their own limits: see each backend).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Unpack

from ragline.store._trace_rows import (
    FEEDBACK,
    SPAN,
    SPAN_INSERT,
    SUMMARY,
    Dumps,
    get_trace_query,
    list_feedback_query,
    list_traces_query,
    span_row,
)
from ragline.store._traces import (
    Feedback,
    FeedbackQuery,
    SpanRecord,
    TraceQuery,
    TraceSummary,
    check_feedback_kind,
)
from ragline.store.sql._dialect import Dialect, Statements

_DROPPED = "SELECT value FROM trace_stats WHERE name = 'dropped_spans'"
_ROOTS = "SELECT count(*) FROM spans WHERE parent_id IS NULL"


class SQLTraceStore:
    """Traces and feedback in a ragline SQL database, through ``sql``; ``dumps``
    encodes span attributes and events as JSON text."""

    def __init__(self, sql: Dialect, *, dumps: Dumps) -> None:
        self._sql = sql
        self._dumps = dumps
        self._upsert_span = sql.upsert(
            "spans", SPAN_INSERT, ("trace_id", "span_id"), json=("attributes", "events")
        )

    # -- spans -------------------------------------------------------------------------

    def write_spans(self, spans: Sequence[SpanRecord]) -> None:
        """Store a batch in one transaction; a span stored before is replaced.

        Raises :class:`StoreError` (locked, disk full, server gone…): the writer counts it.
        """
        if not spans:
            return
        rows = []
        mark = time.perf_counter()
        for s in spans:
            rows.append(tuple(self._sql.clean(v) for v in span_row(s, self._dumps)))
            # called from the writer thread: encoding holds the GIL, so hand it back to
            # request threads every 0.5 ms instead of once per switch interval (5 ms)
            if time.perf_counter() - mark > 0.0005:
                time.sleep(0)
                mark = time.perf_counter()
        self._sql.run(None, lambda db: db.executemany(self._upsert_span, rows))

    def list_traces(self, **query: Unpack[TraceQuery]) -> list[TraceSummary]:
        """Root spans, newest first, matching every filter given."""
        sql, params = list_traces_query(self._sql, query)
        return [SUMMARY.decode(r) for r in self._sql.fetch(query.get("tenant"), sql, params)]

    def get_trace(self, trace_id: str, *, tenant: str | None = None) -> list[SpanRecord]:
        """The spans of one trace by start time; ``[]`` if none (for that tenant)."""
        sql, params = get_trace_query(self._sql, trace_id, tenant)
        return [SPAN.decode(r) for r in self._sql.fetch(tenant, sql, params)]

    # -- feedback ----------------------------------------------------------------------

    def add_feedback(self, feedback: Feedback) -> None:
        """Store one piece of feedback; the same id again replaces it."""
        check_feedback_kind(feedback)
        upsert = self._sql.upsert("feedback", FEEDBACK.columns, ("id",))
        values = (
            feedback.id,
            feedback.trace_id,
            feedback.tenant,
            feedback.kind,
            self._sql.clean(feedback.note),
            feedback.created_at,
        )
        self._sql.run(feedback.tenant, lambda db: db.execute(upsert, values))

    def list_feedback(self, **query: Unpack[FeedbackQuery]) -> list[Feedback]:
        """Feedback oldest first, matching every filter given."""
        sql, params = list_feedback_query(self._sql, query)
        return [FEEDBACK.decode(r) for r in self._sql.fetch(query.get("tenant"), sql, params)]

    # -- counters that outlive the process ---------------------------------------------

    def record_drops(self, n: int) -> None:
        """Add ``n`` to the persisted count of dropped spans (raises if locked)."""
        add = (
            f"INSERT INTO trace_stats (name, value) VALUES ('dropped_spans', {self._sql.mark}) "
            "ON CONFLICT (name) DO UPDATE SET value = trace_stats.value + excluded.value"
        )
        self._sql.run(None, lambda db: db.execute(add, (int(n),)), idempotent=False)

    def dropped_spans(self) -> int:
        """Spans that any process's writer dropped, as far as it could record them."""
        rows = self._sql.fetch(None, _DROPPED)
        return int(rows[0][0]) if rows else 0

    def count_traces(self) -> int:
        return int(
            self._sql.fetch(None, "SELECT count(*) FROM spans WHERE parent_id IS NULL")[0][0]
        )

    def count_spans(self) -> int:
        return int(self._sql.fetch(None, "SELECT count(*) FROM spans")[0][0])

    def prune_traces(self, before: float, *, dry_run: bool = False) -> tuple[int, int, int]:
        """Delete traces whose root span started before ``before`` (their spans and
        feedback; spans without a root that started before it too), in one
        transaction: how many (traces, spans, feedback items); ``dry_run`` deletes
        nothing."""
        m = self._sql.mark
        old = f"SELECT trace_id FROM spans WHERE parent_id IS NULL AND start < {m}"
        orphans = (
            f"start < {m} AND trace_id NOT IN (SELECT trace_id FROM spans WHERE parent_id IS NULL)"
        )

        def work(db: Statements) -> tuple[int, int, int]:
            def count(sql: str, *params: object) -> int:
                return int(db.execute(sql, params).fetchone()[0])

            traces = count(f"SELECT count(*) FROM ({old}) AS t", before)
            spans = count(f"SELECT count(*) FROM spans WHERE trace_id IN ({old})", before)
            spans += count(f"SELECT count(*) FROM spans WHERE {orphans}", before)
            feedback = count(f"SELECT count(*) FROM feedback WHERE trace_id IN ({old})", before)
            if not dry_run:
                db.execute(f"DELETE FROM feedback WHERE trace_id IN ({old})", (before,))
                db.execute(f"DELETE FROM spans WHERE {orphans}", (before,))
                db.execute(f"DELETE FROM spans WHERE trace_id IN ({old})", (before,))
            return traces, spans, feedback

        return self._sql.run(None, work)

    def close(self) -> None:
        self._sql.close()
