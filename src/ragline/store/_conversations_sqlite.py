"""``SQLiteConversationStore``: conversation history in the project's SQLite file.

Like :class:`~ragline.trace._sqlite.SQLiteTraceStore` it opens its *own* connection to
the database file the document store uses (WAL, so readers never wait for writers),
with a busy timeout: a writer waits for another process's write rather than failing.
Tables come from migration ``0009_conversations``. ``append_turn`` is one
``BEGIN IMMEDIATE`` transaction that bumps the conversation's turn count and inserts
the turn at the old count, so concurrent writers (threads or processes) get
consecutive indexes and never the same one.
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

from ragline.errors import StoreError
from ragline.store._conversations import Conversation, Role, Turn
from ragline.store._conversations_memory import (
    Clock,
    check_last,
    check_metadata,
    check_new_id,
    check_tenant,
    check_text,
    check_turn,
    duplicate,
    new_conversation_id,
    unknown,
)
from ragline.store._migrations import open_connection

_CONV_COLS = "id, tenant, created_at, updated_at, title, turns, metadata"
_TURN_COLS = "conversation_id, idx, role, content, created_at, trace_id, citations"


def conversation_from_row(row: Sequence[Any]) -> Conversation:
    meta = row[6]
    return Conversation(
        id=row[0],
        tenant=row[1],
        created_at=float(row[2]),
        updated_at=float(row[3]),
        title=row[4],
        turns=int(row[5]),
        metadata=json.loads(meta) if isinstance(meta, str) else dict(meta),
    )


def turn_from_row(row: Sequence[Any]) -> Turn:
    cites = row[6]
    return Turn(
        conversation_id=row[0],
        index=int(row[1]),
        role="assistant" if row[2] == "assistant" else "user",
        content=row[3],
        created_at=float(row[4]),
        trace_id=row[5],
        citations=json.loads(cites) if isinstance(cites, str) else list(cites),
    )


class SQLiteConversationStore:
    """Conversations and turns in a ragline SQLite database (the store's file).

    >>> conversations = SQLiteConversationStore("ragline.db")       # doctest: +SKIP
    >>> c = conversations.create_conversation("acme")                 # doctest: +SKIP
    >>> conversations.append_turn("acme", c.id, "user", "Hi").index   # doctest: +SKIP
    0
    """

    def __init__(
        self, path: str | Path, *, busy_timeout_ms: int = 5_000, clock: Clock | None = None
    ) -> None:
        self.path = str(path)
        self._clock: Clock = clock or time.time
        if self.path == ":memory:":
            raise StoreError(
                "SQLiteConversationStore needs a database file, not ':memory:'",
                hint="use MemoryConversationStore for an in-memory store",
            )
        self._conn = open_connection(
            self.path,
            what="conversation store",
            busy_timeout_ms=busy_timeout_ms,
            foreign_keys=True,
            allow_memory=False,
        )
        self._lock = threading.Lock()
        self._closed = False

    @contextmanager
    def _tx(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._closed:
                raise StoreError(
                    f"conversation store {self.path!r} is closed", hint="open a new store"
                )
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                yield conn
                conn.execute("COMMIT")
            except BaseException as e:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(e, sqlite3.Error):
                    hint = (
                        "another process held the database too long; try again"
                        if "locked" in str(e) or "busy" in str(e)
                        else "check the database file (disk full, permissions, corruption)"
                    )
                    raise StoreError(f"conversation store {self.path!r}: {e}", hint=hint) from e
                raise

    def create_conversation(
        self,
        tenant: str,
        *,
        conversation_id: str | None = None,
        title: str = "",
        metadata: dict[str, Any] | None = None,
    ) -> Conversation:
        check_tenant(tenant)
        cid = new_conversation_id() if conversation_id is None else check_new_id(conversation_id)
        check_text(title, "title")
        meta, meta_json = check_metadata(metadata)
        now = self._clock()
        with self._tx(write=True) as conn:
            cur = conn.execute(
                "INSERT INTO conversations (tenant, id, title, metadata, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, id) DO NOTHING",
                (tenant, cid, title, meta_json, now, now),
            )
            if cur.rowcount != 1:
                raise duplicate(cid)
        return Conversation(
            id=cid, tenant=tenant, created_at=now, updated_at=now, title=title, metadata=meta
        )

    def get_conversation(self, tenant: str, conversation_id: str) -> Conversation | None:
        with self._tx(write=False) as conn:
            row = conn.execute(
                f"SELECT {_CONV_COLS} FROM conversations WHERE tenant = ? AND id = ?",
                (tenant, conversation_id),
            ).fetchone()
        return conversation_from_row(row) if row else None

    def list_conversations(self, tenant: str, *, limit: int = 50) -> list[Conversation]:
        with self._tx(write=False) as conn:
            rows = conn.execute(
                f"SELECT {_CONV_COLS} FROM conversations WHERE tenant = ? "
                "ORDER BY updated_at DESC, id DESC LIMIT ?",
                (tenant, max(0, int(limit))),
            ).fetchall()
        return [conversation_from_row(r) for r in rows]

    def append_turn(
        self,
        tenant: str,
        conversation_id: str,
        role: Role,
        content: str,
        *,
        trace_id: str | None = None,
        citations: list[dict[str, Any]] | None = None,
    ) -> Turn:
        cites, cites_json = check_turn(role, content, trace_id, citations)
        with self._tx(write=True) as conn:
            now = self._clock()
            # the write lock (BEGIN IMMEDIATE) is held from here to COMMIT: no other
            # writer can bump the count in between (no RETURNING: SQLite < 3.35)
            cur = conn.execute(
                "UPDATE conversations SET turns = turns + 1, updated_at = ? "
                "WHERE tenant = ? AND id = ?",
                (now, tenant, conversation_id),
            )
            if cur.rowcount != 1:
                raise unknown(conversation_id)
            row = conn.execute(
                "SELECT turns FROM conversations WHERE tenant = ? AND id = ?",
                (tenant, conversation_id),
            ).fetchone()
            index = int(row[0]) - 1
            conn.execute(
                "INSERT INTO conversation_turns (tenant, conversation_id, idx, role, content,"
                " created_at, trace_id, citations) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (tenant, conversation_id, index, role, content, now, trace_id, cites_json),
            )
        return Turn(
            conversation_id=conversation_id,
            index=index,
            role=role,
            content=content,
            created_at=now,
            trace_id=trace_id,
            citations=cites,
        )

    def turns(self, tenant: str, conversation_id: str, *, last: int | None = None) -> list[Turn]:
        n = check_last(last)
        if n == 0:
            return []
        sql = f"SELECT {_TURN_COLS} FROM conversation_turns WHERE tenant = ? "
        sql += "AND conversation_id = ?"
        params: list[Any] = [tenant, conversation_id]
        if n is not None:
            sql += " AND idx >= (SELECT turns FROM conversations "
            sql += "WHERE tenant = ? AND id = ?) - ?"
            params += [tenant, conversation_id, n]
        with self._tx(write=False) as conn:
            rows = conn.execute(sql + " ORDER BY idx", params).fetchall()
        return [turn_from_row(r) for r in rows]

    def delete_conversation(self, tenant: str, conversation_id: str) -> bool:
        with self._tx(write=True) as conn:
            conn.execute(
                "DELETE FROM conversation_turns WHERE tenant = ? AND conversation_id = ?",
                (tenant, conversation_id),
            )
            cur = conn.execute(
                "DELETE FROM conversations WHERE tenant = ? AND id = ?", (tenant, conversation_id)
            )
            return cur.rowcount == 1

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()
