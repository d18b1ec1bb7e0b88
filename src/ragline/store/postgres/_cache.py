"""The model response cache in a ragline PostgreSQL database."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ragline.models._cache import completion_from_json, completion_to_json

if TYPE_CHECKING:
    from ragline.store.postgres._documents import PostgresStore


class PostgresResponseCache:
    """``ragline.models``' response cache in the ``response_cache`` table.

    Same interface as :class:`~ragline.store.sqlite.SQLiteResponseCache` (get, put,
    purge_expired, clear, len); not tenant-scoped (keys hash the whole request).
    """

    def __init__(self, store: PostgresStore, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self._clock = clock

    def get(self, key: str) -> Any:
        now = self._clock()
        row = self.store.run(
            None,
            lambda conn: conn.execute(
                "SELECT completion, expires_at FROM response_cache WHERE key = %s", (key,)
            ).fetchone(),
        )
        if row is None or float(row[1]) <= now:
            return None
        return completion_from_json(str(row[0]))

    def put(self, key: str, completion: Any, *, ttl_s: float) -> None:
        if ttl_s <= 0:
            return
        now = self._clock()
        payload = completion_to_json(completion)
        self.store.run(
            None,
            lambda conn: conn.execute(
                "INSERT INTO response_cache (key, model, completion, created_at, expires_at) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (key) DO UPDATE SET "
                "model = excluded.model, completion = excluded.completion, "
                "created_at = excluded.created_at, expires_at = excluded.expires_at",
                (key, completion.model, payload, now, now + ttl_s),
            ),
        )

    def purge_expired(self) -> int:
        return self.store.run(
            None,
            lambda conn: (
                conn.execute(
                    "DELETE FROM response_cache WHERE expires_at <= %s", (self._clock(),)
                ).rowcount
            ),
            idempotent=False,
        )

    def clear(self) -> None:
        self.store.run(None, lambda conn: conn.execute("DELETE FROM response_cache"))

    def __len__(self) -> int:
        row = self.store.run(
            None, lambda conn: conn.execute("SELECT count(*) FROM response_cache").fetchone()
        )
        return int(row[0]) if row else 0
