"""The model response cache in the ``response_cache`` table of a SQLite project store.

Migration ``0005_response_cache``; it runs on the document store's own connection
(:meth:`SQLiteStore.transaction`), so ``sqlite://:memory:`` stores get one too.
Expired rows are ignored on read and purged lazily on write.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol

from ragline.models._base import Completion
from ragline.models._cache import completion_from_json, completion_to_json


class TransactionalStore(Protocol):
    """A store with ``transaction()`` (:class:`~ragline.store.SQLiteStore`)."""

    def transaction(self, *, write: bool = True) -> AbstractContextManager[sqlite3.Connection]: ...


class SQLiteResponseCache:
    """Answers in the project store's ``response_cache`` table; survives restarts.

    ``clock`` is wall-clock time (``time.time``) because entries outlive the process.
    """

    def __init__(
        self, store: TransactionalStore, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self._clock = clock

    def get(self, key: str) -> Completion | None:
        now = self._clock()
        with self.store.transaction(write=False) as conn:
            row = conn.execute(
                "SELECT completion, expires_at FROM response_cache WHERE key = ?", (key,)
            ).fetchone()
        if row is None:
            return None
        if float(row[1]) <= now:
            with self.store.transaction() as conn:
                conn.execute(
                    "DELETE FROM response_cache WHERE key = ? AND expires_at <= ?", (key, now)
                )
            return None
        return completion_from_json(str(row[0]))

    def put(self, key: str, completion: Completion, *, ttl_s: float) -> None:
        if ttl_s <= 0:
            return
        now = self._clock()
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM response_cache WHERE expires_at <= ?", (now,))
            conn.execute(
                "INSERT OR REPLACE INTO response_cache "
                "(key, model, completion, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                (key, completion.model, completion_to_json(completion), now, now + ttl_s),
            )

    def purge_expired(self) -> int:
        """Delete expired rows now; return how many."""
        with self.store.transaction() as conn:
            cur = conn.execute("DELETE FROM response_cache WHERE expires_at <= ?", (self._clock(),))
            return cur.rowcount

    def clear(self) -> None:
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM response_cache")

    def __len__(self) -> int:
        """Rows stored, expired ones included until they are purged."""
        with self.store.transaction(write=False) as conn:
            return int(conn.execute("SELECT count(*) FROM response_cache").fetchone()[0])
