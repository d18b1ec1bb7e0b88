"""``MemoryUserMemoryStore``: the reference :class:`UserMemoryStore`, in a dictionary.

It defines the behaviour the SQLite and PostgreSQL backends match (all three pass
``ragline.testing.UserMemoryStoreConformance``); the checked calls and the ranking
they share are :class:`~ragline.store._user_memory.BaseUserMemoryStore`'s.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import replace

from ragline.errors import StoreError
from ragline.store._base import Vector
from ragline.store._user_memory import BaseUserMemoryStore, Candidate, Clock, MemoryItem


def _copy(item: MemoryItem) -> MemoryItem:
    return replace(item, metadata=json.loads(json.dumps(item.metadata)))


class MemoryUserMemoryStore(BaseUserMemoryStore):
    """User memory in a dictionary; nothing survives the process. Thread-safe."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        self._clock = clock or time.time
        self._items_by_key: dict[tuple[str, str], tuple[MemoryItem, Vector]] = {}  # (tenant, id)
        self._lock = threading.Lock()
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("memory store is closed", hint="open a new store")

    def _insert(self, tenant: str, items: list[tuple[MemoryItem, Vector]]) -> None:
        with self._lock:
            self._check_open()
            for item, vector in items:
                json.dumps(item.metadata)  # a JSON object, as the SQL backends store it
                self._items_by_key[(tenant, item.id)] = (_copy(item), vector.copy())

    def _mine(self, tenant: str, user: str) -> list[tuple[MemoryItem, Vector]]:
        self._check_open()
        return [
            (item, v)
            for (t, _), (item, v) in self._items_by_key.items()
            if t == tenant and item.user == user
        ]

    def _candidates(self, tenant: str, user: str, embedder: str) -> list[Candidate]:
        with self._lock:
            mine = self._mine(tenant, user)
        return [(i.id, i.created_at, v) for i, v in mine if i.embedder == embedder]

    def _items(self, tenant: str, user: str, ids: Sequence[str]) -> list[MemoryItem]:
        with self._lock:
            found = [self._items_by_key.get((tenant, m)) for m in ids]
        return [_copy(f[0]) for f in found if f is not None and f[0].user == user]

    def _page(
        self, tenant: str, user: str, limit: int, after: tuple[float, str] | None
    ) -> list[MemoryItem]:
        with self._lock:
            items = [i for i, _ in self._mine(tenant, user)]
        items.sort(key=lambda i: (i.created_at, i.id), reverse=True)
        if after is not None:
            items = [i for i in items if (i.created_at, i.id) < after]
        return [_copy(i) for i in items[:limit]]

    def _get(self, tenant: str, user: str, memory_id: str) -> MemoryItem | None:
        with self._lock:
            self._check_open()
            found = self._items_by_key.get((tenant, memory_id))
        return _copy(found[0]) if found is not None and found[0].user == user else None

    def _delete(self, tenant: str, user: str, memory_id: str) -> bool:
        with self._lock:
            self._check_open()
            found = self._items_by_key.get((tenant, memory_id))
            if found is None or found[0].user != user:
                return False
            del self._items_by_key[(tenant, memory_id)]
            return True

    def _delete_user(self, tenant: str, user: str) -> int:
        with self._lock:
            keys = [(tenant, i.id) for i, _ in self._mine(tenant, user)]
            for key in keys:
                del self._items_by_key[key]
            return len(keys)

    def _count(self, tenant: str, user: str | None) -> int:
        with self._lock:
            self._check_open()
            return sum(
                1
                for (t, _), (i, _v) in self._items_by_key.items()
                if t == tenant and user in (None, i.user)
            )

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._items_by_key.clear()
