"""The PostgreSQL :class:`Dialect` of the shared families: a :class:`PostgresStore`'s pool.

A family (traces, conversations, sentence vectors…) made from the backend's document
store shares its pool, and ``close`` leaves the pool open; made from a URL, it opens
a small pool of its own (and applies migrations) and closes it. Every statement runs
through :meth:`PostgresStore.run`: a pooled connection, one transaction with
``ragline.tenant`` set (or, for ``tenant=None``, ``ragline.all_tenants``: the trace
writer's multi-tenant batches, operator views, the project-wide evaluation tables),
errors mapped to ``StoreError``, idempotent work retried once after a lost connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar, Unpack

from ragline.store.postgres._rows import clean_text
from ragline.store.sql._dialect import Dialect, Rows, RunOptions, Statements, Work

if TYPE_CHECKING:
    import psycopg

    from ragline.store.postgres._documents import PostgresStore

T = TypeVar("T")
V = TypeVar("V")


class PostgresDialect(Dialect):
    """The shared families on a :class:`PostgresStore`'s pool (see the module docstring)."""

    mark = "%s"
    json_mark = "%s::jsonb"
    find = "strpos"

    def __init__(self, url_or_store: str | PostgresStore, *, max_connections: int = 2) -> None:
        from ragline.store.postgres._documents import PostgresStore

        if isinstance(url_or_store, PostgresStore):
            self.store = url_or_store
            self._owns = False
        else:
            self.store = PostgresStore(url_or_store, max_connections=max_connections)
            self._owns = True

    def any_of(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        return f"{column} = ANY(%s)", [list(values)]

    def clean(self, value: V) -> V:
        return clean_text(value)

    def storable(self, *keys: Any) -> bool:
        """PostgreSQL text cannot hold NUL: no row has such a key."""
        return all(isinstance(k, str) and "\x00" not in k for k in keys)

    def fetch(self, tenant: str | None, sql: str, params: Sequence[Any] = ()) -> Rows:
        rows: Rows = self.store.run(
            tenant,
            lambda conn: conn.execute(sql, params).fetchall(),
            all_tenants=tenant is None,
        )
        return rows

    def run(self, tenant: str | None, work: Work[T], **options: Unpack[RunOptions]) -> T:
        timeout_s = options.get("timeout_s")

        def in_transaction(conn: psycopg.Connection[Any]) -> T:
            if timeout_s is not None:  # for this transaction only
                ms = f"{max(1, int(timeout_s * 1000))}ms"
                conn.execute("SELECT set_config('lock_timeout', %s, true)", (ms,))
                conn.execute("SELECT set_config('statement_timeout', %s, true)", (ms,))
            with conn.cursor() as cur:
                return work(cur)

        idempotent = options.get("idempotent", True)
        return self.store.run(
            tenant, in_transaction, idempotent=idempotent, all_tenants=tenant is None
        )

    def lock(self, db: Statements, key: str) -> None:
        """A transaction advisory lock on the 64-bit hash of ``key``."""
        db.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (key,))

    def close(self) -> None:
        if self._owns:
            self.store.close()
