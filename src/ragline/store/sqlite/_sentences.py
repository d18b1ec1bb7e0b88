"""``SQLiteSentenceStore``: the extractive answerer's sentence vectors in the project's file.

The shared :class:`~ragline.store.sql._sentences.SQLSentenceStore` on a connection of
its own to the store's file (WAL: a lookup never waits for a writer), so answers do
not queue behind the document store's lock. ``put(timeout_s=…)`` lowers the busy
timeout of its ``BEGIN IMMEDIATE`` transaction only.
"""

from __future__ import annotations

from pathlib import Path

from ragline.store.sql._sentences import SQLSentenceStore
from ragline.store.sqlite._connect import SQLiteDialect, file_database


class SQLiteSentenceStore(SQLSentenceStore):
    """Sentence vectors in a ragline SQLite database file.

    >>> sentences = SQLiteSentenceStore("ragline.db")            # doctest: +SKIP
    >>> sentences.get("acme", "all-minilm-l6-v2", [key])          # doctest: +SKIP
    {}
    """

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 5_000) -> None:
        self.path = str(path)
        # a cache: a vector lost to a power cut is recomputed by the next answer
        db = file_database(self.path, "sentence", busy_timeout_ms=busy_timeout_ms)
        super().__init__(SQLiteDialect(db))
