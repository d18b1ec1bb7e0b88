"""``PostgresUserMemoryStore``: user memory in the PostgreSQL database.

The shared :class:`~ragline.store.sql._user_memory.SQLUserMemoryStore` on the document
store's pool (or a pool of its own, from a URL). Table ``memory_items`` from migration
``0015_memory`` (see :mod:`._migrations`), with row-level security like the
conversation tables: every call runs with its tenant set, so a query sees only that
tenant's rows even without its ``WHERE tenant``. Deleted rows become dead tuples that
(auto)vacuum reclaims; no query can read them after the delete commits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ragline.store._user_memory import Clock
from ragline.store.postgres._dialect import PostgresDialect
from ragline.store.sql._user_memory import SQLUserMemoryStore

if TYPE_CHECKING:
    from ragline.store.postgres._documents import PostgresStore


class PostgresUserMemoryStore(SQLUserMemoryStore):
    """User memory in a ragline PostgreSQL database (``close`` leaves a shared pool open)."""

    def __init__(
        self,
        url_or_store: str | PostgresStore,
        *,
        max_connections: int = 2,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(
            PostgresDialect(url_or_store, max_connections=max_connections), clock=clock
        )
