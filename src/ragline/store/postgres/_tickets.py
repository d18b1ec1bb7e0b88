"""``PostgresTicketStore``: hand-off tickets in the PostgreSQL database.

The shared :class:`~ragline.store.sql._tickets.SQLTicketStore` on the document store's
pool (or a pool of its own, from a URL). Table ``tickets`` from migration
``0016_tickets`` (see :mod:`._migrations`), with row-level security like the
conversation tables: every call runs with its tenant set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ragline.store.postgres._dialect import PostgresDialect
from ragline.store.sql._tickets import SQLTicketStore

if TYPE_CHECKING:
    from ragline.store.postgres._documents import PostgresStore


class PostgresTicketStore(SQLTicketStore):
    """Tickets in a ragline PostgreSQL database (``close`` leaves a shared pool open)."""

    def __init__(self, url_or_store: str | PostgresStore, *, max_connections: int = 2) -> None:
        super().__init__(PostgresDialect(url_or_store, max_connections=max_connections))
