"""``SQLEvalStore``: evaluation runs and per-case results in SQL, what both engines share.

Tables ``eval_runs`` and ``eval_results`` from migration ``0008_eval_runs`` of each
backend; runs are project-wide, not per tenant, so every statement runs with
``tenant=None``. Every case's result is committed as it finishes, so an interrupted
run can be resumed. A backend subclass adds the two lookups where the engines differ:
``get_run`` (a run by id prefix: SQLite ``LIKE``, PostgreSQL ``left()``) and
``cached`` (the best stored output per cache key: SQLite by ``rowid``, PostgreSQL with
``DISTINCT ON``).
"""

from __future__ import annotations

import json
import time
from typing import Any

from ragline.errors import InputError, StoreError
from ragline.store._eval_rows import RESULT, RESULT_COLS, RUN, RUN_COLS, result_row, run_row
from ragline.store._evals import CaseResult, RunInfo
from ragline.store.sql._dialect import Dialect

#: the columns of an ``eval_results`` insert, in :func:`result_row` order
RESULT_INSERT = (
    "run_id",
    "case_id",
    "repeat_index",
    "position",
    "category",
    "case_json",
    "case_hash",
    "output",
    "failed",
    "metrics",
    "metrics_key",
    "cache_key",
    "cached",
    "created_at",
)


def _refuse_unstorable(sql: Dialect, columns: tuple[str, ...], values: tuple[Any, ...]) -> None:
    """An id or name the engine cannot store exactly (a NUL on PostgreSQL) is refused,
    never stored altered: a resume looks the case up by it."""
    for column, value in zip(columns, values, strict=True):
        if isinstance(value, str) and not sql.storable(value):
            raise InputError(
                f"evaluation {column} {value!r} contains NUL (\\x00): the database cannot store it",
                hint="remove the NUL character",
            )


class SQLEvalStore:
    """The shared part of :class:`~ragline.store.EvalStore` on SQL, through ``sql``.

    ``where`` names the database in messages (a path, or a URL without its password).
    """

    def __init__(self, sql: Dialect, *, where: str) -> None:
        self._sql = sql
        self._where = where
        key = ("run_id", "case_id", "repeat_index")
        self._upsert_result = sql.upsert("eval_results", RESULT_INSERT, key)

    def create_run(self, run: RunInfo) -> None:
        insert = self._sql.insert_new("eval_runs", RUN.columns, ("id",))
        values = run_row(run)
        _refuse_unstorable(self._sql, tuple(RUN.columns), values)
        created = self._sql.run(
            None, lambda db: db.execute(insert, values).rowcount == 1, idempotent=False
        )
        if not created:
            raise StoreError(
                f"evaluation run {run.id!r} already exists in {self._where}",
                hint="run ids are unique; start a new run",
            )

    def list_runs(self, limit: int = 50) -> list[RunInfo]:
        rows = self._sql.fetch(
            None,
            f"SELECT {RUN_COLS} FROM eval_runs ORDER BY created_at DESC LIMIT {self._sql.mark}",
            (max(0, int(limit)),),
        )
        return [RUN.decode(r) for r in rows]

    def finish_run(self, run_id: str, status: str, summary: dict[str, Any]) -> None:
        m = self._sql.mark
        update = (
            f"UPDATE eval_runs SET status = {m}, finished_at = {m}, summary = {m} WHERE id = {m}"
        )
        if not self._sql.storable(run_id):
            return  # no such run
        values = (status, time.time(), json.dumps(summary, default=str), run_id)
        self._sql.run(None, lambda db: db.execute(update, values))

    def add_result(self, run_id: str, result: CaseResult) -> None:
        self.add_results(run_id, [result])

    def add_results(self, run_id: str, results: list[CaseResult]) -> None:
        """Several results in one transaction (cache hits); a result stored before for
        the same case and repeat is replaced (a resumed run re-scores it)."""
        if not results:
            return
        rows = [result_row(run_id, r) for r in results]
        for row in rows:
            _refuse_unstorable(self._sql, RESULT_INSERT, row)
        self._sql.run(None, lambda db: db.executemany(self._upsert_result, rows))

    def results(self, run_id: str) -> list[CaseResult]:
        if not self._sql.storable(run_id):
            return []  # never stored
        rows = self._sql.fetch(
            None,
            f"SELECT {RESULT_COLS} FROM eval_results WHERE run_id = {self._sql.mark} "
            "ORDER BY position, repeat_index",
            (run_id,),
        )
        return [RESULT.decode(r) for r in rows]

    def done_keys(self, run_id: str) -> set[tuple[str, int]]:
        if not self._sql.storable(run_id):
            return set()
        rows = self._sql.fetch(
            None,
            f"SELECT case_id, repeat_index FROM eval_results WHERE run_id = {self._sql.mark}",
            (run_id,),
        )
        return {(str(r[0]), int(r[1])) for r in rows}

    def close(self) -> None:
        self._sql.close()
