"""SQLite schema of the trace and feedback tables (migrations 0006 and 0007).

Owned by ``ragline.trace``. Once a migration has shipped, never edit its SQL: add a
new migration instead.

- ``spans``: one row per span. The columns ``traces list`` filters on are real
  columns (tenant, start, duration, status, name); the root span of a trace
  (``parent_id IS NULL``) is its summary row, indexed by (tenant, start) and start.
  ``search`` is the lower-cased question and answer of a root span, for text search.
  ``attributes`` and ``events`` are JSON.
- ``trace_stats``: counters that must survive the process, e.g. ``dropped_spans``
  (spans a writer could not store), shown by ``ragline doctor``.
- ``feedback``: user reports linked to a trace.
"""

from __future__ import annotations

TRACES_SQL = """
CREATE TABLE spans (
    trace_id    TEXT NOT NULL,
    span_id     TEXT NOT NULL,
    parent_id   TEXT,
    tenant      TEXT NOT NULL,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    start       REAL NOT NULL,
    end_time    REAL NOT NULL,
    duration_ms REAL NOT NULL,
    status      TEXT NOT NULL,
    question    TEXT,
    search      TEXT,
    attributes  TEXT NOT NULL DEFAULT '{}',
    events      TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (trace_id, span_id)
);
CREATE INDEX spans_roots_tenant ON spans (tenant, start) WHERE parent_id IS NULL;
CREATE INDEX spans_roots_start ON spans (start) WHERE parent_id IS NULL;
CREATE TABLE trace_stats (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL DEFAULT 0
);
"""

FEEDBACK_SQL = """
CREATE TABLE feedback (
    id          TEXT PRIMARY KEY,
    trace_id    TEXT NOT NULL,
    tenant      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    note        TEXT,
    created_at  REAL NOT NULL
);
CREATE INDEX feedback_tenant ON feedback (tenant, created_at);
CREATE INDEX feedback_trace ON feedback (trace_id);
"""
