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
from pathlib import Path

from ragline.errors import StoreError
from ragline.store._schema_conversations import CONVERSATIONS_SQL
from ragline.store._schema_evals import EVAL_SQL
from ragline.store._schema_sentences import SENTENCES_SQL
from ragline.store._schema_traces import FEEDBACK_SQL, TRACES_SQL

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


_CORE = """
CREATE TABLE documents (
    tenant       TEXT NOT NULL,
    id           TEXT NOT NULL,
    source       TEXT NOT NULL,
    title        TEXT NOT NULL,
    doc_type     TEXT,
    language     TEXT,
    content_hash TEXT NOT NULL,
    embedder     TEXT,
    metadata     TEXT NOT NULL DEFAULT '{}',
    chunk_count  INTEGER NOT NULL DEFAULT 0,
    updated_at   REAL NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE TABLE chunks (
    pk           INTEGER PRIMARY KEY,
    tenant       TEXT NOT NULL,
    id           TEXT NOT NULL,
    document_id  TEXT NOT NULL,
    ordinal      INTEGER NOT NULL,
    text         TEXT NOT NULL,
    title        TEXT NOT NULL,
    section_path TEXT NOT NULL DEFAULT '[]',
    page         INTEGER,
    language     TEXT,
    doc_type     TEXT,
    source       TEXT NOT NULL DEFAULT '',
    content_hash TEXT NOT NULL DEFAULT '',
    metadata     TEXT NOT NULL DEFAULT '{}',
    indexed_text TEXT NOT NULL,
    embedding    BLOB NOT NULL,
    UNIQUE (tenant, id),
    FOREIGN KEY (tenant, document_id) REFERENCES documents (tenant, id) ON DELETE CASCADE
);
CREATE INDEX chunks_tenant ON chunks (tenant);
CREATE INDEX chunks_document ON chunks (tenant, document_id, ordinal);
CREATE INDEX chunks_hash ON chunks (tenant, content_hash);
"""

_FTS = """
CREATE VIRTUAL TABLE chunks_fts USING fts5(
    indexed_text,
    content = 'chunks',
    content_rowid = 'pk',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts (rowid, indexed_text) VALUES (new.pk, new.indexed_text);
END;
CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts (chunks_fts, rowid, indexed_text)
    VALUES ('delete', old.pk, old.indexed_text);
END;
CREATE TRIGGER chunks_fts_update AFTER UPDATE OF indexed_text ON chunks BEGIN
    INSERT INTO chunks_fts (chunks_fts, rowid, indexed_text)
    VALUES ('delete', old.pk, old.indexed_text);
    INSERT INTO chunks_fts (rowid, indexed_text) VALUES (new.pk, new.indexed_text);
END;
"""

_GENERATIONS = """
CREATE TABLE tenant_generations (
    tenant     TEXT PRIMARY KEY,
    generation INTEGER NOT NULL DEFAULT 0
);
"""


def _bm25_terms(conn: sqlite3.Connection) -> None:
    """Term-count blobs for the in-memory BM25 index; backfills existing chunks."""
    from ragline.store._sqlite_cache import term_blobs

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


_RESPONSE_CACHE = """
CREATE TABLE response_cache (
    key        TEXT PRIMARY KEY,
    model      TEXT NOT NULL,
    completion TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX response_cache_expires ON response_cache (expires_at);
"""


MIGRATIONS: list[Migration] = [
    Migration("0001_documents_chunks", _CORE),
    Migration("0002_chunks_fts", _FTS),
    Migration("0003_tenant_generations", _GENERATIONS),
    Migration("0004_bm25_terms", _bm25_terms),
    Migration("0005_response_cache", _RESPONSE_CACHE),  # ragline.models response cache
    Migration("0006_traces", TRACES_SQL),  # ragline.trace: spans and traces
    Migration("0007_feedback", FEEDBACK_SQL),  # ragline.trace: user feedback
    Migration("0008_eval_runs", EVAL_SQL),  # ragline.evals: runs and per-case results
    Migration("0009_conversations", CONVERSATIONS_SQL),  # POST /v1/chat history
    Migration("0010_sentence_vectors", SENTENCES_SQL),  # extractive answers' sentence vectors
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


def open_connection(
    path: str,
    *,
    what: str,
    busy_timeout_ms: int,
    foreign_keys: bool = False,
    allow_memory: bool = True,
) -> sqlite3.Connection:
    """One autocommit connection to a ragline SQLite file, migrated, usable from threads.

    WAL + ``synchronous=NORMAL`` on files (a process crash loses nothing committed;
    a power cut may lose the last commits). ``what`` names the store in errors:
    "cannot open {what} 'path': …" with a hint.
    """
    if path == ":memory:" and not allow_memory:
        raise StoreError(f"{what} needs a database file, not ':memory:'")
    if path != ":memory:":
        parent = Path(path).expanduser().resolve().parent
        if not parent.is_dir():
            raise StoreError(
                f"cannot open {what} {path!r}: folder {str(parent)!r} does not exist",
                hint="create the folder or fix the store path in ragline.yaml",
            )
    try:
        conn = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_ms / 1000
        )
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        if foreign_keys:
            conn.execute("PRAGMA foreign_keys = ON")
        if path != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        apply_migrations(conn)
    except sqlite3.Error as e:
        raise StoreError(
            f"cannot open {what} {path!r}: {e}",
            hint="check that the file is a ragline SQLite database and is writable",
        ) from e
    return conn
