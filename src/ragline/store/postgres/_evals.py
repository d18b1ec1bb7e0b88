"""``PostgresEvalStore``: evaluation runs and per-case results in PostgreSQL.

Tables come from migration ``0008_eval_runs`` (see
:mod:`._migrations`). Runs are project-wide, not per tenant,
so the tables have no row-level security; every call runs through
:meth:`PostgresStore.run` (pooled connection, one transaction, errors mapped to
``StoreError``). The JSON payloads are stored as text exactly as written, so a cached
output is reused byte for byte, as with :class:`~ragline.store.sqlite.SQLiteEvalStore`.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from ragline.errors import StoreError
from ragline.store._eval_rows import (
    RESULT,
    RESULT_COLS,
    RUN,
    RUN_COLS,
    cached_from_row,
    pick_run,
    result_row,
    run_row,
)
from ragline.store._evals import CachedOutput, CaseResult, RunInfo
from ragline.store.postgres._dialect import PostgresDialect
from ragline.store.postgres._rows import clean_text

if TYPE_CHECKING:
    import psycopg

    from ragline.store.postgres._documents import PostgresStore

_INSERT = (
    "INSERT INTO eval_results (run_id, case_id, repeat_index, position, category, "
    "case_json, case_hash, output, failed, metrics, metrics_key, cache_key, cached, "
    "created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (run_id, case_id, repeat_index) DO UPDATE SET position = excluded.position, "
    "category = excluded.category, case_json = excluded.case_json, "
    "case_hash = excluded.case_hash, output = excluded.output, failed = excluded.failed, "
    "metrics = excluded.metrics, metrics_key = excluded.metrics_key, "
    "cache_key = excluded.cache_key, cached = excluded.cached, created_at = excluded.created_at"
)


def _row(run_id: str, result: CaseResult) -> tuple[Any, ...]:
    return tuple(clean_text(v) for v in result_row(run_id, result))


class PostgresEvalStore:
    """:class:`~ragline.evals.EvalStore` on a ragline PostgreSQL database.

    ``PostgresEvalStore("postgresql://…")`` opens its own small pool (and applies
    migrations); ``PostgresEvalStore(store)`` shares a :class:`PostgresStore`'s pool
    (and ``close`` leaves it open).
    """

    def __init__(self, url_or_store: str | PostgresStore, *, max_connections: int = 2) -> None:
        self._sql = PostgresDialect(url_or_store, max_connections=max_connections)
        self._store = self._sql.store
        self.url = self._store.safe_url  # where it is, without the password

    def create_run(self, run: RunInfo) -> None:
        values = tuple(clean_text(v) for v in run_row(run))
        row = self._store.run(
            None,
            lambda conn: conn.execute(
                f"INSERT INTO eval_runs ({RUN_COLS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (id) DO NOTHING RETURNING id",
                values,
            ).fetchone(),
            idempotent=False,
        )
        if row is None:
            raise StoreError(
                f"evaluation run {run.id!r} already exists in {self.url}",
                hint="run ids are unique; start a new run",
            )

    def get_run(self, run_id: str) -> RunInfo:
        """The run by id, unique id prefix, name, or ``last``; raises NotFoundError."""
        if run_id in ("last", "latest"):
            rows = self._sql.fetch(
                None, f"SELECT {RUN_COLS} FROM eval_runs ORDER BY created_at DESC LIMIT 1"
            )
        else:
            key = clean_text(run_id)
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

    def list_runs(self, limit: int = 50) -> list[RunInfo]:
        rows = self._sql.fetch(
            None,
            f"SELECT {RUN_COLS} FROM eval_runs ORDER BY created_at DESC LIMIT %s",
            (max(0, int(limit)),),
        )
        return [RUN.decode(r) for r in rows]

    def finish_run(self, run_id: str, status: str, summary: dict[str, Any]) -> None:
        values = (status, time.time(), json.dumps(summary, default=str), clean_text(run_id))
        self._store.run(
            None,
            lambda conn: conn.execute(
                "UPDATE eval_runs SET status = %s, finished_at = %s, summary = %s WHERE id = %s",
                values,
            ),
        )

    def add_result(self, run_id: str, result: CaseResult) -> None:
        row = _row(run_id, result)
        self._store.run(None, lambda conn: conn.execute(_INSERT, row))

    def add_results(self, run_id: str, results: list[CaseResult]) -> None:
        """Several results in one transaction (cache hits)."""
        if not results:
            return
        rows = [_row(run_id, r) for r in results]

        def write(conn: psycopg.Connection[Any]) -> None:
            with conn.cursor() as cur:
                cur.executemany(_INSERT, rows)

        self._store.run(None, write)

    def results(self, run_id: str) -> list[CaseResult]:
        rows = self._sql.fetch(
            None,
            f"SELECT {RESULT_COLS} FROM eval_results WHERE run_id = %s "
            "ORDER BY position, repeat_index",
            (clean_text(run_id),),
        )
        return [RESULT.decode(r) for r in rows]

    def done_keys(self, run_id: str) -> set[tuple[str, int]]:
        rows = self._sql.fetch(
            None,
            "SELECT case_id, repeat_index FROM eval_results WHERE run_id = %s",
            (clean_text(run_id),),
        )
        return {(str(r[0]), int(r[1])) for r in rows}

    def cached(
        self, cache_keys: list[str], *, metrics_key: str | None = None
    ) -> dict[str, CachedOutput]:
        """Stored outputs (without a pipeline error) for these keys, by key; rows scored
        by ``metrics_key`` preferred, then the newest."""
        keys = [clean_text(k) for k in dict.fromkeys(cache_keys)]
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

    def close(self) -> None:
        self._sql.close()
