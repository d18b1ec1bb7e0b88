"""``SQLiteRollupStore``: per-minute rollups in the project's SQLite file.

The shared :class:`~ragline.store.sql._rollups.SQLRollupStore` on a connection of its
own (WAL: readers never wait for it), with a short busy timeout: rollups are written
by the trace writer thread, which would rather mark a gap than wait long behind
another process's write.
"""

from __future__ import annotations

from pathlib import Path

from ragline.store.sql._rollups import SQLRollupStore
from ragline.store.sqlite._connect import SQLiteDialect, file_database


class SQLiteRollupStore(SQLRollupStore):
    """Rollups in a ragline SQLite database file (the same file as the store)."""

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 500) -> None:
        self.path = str(path)
        db = file_database(self.path, "rollup", busy_timeout_ms=busy_timeout_ms)
        super().__init__(SQLiteDialect(db))
