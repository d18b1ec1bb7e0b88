"""``SQLiteConversationStore``: conversation history in the project's SQLite file.

Like :class:`~ragline.store.sqlite._traces.SQLiteTraceStore` it opens its *own* connection to
the database file the document store uses (WAL, so readers never wait for writers),
with a busy timeout: a writer waits for another process's write rather than failing.
Tables come from migration ``0009_conversations``. ``append_turn`` is one
``BEGIN IMMEDIATE`` transaction that bumps the conversation's turn count and inserts
the turn at the old count, so concurrent writers (threads or processes) get
consecutive indexes and never the same one.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ragline.errors import StoreError
from ragline.store._conversation_rows import (
    CONV_COLS,
    TURN_COLS,
    Clock,
    check_last,
    check_metadata,
    check_new_id,
    check_tenant,
    check_text,
    check_turn,
    conversation_from_row,
    duplicate,
    new_conversation_id,
    turn_from_row,
    unknown,
)
from ragline.store._conversations import Conversation, Role, Turn
from ragline.store.sqlite._connect import Database


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
        self._db = Database(
            self.path,
            what="conversation store",
            busy_timeout_ms=busy_timeout_ms,
            foreign_keys=True,
            allow_memory=False,
        )

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
        with self._db.transaction() as conn:
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
        with self._db.transaction(write=False) as conn:
            row = conn.execute(
                f"SELECT {CONV_COLS} FROM conversations WHERE tenant = ? AND id = ?",
                (tenant, conversation_id),
            ).fetchone()
        return conversation_from_row(row) if row else None

    def list_conversations(self, tenant: str, *, limit: int = 50) -> list[Conversation]:
        with self._db.transaction(write=False) as conn:
            rows = conn.execute(
                f"SELECT {CONV_COLS} FROM conversations WHERE tenant = ? "
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
        with self._db.transaction() as conn:
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
        sql = f"SELECT {TURN_COLS} FROM conversation_turns WHERE tenant = ? "
        sql += "AND conversation_id = ?"
        params: list[Any] = [tenant, conversation_id]
        if n is not None:
            sql += " AND idx >= (SELECT turns FROM conversations "
            sql += "WHERE tenant = ? AND id = ?) - ?"
            params += [tenant, conversation_id, n]
        with self._db.transaction(write=False) as conn:
            rows = conn.execute(sql + " ORDER BY idx", params).fetchall()
        return [turn_from_row(r) for r in rows]

    def delete_conversation(self, tenant: str, conversation_id: str) -> bool:
        with self._db.transaction() as conn:
            conn.execute(
                "DELETE FROM conversation_turns WHERE tenant = ? AND conversation_id = ?",
                (tenant, conversation_id),
            )
            cur = conn.execute(
                "DELETE FROM conversations WHERE tenant = ? AND id = ?", (tenant, conversation_id)
            )
            return cur.rowcount == 1

    def close(self) -> None:
        self._db.close()
