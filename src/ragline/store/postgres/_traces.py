"""``PostgresTraceStore``: spans, feedback and drop counters in the PostgreSQL database.

The tables come from migration ``0007_traces_feedback`` (see
:mod:`._migrations`), with row-level security like the document tables:
reads for one tenant set ``ragline.tenant``; the background writer's batches (spans
of many tenants) and the operator's all-tenant views set ``ragline.all_tenants``
explicitly, so a query that sets neither sees nothing. Each ``write_spans`` batch is
one transaction, idempotent on (trace_id, span_id) (``INSERT … ON CONFLICT DO
UPDATE``), so several server processes can write at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

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
from ragline.store.postgres._dialect import PostgresDialect
from ragline.store.postgres._rows import _dumps, clean_text

if TYPE_CHECKING:
    import psycopg

    from ragline.store.postgres._documents import PostgresStore


_SPAN_COLS = SPAN_COLS + "attributes::text, events::text"
_UPSERT_SPAN = (
    f"INSERT INTO spans ({SPAN_INSERT_COLS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
    "%s, %s, %s::jsonb, %s::jsonb) ON CONFLICT (trace_id, span_id) DO UPDATE SET "
    "parent_id = excluded.parent_id, tenant = excluded.tenant, "
    "name = excluded.name, kind = excluded.kind, start = excluded.start, "
    "end_time = excluded.end_time, duration_ms = excluded.duration_ms, "
    "status = excluded.status, question = excluded.question, "
    "search = excluded.search, attributes = excluded.attributes, "
    "events = excluded.events"
)


def _row(record: SpanRecord) -> tuple[Any, ...]:
    return tuple(clean_text(v) for v in span_row(record, _dumps))


class PostgresTraceStore:
    """Traces and feedback in a ragline PostgreSQL database.

    ``PostgresTraceStore("postgresql://…")`` opens its own small pool (and applies
    migrations); ``PostgresTraceStore(store)`` shares a :class:`PostgresStore`'s pool.
    """

    def __init__(self, url_or_store: str | PostgresStore, *, max_connections: int = 2) -> None:
        self._sql = PostgresDialect(url_or_store, max_connections=max_connections)
        self._store = self._sql.store

    # -- spans -------------------------------------------------------------------------

    def write_spans(self, spans: Sequence[SpanRecord]) -> None:
        """Store a batch in one transaction; a span stored before is replaced."""
        if not spans:
            return
        rows = [_row(s) for s in spans]

        def write(conn: psycopg.Connection[Any]) -> None:
            with conn.cursor() as cur:
                cur.executemany(_UPSERT_SPAN, rows)

        self._store.run(None, write, all_tenants=True)

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
            mark="%s",
            contains="strpos({col}, {mark}) > 0",
            tenant=tenant,
            since=since,
            until=until,
            status=status,
            min_latency_ms=min_latency_ms,
            text=clean_text(text),
            limit=limit,
        )
        return [summary_from_row(r) for r in self._sql.fetch(tenant, sql, params)]

    def get_trace(self, trace_id: str, *, tenant: str | None = None) -> list[SpanRecord]:
        """The spans of one trace by start time; ``[]`` if none (for that tenant)."""
        sql, params = get_trace_query(_SPAN_COLS, "%s", trace_id, tenant)
        return [record_from_row(r) for r in self._sql.fetch(tenant, sql, params)]

    # -- feedback ----------------------------------------------------------------------

    def add_feedback(self, feedback: Feedback) -> None:
        check_feedback_kind(feedback)
        values = (
            feedback.id,
            feedback.trace_id,
            feedback.tenant,
            feedback.kind,
            clean_text(feedback.note),
            feedback.created_at,
        )
        self._store.run(
            feedback.tenant,
            lambda conn: conn.execute(
                "INSERT INTO feedback (id, trace_id, tenant, kind, note, created_at) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET "
                "trace_id = excluded.trace_id, kind = excluded.kind, note = excluded.note, "
                "created_at = excluded.created_at",
                values,
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
        sql, params = list_feedback_query("%s", tenant=tenant, kind=kind, trace_id=trace_id)
        return [feedback_from_row(r) for r in self._sql.fetch(tenant, sql, params)]

    # -- counters that outlive the process ---------------------------------------------

    def record_drops(self, n: int) -> None:
        """Add ``n`` to the persisted count of dropped spans."""
        self._store.run(
            None,
            lambda conn: conn.execute(
                "INSERT INTO trace_stats (name, value) VALUES ('dropped_spans', %s) "
                "ON CONFLICT (name) DO UPDATE SET value = trace_stats.value + excluded.value",
                (int(n),),
            ),
            idempotent=False,
        )

    def dropped_spans(self) -> int:
        rows = self._sql.fetch(None, "SELECT value FROM trace_stats WHERE name = 'dropped_spans'")
        return int(rows[0][0]) if rows else 0

    def count_traces(self) -> int:
        return int(
            self._sql.fetch(None, "SELECT count(*) FROM spans WHERE parent_id IS NULL")[0][0]
        )

    def count_spans(self) -> int:
        return int(self._sql.fetch(None, "SELECT count(*) FROM spans")[0][0])

    def close(self) -> None:
        self._sql.close()
