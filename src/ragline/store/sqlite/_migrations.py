"""Schema migrations: an ordered list of named steps, each applied once, in order.

Every step runs in its own transaction together with the row that records it in the
``migrations`` table, so a step is either fully applied and recorded or not at all,
and opening a database twice (or from two processes at once) never re-applies one.

To change the schema, append a step to :data:`MIGRATIONS` (never edit or reorder
an existing one)::

    MIGRATIONS.append(Migration("0004_traces", "CREATE TABLE traces (...);"))

A step is SQL text (one or more statements; triggers are fine) or a function
taking the connection, for changes SQL alone cannot express.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ragline.errors import StoreError
from ragline.store.sqlite._schema import (
    ALERTS_SQL,
    CLAIMS_SQL,
    CONVERSATIONS_SQL,
    CORE_SQL,
    EVAL_SQL,
    FEEDBACK_SQL,
    FTS_SQL,
    GENERATIONS_SQL,
    MEMORY_SQL,
    PROMPTS_SQL,
    RESPONSE_CACHE_SQL,
    ROLLUPS_SQL,
    SENTENCES_SQL,
    TICKETS_SQL,
    TRACES_SQL,
)

Step = str | Callable[[sqlite3.Connection], None]


@dataclass(frozen=True, slots=True)
class Migration:
    name: str
    step: Step


def split_sql(script: str) -> list[str]:
    """Split a script into complete statements (``CREATE TRIGGER … END;`` stays whole)."""
    statements: list[str] = []
    buf = ""
    for piece in script.split(";"):
        buf += piece + ";"
        if sqlite3.complete_statement(buf):
            if buf.strip(" \t\r\n;"):
                statements.append(buf.strip())
            buf = ""
    if buf.strip(" \t\r\n;"):
        raise StoreError(f"incomplete SQL statement in migration: {buf.strip()[:80]!r}")
    return statements


def _bm25_terms(conn: sqlite3.Connection) -> None:
    """Term-count blobs for the in-memory BM25 index; backfills existing chunks."""
    from ragline.store.sqlite._index import term_blobs

    conn.execute("CREATE TABLE bm25_terms (id INTEGER PRIMARY KEY, term TEXT NOT NULL UNIQUE)")
    conn.execute("ALTER TABLE chunks ADD COLUMN term_counts BLOB")
    while True:
        rows = conn.execute(
            "SELECT pk, indexed_text FROM chunks WHERE term_counts IS NULL LIMIT 1000"
        ).fetchall()
        if not rows:
            break
        blobs = term_blobs(conn, [r[1] for r in rows])
        conn.executemany(
            "UPDATE chunks SET term_counts = ? WHERE pk = ?",
            [(b, r[0]) for b, r in zip(blobs, rows, strict=True)],
        )


def _replicas(conn: sqlite3.Connection) -> None:
    """Nothing on SQLite: PostgreSQL's 0019 holds the rate limits replicas share; one
    SQLite server keeps them in memory. Kept so both lists number alike."""


MIGRATIONS: list[Migration] = [
    Migration("0001_documents_chunks", CORE_SQL),
    Migration("0002_chunks_fts", FTS_SQL),
    Migration("0003_tenant_generations", GENERATIONS_SQL),
    Migration("0004_bm25_terms", _bm25_terms),
    Migration("0005_response_cache", RESPONSE_CACHE_SQL),  # ragline.models response cache
    Migration("0006_traces", TRACES_SQL),  # ragline.trace: spans and traces
    Migration("0007_feedback", FEEDBACK_SQL),  # ragline.trace: user feedback
    Migration("0008_eval_runs", EVAL_SQL),  # ragline.evals: runs and per-case results
    Migration("0009_conversations", CONVERSATIONS_SQL),  # POST /v1/chat history
    Migration("0010_sentence_vectors", SENTENCES_SQL),  # extractive answers' sentence vectors
    Migration("0011_document_claims", CLAIMS_SQL),  # ragline.ingest: one run per document
    Migration("0012_rollups", ROLLUPS_SQL),  # ragline.monitor: per-minute rollups
    Migration("0013_alerts", ALERTS_SQL),  # ragline.monitor: alert states, history, silences
    Migration("0014_prompts", PROMPTS_SQL),  # ragline.prompts: versions and labels
    Migration("0015_memory", MEMORY_SQL),  # ragline.agent: long-term memory per user
    Migration("0016_tickets", TICKETS_SQL),  # ragline.agent: hand-off tickets
    Migration("0019_replicas", _replicas),  # PostgreSQL only: shared rate limits
]


def _ensure_table(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
    )


def applied_migrations(conn: sqlite3.Connection) -> list[str]:
    """Names of the applied migrations, in the order they were applied."""
    _ensure_table(conn)
    rows = conn.execute("SELECT name FROM migrations ORDER BY applied_at, rowid").fetchall()
    return [str(r[0]) for r in rows]


def apply_migrations(
    conn: sqlite3.Connection, migrations: Sequence[Migration] | None = None
) -> list[str]:
    """Apply the steps not applied yet, in order; return the names applied now.

    ``conn`` must be in autocommit mode (``isolation_level=None``).
    """
    steps = MIGRATIONS if migrations is None else migrations
    names = [m.name for m in steps]
    if len(set(names)) != len(names):
        raise StoreError("two migrations share a name", hint="give every migration a unique name")
    _ensure_table(conn)
    done = set(applied_migrations(conn))
    applied: list[str] = []
    for migration in steps:
        if migration.name in done:
            continue
        try:
            conn.execute("BEGIN IMMEDIATE")
            # Another process may have applied it since we looked.
            if conn.execute(
                "SELECT 1 FROM migrations WHERE name = ?", (migration.name,)
            ).fetchone():
                conn.execute("COMMIT")
                continue
            if isinstance(migration.step, str):
                for statement in split_sql(migration.step):
                    conn.execute(statement)
            else:
                migration.step(conn)
            conn.execute(
                "INSERT INTO migrations (name, applied_at) VALUES (?, ?)",
                (migration.name, time.time()),
            )
            conn.execute("COMMIT")
        except Exception as e:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StoreError(
                f"database migration {migration.name!r} failed: {e}",
                hint="the database may be from a newer ragline or damaged; back it up, "
                "then upgrade ragline or re-ingest into a new file",
            ) from e
        applied.append(migration.name)
    return applied
