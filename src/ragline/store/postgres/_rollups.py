"""``PostgresRollupStore``: per-minute rollups in the PostgreSQL database.

The shared :class:`~ragline.store.sql._rollups.SQLRollupStore` on a
:class:`PostgresStore`'s pool (or a small pool of its own from a URL). Tables from
migration ``0012_rollups`` (see :mod:`._migrations`); ``rollups`` and
``rollup_buckets`` have row-level security with the all-tenant view that the writer
and the monitor use; ``rollup_gaps`` is project-wide. Writes set a local
``lock_timeout`` (``timeout_s``) so a locked table marks a gap instead of waiting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ragline.store.postgres._dialect import PostgresDialect
from ragline.store.sql._rollups import SQLRollupStore

if TYPE_CHECKING:
    from ragline.store.postgres._documents import PostgresStore


class PostgresRollupStore(SQLRollupStore):
    """Rollups on a PostgreSQL database (``close`` leaves a shared pool open)."""

    def __init__(self, url_or_store: str | PostgresStore, *, timeout_s: float | None = 2.0) -> None:
        super().__init__(PostgresDialect(url_or_store), timeout_s=timeout_s)
