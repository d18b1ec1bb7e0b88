"""SQLite schema of the conversation tables (migration 0009).

Owned by ``ragline.store``'s conversation stores (``POST /v1/chat`` history). Once a
migration has shipped, never edit its SQL: add a new migration instead.

- ``conversations``: one row per (tenant, id): title, metadata (JSON), timestamps
  and ``turns``, the number of turns stored. ``append_turn`` bumps ``turns`` and
  inserts the turn with index ``turns - 1`` in one write transaction, so two writers
  never get the same index.
- ``conversation_turns``: one row per (tenant, conversation, index); ``citations`` is
  a JSON array of objects.
"""

from __future__ import annotations

CONVERSATIONS_SQL = """
CREATE TABLE conversations (
    tenant     TEXT NOT NULL,
    id         TEXT NOT NULL,
    title      TEXT NOT NULL DEFAULT '',
    metadata   TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    turns      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX conversations_recent ON conversations (tenant, updated_at);
CREATE TABLE conversation_turns (
    tenant          TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    idx             INTEGER NOT NULL,
    role            TEXT NOT NULL,
    content         TEXT NOT NULL,
    created_at      REAL NOT NULL,
    trace_id        TEXT,
    citations       TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (tenant, conversation_id, idx),
    FOREIGN KEY (tenant, conversation_id) REFERENCES conversations (tenant, id)
        ON DELETE CASCADE
);
"""
