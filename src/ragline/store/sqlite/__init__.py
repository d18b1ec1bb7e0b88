"""The SQLite backend (``sqlite:///ragline.db``, the default): every family in one file.

Each family opens its own connection to the file (WAL: readers never wait for
writers; see :mod:`._connect`); the schema is one list of migrations
(:mod:`._migrations`). ``sqlite://:memory:`` keeps documents (and the response cache)
in a private in-memory database and the other families in memory, as ``memory://``
does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar, cast

from ragline.errors import StoreError
from ragline.store._backend import Family, LazyFamilies
from ragline.store._limits import MemoryRateLimits
from ragline.store.sqlite._alerts import SQLiteAlertStore
from ragline.store.sqlite._cache import SQLiteResponseCache
from ragline.store.sqlite._conversations import SQLiteConversationStore
from ragline.store.sqlite._documents import SQLiteStore
from ragline.store.sqlite._evals import SQLiteEvalStore
from ragline.store.sqlite._prompts import SQLitePromptStore
from ragline.store.sqlite._rollups import SQLiteRollupStore
from ragline.store.sqlite._sentences import SQLiteSentenceStore
from ragline.store.sqlite._tickets import SQLiteTicketStore
from ragline.store.sqlite._traces import SQLiteTraceStore
from ragline.store.sqlite._user_memory import SQLiteUserMemoryStore

__all__ = [
    "SQLiteAlertStore",
    "SQLiteBackend",
    "SQLiteConversationStore",
    "SQLiteEvalStore",
    "SQLitePromptStore",
    "SQLiteResponseCache",
    "SQLiteRollupStore",
    "SQLiteSentenceStore",
    "SQLiteStore",
    "SQLiteTicketStore",
    "SQLiteTraceStore",
    "SQLiteUserMemoryStore",
]

T = TypeVar("T")


#: the families ``sqlite://:memory:`` keeps in memory (their stores need a file)
IN_MEMORY = (
    "traces",
    "conversations",
    "sentences",
    "evals",
    "alerts",
    "rollups",
    "user_memory",
    "prompts",
    "tickets",
)


class SQLiteBackend(LazyFamilies):
    """Every family in the SQLite file ``path`` (``":memory:"``: see the module docstring)."""

    documents = Family(lambda backend: backend._documents_store())
    traces = Family(
        lambda backend: SQLiteTraceStore(backend.path, busy_timeout_ms=backend._trace_timeout_ms)
    )
    conversations = Family(lambda backend: SQLiteConversationStore(backend.path))
    sentences = Family(lambda backend: SQLiteSentenceStore(backend.path))
    evals = Family(lambda backend: SQLiteEvalStore(backend.path))
    response_cache = Family(lambda backend: SQLiteResponseCache(backend.documents))
    alerts = Family(lambda backend: SQLiteAlertStore(backend.path))
    rollups = Family(
        lambda backend: SQLiteRollupStore(backend.path, busy_timeout_ms=backend._trace_timeout_ms)
    )
    user_memory = Family(lambda backend: SQLiteUserMemoryStore(backend.path))
    prompts = Family(lambda backend: SQLitePromptStore(backend.path))
    tickets = Family(lambda backend: SQLiteTicketStore(backend.path))
    rate_limits = Family(lambda backend: MemoryRateLimits())  # per process

    def __init__(
        self,
        path: str | Path,
        *,
        base_dir: str | Path = ".",
        trace_busy_timeout_ms: int = 500,
        ann_threshold: int | None = None,
    ) -> None:
        super().__init__()
        self._ann_threshold = ann_threshold
        self.path = str(path)
        self.url = f"sqlite:///{self.path}" if self.path != ":memory:" else "sqlite://:memory:"
        self.in_memory = self.path == ":memory:"
        self._trace_timeout_ms = trace_busy_timeout_ms
        if self.in_memory:
            from ragline.store.memory import MemoryBackend

            self._memory: MemoryBackend | None = MemoryBackend(base_dir=base_dir)
        else:
            self._memory = None

    def _documents_store(self) -> SQLiteStore:
        if self._ann_threshold is None:
            return SQLiteStore(self.path)
        return SQLiteStore(self.path, ann_threshold=self._ann_threshold)

    def _family(self, name: str, make: Callable[[], T]) -> T:
        if self._memory is not None and name in IN_MEMORY:
            return cast(T, getattr(self._memory, name))
        return super()._family(name, make)

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
