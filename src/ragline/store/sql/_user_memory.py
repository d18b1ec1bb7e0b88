"""``SQLUserMemoryStore``: user memory in SQL, for SQLite and PostgreSQL alike.

One table, ``memory_items`` from migration ``0015_memory`` of each backend: an item's
text, its vector (float32 bytes, as every backend stores vectors) and its bookkeeping
in one row, keyed by ``(tenant, id)``, with the index ``memory_items_user`` on
``(tenant, user_id, created_at, id)`` for listing and search. So deleting the rows
deletes the item, its vector and its index entries together; nothing else holds a
copy. Search reads the ids, times and vectors of the user's items (one index range),
ranks them exactly (:func:`~ragline.store._user_memory.rank`), then reads the k best
items whole.

On PostgreSQL every call runs with its tenant set, so row-level security keeps a
query to that tenant's rows even without its ``WHERE tenant``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from ragline.store._base import Vector
from ragline.store._rows import Layout, json_dict
from ragline.store._user_memory import BaseUserMemoryStore, Candidate, Clock, MemoryItem
from ragline.store._vectors import blob_vector, vector_blob
from ragline.store.sql._dialect import Dialect, Statements

ITEM: Layout[MemoryItem] = Layout(
    MemoryItem,
    "id tenant user text kind embedder created_at conversation_id metadata",
    columns={"user": "user_id"},
    read={"metadata": json_dict, "created_at": float},
)
_INSERT = (
    "tenant",
    "id",
    "user_id",
    "kind",
    "text",
    "embedder",
    "vector",
    "conversation_id",
    "metadata",
    "created_at",
)


class SQLUserMemoryStore(BaseUserMemoryStore):
    """User memory in a ragline SQL database, through ``sql``."""

    def __init__(self, sql: Dialect, *, clock: Clock | None = None) -> None:
        self._sql = sql
        self._clock = clock or time.time
        self._insert_sql = sql.insert("memory_items", _INSERT, json=("metadata",))

    def _insert(self, tenant: str, items: list[tuple[MemoryItem, Vector]]) -> None:
        rows = [
            (
                tenant,
                i.id,
                i.user,
                i.kind,
                i.text,
                i.embedder,
                vector_blob(v),
                i.conversation_id,
                json.dumps(i.metadata, ensure_ascii=False),
                i.created_at,
            )
            for i, v in items
        ]
        # ids are fresh random ones: a retry after a lost connection cannot collide with
        # another item, but it could store the batch twice, so it is not retried
        self._sql.run(tenant, lambda db: db.executemany(self._insert_sql, rows), idempotent=False)

    def _where(self) -> str:
        m = self._sql.mark
        return f"WHERE tenant = {m} AND user_id = {m}"

    def _candidates(self, tenant: str, user: str, embedder: str) -> list[Candidate]:
        if not self._sql.storable(user, embedder):
            return []
        m = self._sql.mark
        rows = self._sql.fetch(
            tenant,
            f"SELECT id, created_at, vector FROM memory_items {self._where()} AND embedder = {m}",
            (tenant, user, embedder),
        )
        return [(str(i), float(t), blob_vector(v)) for i, t, v in rows]

    def _items(self, tenant: str, user: str, ids: Sequence[str]) -> list[MemoryItem]:
        if not ids:
            return []
        among, params = self._sql.any_of("id", list(ids))
        rows = self._sql.fetch(
            tenant,
            f"SELECT {ITEM.select()} FROM memory_items {self._where()} AND {among}",
            (tenant, user, *params),
        )
        return [ITEM.decode(r) for r in rows]

    def _page(
        self, tenant: str, user: str, limit: int, after: tuple[float, str] | None
    ) -> list[MemoryItem]:
        if not self._sql.storable(user):
            return []
        m = self._sql.mark
        sql = f"SELECT {ITEM.select()} FROM memory_items {self._where()}"
        params: list[Any] = [tenant, user]
        if after is not None:
            sql += f" AND (created_at < {m} OR (created_at = {m} AND id < {m}))"
            params += [after[0], after[0], after[1]]
        sql += f" ORDER BY created_at DESC, id DESC LIMIT {m}"
        return [ITEM.decode(r) for r in self._sql.fetch(tenant, sql, [*params, limit])]

    def _get(self, tenant: str, user: str, memory_id: str) -> MemoryItem | None:
        if not self._sql.storable(user, memory_id):
            return None
        m = self._sql.mark
        rows = self._sql.fetch(
            tenant,
            f"SELECT {ITEM.select()} FROM memory_items {self._where()} AND id = {m}",
            (tenant, user, memory_id),
        )
        return ITEM.decode(rows[0]) if rows else None

    def _delete(self, tenant: str, user: str, memory_id: str) -> bool:
        if not self._sql.storable(user, memory_id):
            return False
        sql = f"DELETE FROM memory_items {self._where()} AND id = {self._sql.mark}"

        def delete(db: Statements) -> bool:
            return db.execute(sql, (tenant, user, memory_id)).rowcount == 1

        gone = self._sql.run(tenant, delete)
        if gone:
            self._after_delete()
        return gone

    def _delete_user(self, tenant: str, user: str) -> int:
        if not self._sql.storable(user):
            return 0
        sql = f"DELETE FROM memory_items {self._where()}"
        gone = self._sql.run(tenant, lambda db: db.execute(sql, (tenant, user)).rowcount)
        if gone:
            self._after_delete()
        return int(gone)

    def _after_delete(self) -> None:
        """What a backend does once rows are gone (SQLite: clear them from the WAL)."""

    def _count(self, tenant: str, user: str | None) -> int:
        m = self._sql.mark
        if user is None:
            sql, params = f"SELECT count(*) FROM memory_items WHERE tenant = {m}", [tenant]
        elif not self._sql.storable(user):
            return 0
        else:
            sql, params = f"SELECT count(*) FROM memory_items {self._where()}", [tenant, user]
        rows = self._sql.fetch(tenant, sql, params)
        return int(rows[0][0]) if rows else 0

    def close(self) -> None:
        self._sql.close()
