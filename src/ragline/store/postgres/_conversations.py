"""``PostgresConversationStore``: conversation history in the PostgreSQL database.

Tables come from migration ``0009_conversations`` (see :mod:`._migrations`),
with row-level security like the document tables. Every call goes through
:meth:`PostgresStore.run` with the call's tenant, so each statement runs in a
transaction that has set ``ragline.tenant``: a query sees only that tenant's rows even
without its ``WHERE tenant``. ``append_turn`` is one transaction: ``UPDATE
conversations SET turns = turns + 1 … RETURNING turns`` row-locks the conversation, so
concurrent appends (threads, processes, servers) queue on it and get consecutive
indexes; it is never retried (a lost connection could have committed it).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ragline.store._conversation_rows import (
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

if TYPE_CHECKING:
    import psycopg

    from ragline.store.postgres._documents import PostgresStore

CONV_COLS = "id, tenant, created_at, updated_at, title, turns, metadata::text"
TURN_COLS = "conversation_id, idx, role, content, created_at, trace_id, citations::text"


def _unstorable(*texts: Any) -> bool:
    """A key no row can have (PostgreSQL text cannot hold NUL): behaves as unknown."""
    return any(not isinstance(t, str) or "\x00" in t for t in texts)


class PostgresConversationStore:
    """Conversations in a ragline PostgreSQL database.

    ``PostgresConversationStore("postgresql://…")`` opens its own small pool (and applies
    migrations); ``PostgresConversationStore(store)`` shares a :class:`PostgresStore`'s
    pool (and ``close`` leaves it open).
    """

    def __init__(
        self,
        url_or_store: str | PostgresStore,
        *,
        max_connections: int = 2,
        clock: Clock | None = None,
    ) -> None:
        from ragline.store.postgres._documents import PostgresStore

        self._clock: Clock = clock or time.time
        if isinstance(url_or_store, PostgresStore):
            self._store = url_or_store
            self._owns = False
        else:
            self._store = PostgresStore(url_or_store, max_connections=max_connections)
            self._owns = True

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

        def create(conn: psycopg.Connection[Any]) -> bool:
            row = conn.execute(
                "INSERT INTO conversations (tenant, id, title, metadata, created_at, updated_at)"
                " VALUES (%s, %s, %s, %s::jsonb, %s, %s) ON CONFLICT (tenant, id) DO NOTHING"
                " RETURNING id",
                (tenant, cid, title, meta_json, now, now),
            ).fetchone()
            return row is not None

        # not retried: after a lost connection a retry would call our own row a duplicate
        if not self._store.run(tenant, create, idempotent=False):
            raise duplicate(cid)
        return Conversation(
            id=cid, tenant=tenant, created_at=now, updated_at=now, title=title, metadata=meta
        )

    def get_conversation(self, tenant: str, conversation_id: str) -> Conversation | None:
        if _unstorable(tenant, conversation_id):
            return None
        row = self._store.run(
            tenant,
            lambda conn: conn.execute(
                f"SELECT {CONV_COLS} FROM conversations WHERE tenant = %s AND id = %s",
                (tenant, conversation_id),
            ).fetchone(),
        )
        return conversation_from_row(row) if row else None

    def list_conversations(self, tenant: str, *, limit: int = 50) -> list[Conversation]:
        rows = self._store.run(
            tenant,
            lambda conn: conn.execute(
                f"SELECT {CONV_COLS} FROM conversations WHERE tenant = %s "
                "ORDER BY updated_at DESC, id DESC LIMIT %s",
                (tenant, max(0, int(limit))),
            ).fetchall(),
        )
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
        if _unstorable(tenant, conversation_id):
            raise unknown(conversation_id)

        def append(conn: psycopg.Connection[Any]) -> tuple[int, float] | None:
            now = self._clock()
            row = conn.execute(
                "UPDATE conversations SET turns = turns + 1, updated_at = %s "
                "WHERE tenant = %s AND id = %s RETURNING turns",
                (now, tenant, conversation_id),
            ).fetchone()
            if row is None:
                return None
            index = int(row[0]) - 1
            conn.execute(
                "INSERT INTO conversation_turns (tenant, conversation_id, idx, role, content,"
                " created_at, trace_id, citations)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb)",
                (tenant, conversation_id, index, role, content, now, trace_id, cites_json),
            )
            return index, now

        done = self._store.run(tenant, append, idempotent=False)
        if done is None:
            raise unknown(conversation_id)
        index, now = done
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
        if n == 0 or _unstorable(tenant, conversation_id):
            return []
        sql = (
            f"SELECT {TURN_COLS} FROM conversation_turns WHERE tenant = %s AND conversation_id = %s"
        )
        params: list[Any] = [tenant, conversation_id]
        if n is not None:
            sql += " AND idx >= (SELECT turns FROM conversations "
            sql += "WHERE tenant = %s AND id = %s) - %s"
            params += [tenant, conversation_id, n]
        rows = self._store.run(
            tenant, lambda conn: conn.execute(sql + " ORDER BY idx", params).fetchall()
        )
        return [turn_from_row(r) for r in rows]

    def delete_conversation(self, tenant: str, conversation_id: str) -> bool:
        if _unstorable(tenant, conversation_id):
            return False
        row = self._store.run(
            tenant,
            lambda conn: conn.execute(
                "DELETE FROM conversations WHERE tenant = %s AND id = %s RETURNING id",
                (tenant, conversation_id),
            ).fetchone(),
        )
        return row is not None  # its turns go with it (ON DELETE CASCADE)

    def close(self) -> None:
        if self._owns:
            self._store.close()
