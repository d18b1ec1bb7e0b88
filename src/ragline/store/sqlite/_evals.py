"""``SQLiteEvalStore``: evaluation runs and per-case results in a SQLite file.

Tables from migration ``0008_eval_runs``, on its own connection to the file (usually
the project's ``ragline.db``; ``evals.store`` may name another). Every case's result
is committed as it finishes, so an interrupted run can be resumed: WAL +
``synchronous=NORMAL`` keep those commits cheap.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

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
from ragline.store.sqlite._connect import Database

_INSERT = (
    "INSERT OR REPLACE INTO eval_results (run_id, case_id, repeat_index, position, "
    "category, case_json, case_hash, output, failed, metrics, metrics_key, cache_key, "
    "cached, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class SQLiteEvalStore:
    """:class:`~ragline.store.EvalStore` on a SQLite file."""

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 10_000) -> None:
        self.path = str(path)
        self._db = Database(
            self.path,
            what="the evaluation tables in",
            busy_timeout_ms=busy_timeout_ms,
            foreign_keys=True,
        )
        try:
            self._db.conn.execute("SELECT position, metrics_key FROM eval_results LIMIT 0")
        except sqlite3.Error as e:
            self._db.close()
            raise StoreError(
                f"{self.path!r} has evaluation tables from a development build of ragline ({e})",
                hint="point evals.store at a new file (e.g. sqlite:///evals.db), or re-create "
                "the database",
            ) from e

    def create_run(self, run: RunInfo) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                f"INSERT INTO eval_runs ({RUN_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                run_row(run),
            )

    def get_run(self, run_id: str) -> RunInfo:
        """The run by id, unique id prefix, name, or ``last``; raises NotFoundError."""
        select = f"SELECT {RUN_COLS} FROM eval_runs"
        if run_id in ("last", "latest"):
            rows = self._db.fetch(f"{select} ORDER BY created_at DESC LIMIT 1")
        else:
            rows = self._db.fetch(f"{select} WHERE id = ?", (run_id,))
            if not rows:
                prefix = run_id.replace("%", "").replace("_", "") + "%"
                rows = self._db.fetch(
                    f"{select} WHERE id LIKE ? OR name = ? ORDER BY created_at DESC LIMIT 3",
                    (prefix, run_id),
                )
        return pick_run(rows, run_id)

    def list_runs(self, limit: int = 50) -> list[RunInfo]:
        rows = self._db.fetch(
            f"SELECT {RUN_COLS} FROM eval_runs ORDER BY created_at DESC LIMIT ?", (limit,)
        )
        return [RUN.decode(r) for r in rows]

    def finish_run(self, run_id: str, status: str, summary: dict[str, Any]) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE eval_runs SET status = ?, finished_at = ?, summary = ? WHERE id = ?",
                (status, time.time(), json.dumps(summary, default=str), run_id),
            )

    def add_result(self, run_id: str, result: CaseResult) -> None:
        self.add_results(run_id, [result])

    def add_results(self, run_id: str, results: list[CaseResult]) -> None:
        """Several results in one transaction (cache hits)."""
        if not results:
            return
        rows = [result_row(run_id, r) for r in results]
        with self._db.transaction() as conn:
            conn.executemany(_INSERT, rows)

    def results(self, run_id: str) -> list[CaseResult]:
        rows = self._db.fetch(
            f"SELECT {RESULT_COLS} FROM eval_results WHERE run_id = ? "
            "ORDER BY position, repeat_index",
            (run_id,),
        )
        return [RESULT.decode(r) for r in rows]

    def done_keys(self, run_id: str) -> set[tuple[str, int]]:
        rows = self._db.fetch(
            "SELECT case_id, repeat_index FROM eval_results WHERE run_id = ?", (run_id,)
        )
        return {(str(r[0]), int(r[1])) for r in rows}

    def cached(
        self, cache_keys: list[str], *, metrics_key: str | None = None
    ) -> dict[str, CachedOutput]:
        """Stored outputs (without a pipeline error) for these keys, by key; rows scored
        by ``metrics_key`` preferred, then the newest."""
        best: dict[str, int] = {}
        keys = list(dict.fromkeys(cache_keys))
        for i in range(0, len(keys), 500):
            part = keys[i : i + 500]
            picks = self._db.fetch(
                "SELECT cache_key, rowid FROM eval_results "
                f"WHERE failed = 0 AND cache_key IN ({','.join('?' * len(part))}) "
                "ORDER BY metrics_key = ?, created_at",
                [*part, metrics_key or ""],
            )
            for key, rowid in picks:  # the last wins: same metrics first, then the newest
                best[key] = rowid
        found: dict[str, CachedOutput] = {}
        rowids = list(best.values())
        for i in range(0, len(rowids), 500):
            part_ids = rowids[i : i + 500]
            rows = self._db.fetch(
                "SELECT cache_key, output, case_hash, metrics_key, metrics FROM eval_results "
                f"WHERE rowid IN ({','.join('?' * len(part_ids))})",
                part_ids,
            )
            for row in rows:
                found[row[0]] = cached_from_row(row)
        return found

    def close(self) -> None:
        self._db.close()
