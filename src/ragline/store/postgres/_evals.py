"""``PostgresEvalStore``: evaluation runs and per-case results in PostgreSQL.

The shared :class:`~ragline.store.sql._evals.SQLEvalStore` on a :class:`PostgresStore`'s
pool. Tables come from migration ``0008_eval_runs`` (see :mod:`._migrations`). Runs
are project-wide, not per tenant, so the tables have no row-level security. The JSON
payloads are stored as text exactly as written, so a cached output is reused byte for
byte, as with :class:`~ragline.store.sqlite.SQLiteEvalStore`. PostgreSQL text cannot
hold NUL: an id or name with one is refused (``InputError``), never stored altered, so
a lookup with one finds nothing. A run is found by id prefix with ``left()``; the cache
lookup is one ``DISTINCT ON`` query per 1000 keys.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ragline.store._eval_rows import RUN_COLS, cached_from_row, pick_run
from ragline.store._evals import CachedOutput, RunInfo
from ragline.store.postgres._dialect import PostgresDialect
from ragline.store.sql._evals import SQLEvalStore

if TYPE_CHECKING:
    from ragline.store.postgres._documents import PostgresStore


class PostgresEvalStore(SQLEvalStore):
    """:class:`~ragline.evals.EvalStore` on a ragline PostgreSQL database.

    ``PostgresEvalStore("postgresql://…")`` opens its own small pool (and applies
    migrations); ``PostgresEvalStore(store)`` shares a :class:`PostgresStore`'s pool
    (and ``close`` leaves it open).
    """

    def __init__(self, url_or_store: str | PostgresStore, *, max_connections: int = 2) -> None:
        sql = PostgresDialect(url_or_store, max_connections=max_connections)
        self.url = sql.store.safe_url  # where it is, without the password
        super().__init__(sql, where=self.url)

    def get_run(self, run_id: str) -> RunInfo:
        """The run by id, unique id prefix, name, or ``last``; raises NotFoundError."""
        if run_id in ("last", "latest"):
            rows = self._sql.fetch(
                None, f"SELECT {RUN_COLS} FROM eval_runs ORDER BY created_at DESC LIMIT 1"
            )
        elif not self._sql.storable(run_id):
            rows = []  # never stored: PostgreSQL text cannot hold NUL
        else:
            key = run_id
            rows = self._sql.fetch(None, f"SELECT {RUN_COLS} FROM eval_runs WHERE id = %s", (key,))
            if not rows and key:
                rows = self._sql.fetch(
                    None,
                    f"SELECT {RUN_COLS} FROM eval_runs "
                    "WHERE left(id, length(%s)) = %s OR name = %s "
                    "ORDER BY created_at DESC LIMIT 3",
                    (key, key, key),
                )
        return pick_run(rows, run_id)

    def cached(
        self, cache_keys: list[str], *, metrics_key: str | None = None
    ) -> dict[str, CachedOutput]:
        """Stored outputs (without a pipeline error) for these keys, by key; rows scored
        by ``metrics_key`` preferred, then the newest."""
        keys = [k for k in dict.fromkeys(cache_keys) if self._sql.storable(k)]
        found: dict[str, CachedOutput] = {}
        for i in range(0, len(keys), 1000):
            rows = self._sql.fetch(
                None,
                "SELECT DISTINCT ON (cache_key) cache_key, output, case_hash, metrics_key, "
                "metrics FROM eval_results WHERE NOT failed AND cache_key = ANY(%s) "
                "ORDER BY cache_key, (metrics_key = %s) DESC, created_at DESC",
                (keys[i : i + 1000], metrics_key or ""),
            )
            for row in rows:
                found[row[0]] = cached_from_row(row)
        return found
