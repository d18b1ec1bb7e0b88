"""``SQLitePromptStore``: prompt versions and labels in the project's SQLite file.

The shared :class:`~ragline.store.sql._prompts.SQLPromptStore` on a connection of its
own to the store's file (WAL), tables from migration ``0014_prompts``.
"""

from __future__ import annotations

from pathlib import Path

from ragline.store._prompts import Clock
from ragline.store.sql._prompts import SQLPromptStore
from ragline.store.sqlite._connect import SQLiteDialect, file_database


class SQLitePromptStore(SQLPromptStore):
    """Prompt versions and labels in a ragline SQLite database (the store's file)."""

    def __init__(
        self, path: str | Path, *, busy_timeout_ms: int = 5_000, clock: Clock | None = None
    ) -> None:
        self.path = str(path)
        db = file_database(self.path, "prompt", busy_timeout_ms=busy_timeout_ms)
        super().__init__(SQLiteDialect(db), clock=clock)
