"""``SQLiteTicketStore``: hand-off tickets in the project's SQLite file.

The shared :class:`~ragline.store.sql._tickets.SQLTicketStore` on a connection of its
own to the store's file (WAL), table ``tickets`` from migration ``0016_tickets``.
"""

from __future__ import annotations

from pathlib import Path

from ragline.store.sql._tickets import SQLTicketStore
from ragline.store.sqlite._connect import SQLiteDialect, file_database


class SQLiteTicketStore(SQLTicketStore):
    """Tickets in a ragline SQLite database (the store's file)."""

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 5_000) -> None:
        self.path = str(path)
        db = file_database(self.path, "ticket", busy_timeout_ms=busy_timeout_ms)
        super().__init__(SQLiteDialect(db))
