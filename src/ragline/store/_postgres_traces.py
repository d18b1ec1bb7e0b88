"""``PostgresTraceStore``: spans, feedback and drop counters in the PostgreSQL database.

The tables come from migration ``0007_traces_feedback`` (see
:mod:`._postgres_migrations`), with row-level security like the document tables:
reads for one tenant set ``ragline.tenant``; the background writer's batches (spans
of many tenants) and the operator's all-tenant views set ``ragline.all_tenants``
explicitly, so a query that sets neither sees nothing. Each ``write_spans`` batch is
one transaction, idempotent on (trace_id, span_id) (``INSERT … ON CONFLICT DO
UPDATE``), so several server processes can write at once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ragline.errors import InputError
from ragline.trace._records import FEEDBACK_KINDS, Feedback, SpanRecord, SpanStatus
from ragline.trace._records import TraceSummary as _Summary
from ragline.trace._sqlite import _record, _summary  # the same row layout as SQLite

if TYPE_CHECKING:
    import psycopg

    from ragline.store._postgres import PostgresStore

_SPAN_COLS = "trace_id, span_id, parent_id, name, kind, tenant, start, end_time, status, "
_SPAN_COLS += "attributes::text, events::text"


def _dumps(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))
    return text.replace("\\u0000", "\\ufffd")  # jsonb cannot hold NUL


def _clean(text: str | None) -> str | None:
    return text.replace("\x00", "\ufffd") if text and "\x00" in text else text


def _row(record: SpanRecord) -> tuple[Any, ...]:
    from ragline.trace._sqlite import span_row

    row = list(span_row(record))
    row[12] = _dumps(record.attributes)
    row[13] = _dumps(
        [{"name": e.name, "time": e.time, "attributes": e.attributes} for e in record.events]
    )
    return tuple(_clean(v) if isinstance(v, str) else v for v in row)


class PostgresTraceStore:
    """Traces and feedback in a ragline PostgreSQL database.

    ``PostgresTraceStore("postgresql://…")`` opens its own small pool (and applies
    migrations); ``PostgresTraceStore(store)`` shares a :class:`PostgresStore`'s pool.
    """

    def __init__(self, url_or_store: str | PostgresStore, *, max_connections: int = 2) -> None:
        from ragline.store._postgres import PostgresStore

        if isinstance(url_or_store, PostgresStore):
            self._store = url_or_store
            self._owns = False
        else:
            self._store = PostgresStore(url_or_store, max_connections=max_connections)
            self._owns = True

    def _read(self, tenant: str | None, fn: Any) -> Any:
        return self._store.run(tenant, fn, all_tenants=tenant is None)

    # -- spans -------------------------------------------------------------------------

    def write_spans(self, spans: Sequence[SpanRecord]) -> None:
        """Store a batch in one transaction; a span stored before is replaced."""
        if not spans:
            return
        rows = [_row(s) for s in spans]

        def write(conn: psycopg.Connection[Any]) -> None:
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO spans (trace_id, span_id, parent_id, tenant, name, kind, "
                    "start, end_time, duration_ms, status, question, search, attributes, "
                    "events) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
                    "%s::jsonb, %s::jsonb) ON CONFLICT (trace_id, span_id) DO UPDATE SET "
                    "parent_id = excluded.parent_id, tenant = excluded.tenant, "
                    "name = excluded.name, kind = excluded.kind, start = excluded.start, "
                    "end_time = excluded.end_time, duration_ms = excluded.duration_ms, "
                    "status = excluded.status, question = excluded.question, "
                    "search = excluded.search, attributes = excluded.attributes, "
                    "events = excluded.events",
                    rows,
                )

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
    ) -> list[_Summary]:
        """Root spans, newest first, matching every filter given."""
        where = ["r.parent_id IS NULL"]
        params: list[Any] = []
        for clause, value in (
            ("r.tenant = %s", tenant),
            ("r.start >= %s", since),
            ("r.start <= %s", until),
            ("r.status = %s", status),
            ("r.duration_ms >= %s", min_latency_ms),
        ):
            if value is not None:
                where.append(clause)
                params.append(value)
        if text:
            where.append("strpos(r.search, %s) > 0")
            params.append(_clean(text.lower()))
        params.append(max(0, int(limit)))
        sql = (
            "SELECT r.trace_id, r.tenant, r.name, r.start, r.duration_ms, r.status, r.question,"
            " (SELECT count(*) FROM spans s WHERE s.trace_id = r.trace_id)"
            f" FROM spans r WHERE {' AND '.join(where)} ORDER BY r.start DESC LIMIT %s"
        )
        rows = self._read(tenant, lambda conn: conn.execute(sql, params).fetchall())
        return [_summary(r) for r in rows]

    def get_trace(self, trace_id: str, *, tenant: str | None = None) -> list[SpanRecord]:
        """The spans of one trace by start time; ``[]`` if none (for that tenant)."""
        sql = f"SELECT {_SPAN_COLS} FROM spans WHERE trace_id = %s"
        params: list[Any] = [trace_id]
        if tenant is not None:
            sql += " AND tenant = %s"
            params.append(tenant)
        sql += " ORDER BY start, end_time DESC"
        rows = self._read(tenant, lambda conn: conn.execute(sql, params).fetchall())
        return [_record(r) for r in rows]

    # -- feedback ----------------------------------------------------------------------

    def add_feedback(self, feedback: Feedback) -> None:
        if feedback.kind not in FEEDBACK_KINDS:
            raise InputError(
                f"unknown feedback kind {feedback.kind!r}",
                hint=f"use one of: {', '.join(FEEDBACK_KINDS)}",
            )
        values = (
            feedback.id,
            feedback.trace_id,
            feedback.tenant,
            feedback.kind,
            _clean(feedback.note),
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
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("tenant", tenant), ("kind", kind), ("trace_id", trace_id)):
            if value is not None:
                where.append(f"{column} = %s")
                params.append(value)
        sql = "SELECT id, trace_id, tenant, kind, note, created_at FROM feedback"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at, id"
        rows = self._read(tenant, lambda conn: conn.execute(sql, params).fetchall())
        return [Feedback(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]

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
        row = self._store.run(
            None,
            lambda conn: conn.execute(
                "SELECT value FROM trace_stats WHERE name = 'dropped_spans'"
            ).fetchone(),
        )
        return int(row[0]) if row else 0

    def count_traces(self) -> int:
        row = self._read(
            None,
            lambda conn: conn.execute(
                "SELECT count(*) FROM spans WHERE parent_id IS NULL"
            ).fetchone(),
        )
        return int(row[0])

    def count_spans(self) -> int:
        row = self._read(None, lambda conn: conn.execute("SELECT count(*) FROM spans").fetchone())
        return int(row[0])

    def close(self) -> None:
        if self._owns:
            self._store.close()
