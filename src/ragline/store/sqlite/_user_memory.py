"""``SQLiteUserMemoryStore``: user memory in the project's SQLite file.

The shared :class:`~ragline.store.sql._user_memory.SQLUserMemoryStore` on a connection
of its own to the store's file (WAL), table ``memory_items`` from migration
``0015_memory``. Forgetting must not leave the text on disk: the connection runs with
``PRAGMA secure_delete = ON`` (SQLite overwrites a deleted row's bytes with zeros
instead of leaving them in a free page), and after a delete it checkpoints the WAL
and truncates it (``wal_checkpoint(TRUNCATE)``), so the old page images that still
held the text are gone from the ``-wal`` file too. The checkpoint is best effort: a
long read in another process may hold it back until that reader finishes, and the
next forget (or any later checkpoint) completes it.
"""

from __future__ import annotations

from pathlib import Path

from ragline.store._user_memory import Clock
from ragline.store.sql._user_memory import SQLUserMemoryStore
from ragline.store.sqlite._connect import SQLiteDialect, file_database


class SQLiteUserMemoryStore(SQLUserMemoryStore):
    """User memory in a ragline SQLite database (the store's file)."""

    def __init__(
        self, path: str | Path, *, busy_timeout_ms: int = 5_000, clock: Clock | None = None
    ) -> None:
        self.path = str(path)
        self._db = file_database(self.path, "memory", busy_timeout_ms=busy_timeout_ms)
        with self._db.lock:
            self._db.conn.execute("PRAGMA secure_delete = ON")
        super().__init__(SQLiteDialect(self._db), clock=clock)

    def _after_delete(self) -> None:
        import sqlite3
        from contextlib import suppress

        with self._db.lock, suppress(sqlite3.Error):  # busy: a later checkpoint clears it
            self._db.check_open()
            self._db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
