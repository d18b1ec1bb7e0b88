"""``PostgresConversationStore``: conversation history in the PostgreSQL database.

The shared :class:`~ragline.store.sql._conversations.SQLConversationStore` on a
:class:`PostgresStore`'s pool. Tables come from migration ``0009_conversations`` (see
:mod:`._migrations`), with row-level security like the document tables: every call
runs in a transaction that has set ``ragline.tenant``, so a query sees only that
tenant's rows even without its ``WHERE tenant``. ``append_turn``'s ``UPDATE
conversations SET turns = turns + 1`` row-locks the conversation, so concurrent
appends (threads, processes, servers) queue on it and get consecutive indexes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ragline.store._conversation_rows import Clock
from ragline.store.postgres._dialect import PostgresDialect
from ragline.store.sql._conversations import SQLConversationStore

if TYPE_CHECKING:
    from ragline.store.postgres._documents import PostgresStore


class PostgresConversationStore(SQLConversationStore):
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
        sql = PostgresDialect(url_or_store, max_connections=max_connections)
        super().__init__(sql, clock=clock)
