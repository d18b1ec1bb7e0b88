"""``SQLConversationStore``: conversation history in SQL, for SQLite and PostgreSQL alike.

Tables ``conversations`` and ``conversation_turns`` from migration
``0009_conversations`` of each backend. ``append_turn`` is one transaction that bumps
the conversation's turn count and inserts the turn at the old count: the ``UPDATE``
takes the conversation's row lock (PostgreSQL) or the database's write lock (SQLite's
``BEGIN IMMEDIATE``) until the commit, so concurrent writers — threads, processes,
servers — queue on it and get consecutive indexes, never the same one. It is never
retried: after a lost connection it may have committed.

On PostgreSQL every call runs with its tenant set, so row-level security keeps a
query to that tenant's rows even without its ``WHERE tenant``.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from ragline.store._conversation_rows import (
    CONVERSATION,
    TURN,
    BaseConversationStore,
    Clock,
    duplicate,
    unknown,
)
from ragline.store._conversations import Conversation, Turn
from ragline.store.sql._dialect import Dialect, Statements

_CONVERSATION_INSERT = ("tenant", "id", "title", "metadata", "created_at", "updated_at")


class SQLConversationStore(BaseConversationStore):
    """Conversations and turns in a ragline SQL database, through ``sql``.

    ``clock`` (default ``time.time``) stamps ``created_at``/``updated_at``.
    """

    def __init__(self, sql: Dialect, *, clock: Clock | None = None) -> None:
        self._sql = sql
        self._clock: Clock = clock or time.time

    def _create(self, draft: Conversation, metadata_json: str) -> Conversation:
        now = self._clock()
        insert = self._sql.insert_new(
            "conversations", _CONVERSATION_INSERT, ("tenant", "id"), json=("metadata",)
        )
        values = (draft.tenant, draft.id, draft.title, metadata_json, now, now)
        # not retried: after a lost connection a retry would call our own row a duplicate
        created = self._sql.run(
            draft.tenant, lambda db: db.execute(insert, values).rowcount == 1, idempotent=False
        )
        if not created:
            raise duplicate(draft.id)
        return replace(draft, created_at=now, updated_at=now)

    def get_conversation(self, tenant: str, conversation_id: str) -> Conversation | None:
        if not self._sql.storable(tenant, conversation_id):
            return None
        m = self._sql.mark
        rows = self._sql.fetch(
            tenant,
            f"SELECT {CONVERSATION.select()} FROM conversations WHERE tenant = {m} AND id = {m}",
            (tenant, conversation_id),
        )
        return CONVERSATION.decode(rows[0]) if rows else None

    def list_conversations(self, tenant: str, *, limit: int = 50) -> list[Conversation]:
        m = self._sql.mark
        rows = self._sql.fetch(
            tenant,
            f"SELECT {CONVERSATION.select()} FROM conversations WHERE tenant = {m} "
            f"ORDER BY updated_at DESC, id DESC LIMIT {m}",
            (tenant, max(0, int(limit))),
        )
        return [CONVERSATION.decode(r) for r in rows]

    def _append(self, tenant: str, draft: Turn, citations_json: str) -> Turn:
        cid = draft.conversation_id
        if not self._sql.storable(tenant, cid):
            raise unknown(cid)
        m = self._sql.mark
        insert = self._sql.insert(
            "conversation_turns", ("tenant", *TURN.columns), json=("citations",)
        )

        def append(db: Statements) -> tuple[int, float] | None:
            now = self._clock()
            bumped = db.execute(
                f"UPDATE conversations SET turns = turns + 1, updated_at = {m} "
                f"WHERE tenant = {m} AND id = {m}",
                (now, tenant, cid),
            )
            if bumped.rowcount != 1:
                return None
            # the lock is held from the UPDATE to the COMMIT: no writer can bump in between
            (count,) = db.execute(
                f"SELECT turns FROM conversations WHERE tenant = {m} AND id = {m}", (tenant, cid)
            ).fetchone()
            index = int(count) - 1
            values = (tenant, cid, index, draft.role, draft.content, now, draft.trace_id)
            db.execute(insert, (*values, citations_json))
            return index, now

        done = self._sql.run(tenant, append, idempotent=False)
        if done is None:
            raise unknown(cid)
        index, now = done
        return replace(draft, index=index, created_at=now)

    def _turns(self, tenant: str, conversation_id: str, last: int | None) -> list[Turn]:
        if last == 0 or not self._sql.storable(tenant, conversation_id):
            return []
        m = self._sql.mark
        sql = f"SELECT {TURN.select()} FROM conversation_turns "
        sql += f"WHERE tenant = {m} AND conversation_id = {m}"
        params: list[Any] = [tenant, conversation_id]
        if last is not None:
            sql += f" AND idx >= (SELECT turns FROM conversations WHERE tenant = {m} AND id = {m})"
            sql += f" - {m}"
            params += [tenant, conversation_id, last]
        return [TURN.decode(r) for r in self._sql.fetch(tenant, sql + " ORDER BY idx", params)]

    def delete_conversation(self, tenant: str, conversation_id: str) -> bool:
        if not self._sql.storable(tenant, conversation_id):
            return False
        m = self._sql.mark
        key = (tenant, conversation_id)

        def delete(db: Statements) -> bool:
            db.execute(
                f"DELETE FROM conversation_turns WHERE tenant = {m} AND conversation_id = {m}",
                key,
            )
            gone = db.execute(f"DELETE FROM conversations WHERE tenant = {m} AND id = {m}", key)
            return gone.rowcount == 1

        return self._sql.run(tenant, delete)

    def close(self) -> None:
        self._sql.close()
