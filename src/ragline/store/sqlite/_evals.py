"""``SQLiteEvalStore``: evaluation runs and per-case results in a SQLite file.

The shared :class:`~ragline.store.sql._evals.SQLEvalStore` on its own connection to
the file (usually the project's ``ragline.db``; ``evals.store`` may name another):
every case's result is committed as it finishes, and WAL + ``synchronous=NORMAL``
keep those commits cheap. A run is found by a literal id prefix (``instr``); the cache
lookup picks a row per key by ``rowid`` first, then reads only those payloads.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ragline.errors import StoreError
from ragline.store._eval_rows import RUN_COLS, cached_from_row, pick_run
from ragline.store._evals import CachedOutput, RunInfo
from ragline.store.sql._evals import SQLEvalStore
from ragline.store.sqlite._connect import Database, SQLiteDialect


class SQLiteEvalStore(SQLEvalStore):
    """:class:`~ragline.store.EvalStore` on a SQLite file."""

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 10_000) -> None:
        self.path = str(path)
        db = Database(
            self.path,
            what="the evaluation tables in",
            busy_timeout_ms=busy_timeout_ms,
            foreign_keys=True,
        )
        try:
            db.conn.execute("SELECT position, metrics_key FROM eval_results LIMIT 0")
        except sqlite3.Error as e:
            db.close()
            raise StoreError(
                f"{self.path!r} has evaluation tables from a development build of ragline ({e})",
                hint="point evals.store at a new file (e.g. sqlite:///evals.db), or re-create "
                "the database",
            ) from e
        super().__init__(SQLiteDialect(db), where=repr(self.path))
        self._db = db

    def get_run(self, run_id: str) -> RunInfo:
        """The run by id, unique id prefix, name, or ``last``; raises NotFoundError."""
        select = f"SELECT {RUN_COLS} FROM eval_runs"
        if run_id in ("last", "latest"):
            rows = self._db.fetch(f"{select} ORDER BY created_at DESC LIMIT 1")
        else:
            rows = self._db.fetch(f"{select} WHERE id = ?", (run_id,))
            if not rows and run_id:  # a literal, case-sensitive prefix (LIKE is neither)
                rows = self._db.fetch(
                    f"{select} WHERE instr(id, ?) = 1 OR name = ? ORDER BY created_at DESC LIMIT 3",
                    (run_id, run_id),
                )
        return pick_run(rows, run_id)

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
