"""``conversation_store_for``: the conversation store that goes with a document store."""

from __future__ import annotations

from typing import Any

from ragline.store._conversations import ConversationStore


def conversation_store_for(store: Any, *, busy_timeout_ms: int = 5_000) -> ConversationStore:
    """Where a project's conversations live, next to its documents.

    A SQLite store on a file gets a :class:`SQLiteConversationStore` on the same file
    (its own connection); a :class:`PostgresStore` gets a
    :class:`PostgresConversationStore` sharing its pool (closing the conversation store
    leaves the document store open); anything else (``memory://``,
    ``sqlite://:memory:``, injected test stores) gets an in-memory one, which forgets
    everything when the process exits.
    """
    path = getattr(store, "path", None)
    if type(store).__name__ == "SQLiteStore" and isinstance(path, str) and path != ":memory:":
        from ragline.store._conversations_sqlite import SQLiteConversationStore

        return SQLiteConversationStore(path, busy_timeout_ms=busy_timeout_ms)
    if type(store).__name__ == "PostgresStore":
        from ragline.store._postgres_conversations import PostgresConversationStore

        return PostgresConversationStore(store)
    from ragline.store._conversations_memory import MemoryConversationStore

    return MemoryConversationStore()
