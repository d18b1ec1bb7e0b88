"""``SQLiteConversationStore``: conversation history in the project's SQLite file.

The shared :class:`~ragline.store.sql._conversations.SQLConversationStore` on a
connection of its own to the database file the document store uses (WAL, so readers
never wait for writers), with a busy timeout: a writer waits for another process's
write rather than failing. Tables come from migration ``0009_conversations``;
``append_turn`` is one ``BEGIN IMMEDIATE`` transaction, so concurrent writers
(threads or processes) get consecutive indexes and never the same one.
"""

from __future__ import annotations

from pathlib import Path

from ragline.store._conversation_rows import Clock
from ragline.store.sql._conversations import SQLConversationStore
from ragline.store.sqlite._connect import SQLiteDialect, file_database


class SQLiteConversationStore(SQLConversationStore):
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
        db = file_database(
            self.path, "conversation", busy_timeout_ms=busy_timeout_ms, foreign_keys=True
        )
        super().__init__(SQLiteDialect(db), clock=clock)
