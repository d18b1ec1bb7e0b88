"""``PostgresTraceStore``: spans, feedback and drop counters in the PostgreSQL database.

The shared :class:`~ragline.store.sql._traces.SQLTraceStore` on a
:class:`PostgresStore`'s pool. The tables come from migration
``0007_traces_feedback`` (see :mod:`._migrations`), with row-level security like the
document tables: reads for one tenant set ``ragline.tenant``; the background
writer's batches (spans of many tenants) and the operator's all-tenant views set
``ragline.all_tenants`` explicitly, so a query that sets neither sees nothing.
Attributes and events are ``jsonb``, which cannot hold NUL: the encoder writes it as
U+FFFD, like every other text the store keeps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ragline.store.postgres._dialect import PostgresDialect
from ragline.store.postgres._rows import _dumps
from ragline.store.sql._traces import SQLTraceStore

if TYPE_CHECKING:
    from ragline.store.postgres._documents import PostgresStore


class PostgresTraceStore(SQLTraceStore):
    """Traces and feedback in a ragline PostgreSQL database.

    ``PostgresTraceStore("postgresql://…")`` opens its own small pool (and applies
    migrations); ``PostgresTraceStore(store)`` shares a :class:`PostgresStore`'s pool.
    """

    def __init__(self, url_or_store: str | PostgresStore, *, max_connections: int = 2) -> None:
        sql = PostgresDialect(url_or_store, max_connections=max_connections)
        super().__init__(sql, dumps=_dumps)
