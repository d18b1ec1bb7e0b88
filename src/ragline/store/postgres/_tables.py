"""The base of every PostgreSQL table family: a :class:`PostgresStore`'s pool, shared.

A family (traces, conversations, evaluation runs…) made from the backend's document
store shares its pool, and ``close`` leaves the pool open; made from a URL, it opens
a small pool of its own (and applies migrations) and closes it. Every statement runs
through :meth:`PostgresStore.run`: a pooled connection, one transaction with
``ragline.tenant`` set, errors mapped to ``StoreError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ragline.store.postgres._documents import PostgresStore


class PostgresTables:
    """Shared plumbing of the PostgreSQL table families (see the module docstring)."""

    def __init__(self, url_or_store: str | PostgresStore, *, max_connections: int = 2) -> None:
        from ragline.store.postgres._documents import PostgresStore

        if isinstance(url_or_store, PostgresStore):
            self._store = url_or_store
            self._owns = False
        else:
            self._store = PostgresStore(url_or_store, max_connections=max_connections)
            self._owns = True

    def _fetch(
        self, tenant: str | None, sql: str, params: Sequence[Any] = ()
    ) -> list[tuple[Any, ...]]:
        """Rows of one query for ``tenant``, or across tenants when it is ``None``."""
        rows: list[tuple[Any, ...]] = self._store.run(
            tenant,
            lambda conn: conn.execute(sql, params).fetchall(),
            all_tenants=tenant is None,
        )
        return rows

    def close(self) -> None:
        if self._owns:
            self._store.close()
