"""The SQLite backend (``sqlite:///ragline.db``, the default): every family in one file.

Each family opens its own connection to the file (WAL: readers never wait for
writers; see :mod:`._connect`); the schema is one list of migrations
(:mod:`._migrations`). ``sqlite://:memory:`` keeps documents (and the response cache)
in a private in-memory database and the other families in memory, as ``memory://``
does.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from ragline.errors import StoreError
from ragline.store._backend import LazyFamilies
from ragline.store.sqlite._cache import SQLiteResponseCache
from ragline.store.sqlite._conversations import SQLiteConversationStore
from ragline.store.sqlite._documents import SQLiteStore
from ragline.store.sqlite._evals import SQLiteEvalStore
from ragline.store.sqlite._sentences import SQLiteSentenceStore
from ragline.store.sqlite._traces import SQLiteTraceStore

if TYPE_CHECKING:
    from ragline.models._cache import ResponseCache
    from ragline.store._base import Store
    from ragline.store._conversations import ConversationStore
    from ragline.store._evals import EvalStore
    from ragline.store._sentences import SentenceStore
    from ragline.store._traces import TraceStore

__all__ = [
    "SQLiteBackend",
    "SQLiteConversationStore",
    "SQLiteEvalStore",
    "SQLiteResponseCache",
    "SQLiteSentenceStore",
    "SQLiteStore",
    "SQLiteTraceStore",
]


class SQLiteBackend(LazyFamilies):
    """Every family in the SQLite file ``path`` (``":memory:"``: see the module docstring)."""

    def __init__(
        self, path: str | Path, *, base_dir: str | Path = ".", trace_busy_timeout_ms: int = 500
    ) -> None:
        super().__init__()
        self.path = str(path)
        self.url = f"sqlite:///{self.path}" if self.path != ":memory:" else "sqlite://:memory:"
        self.in_memory = self.path == ":memory:"
        self._trace_timeout_ms = trace_busy_timeout_ms
        if self.in_memory:
            from ragline.store.memory import MemoryBackend

            self._memory: MemoryBackend | None = MemoryBackend(base_dir=base_dir)
        else:
            self._memory = None

    @property
    def documents(self) -> Store:
        return self._documents()

    def _documents(self) -> SQLiteStore:
        return self._family("documents", lambda: SQLiteStore(self.path))

    @property
    def traces(self) -> TraceStore:
        if self._memory is not None:
            return self._memory.traces
        return self._family(
            "traces",
            lambda: SQLiteTraceStore(self.path, busy_timeout_ms=self._trace_timeout_ms),
        )

    @property
    def conversations(self) -> ConversationStore:
        if self._memory is not None:
            return self._memory.conversations
        return self._family("conversations", lambda: SQLiteConversationStore(self.path))

    @property
    def sentences(self) -> SentenceStore:
        if self._memory is not None:
            return self._memory.sentences
        return self._family("sentences", lambda: SQLiteSentenceStore(self.path))

    @property
    def evals(self) -> EvalStore:
        if self._memory is not None:
            return self._memory.evals
        return self._family("evals", lambda: SQLiteEvalStore(self.path))

    @property
    def response_cache(self) -> ResponseCache:
        return self._family("response_cache", lambda: SQLiteResponseCache(self._documents()))

    def migrate(self) -> tuple[list[str], list[str]]:
        """Apply pending migrations (one writer at a time, so safe from many processes)."""
        from ragline.store.sqlite._migrations import applied_migrations, apply_migrations

        if not self.in_memory and not Path(self.path).parent.is_dir():
            raise StoreError(
                f"cannot open store {self.path!r}: its folder does not exist",
                hint="create the folder or fix the store path in ragline.yaml",
            )
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            try:
                conn.execute("PRAGMA busy_timeout = 30000")
                conn.execute("PRAGMA foreign_keys = ON")
                now = apply_migrations(conn)
                return now, applied_migrations(conn)
            finally:
                conn.close()
        except sqlite3.Error as e:
            raise StoreError(
                f"cannot migrate store {self.path!r}: {e}",
                hint="check that the file is a ragline SQLite database and is writable",
            ) from e

    def close(self) -> None:
        super().close()
        if self._memory is not None:
            self._memory.close()
