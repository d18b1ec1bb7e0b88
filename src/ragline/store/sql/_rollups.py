"""``SQLRollupStore``: per-minute rollups in SQL, for SQLite and PostgreSQL.

Tables from migration ``0012_rollups`` of each backend: ``rollups`` (one summary row
per key: samples, total, max), ``rollup_buckets`` (one row per non-empty histogram
bucket of a key) and ``rollup_gaps`` (minutes whose write failed). A batch is one
transaction of upsert-adds (``samples = rollups.samples + excluded.samples`` …), so
writers in several processes add up; it is never retried (a retry after a lost
connection could add the batch twice), and a failure raises ``StoreError`` with
nothing of the batch stored. Rows hold many tenants, so they are written and read
with ``tenant=None`` (PostgreSQL: the all-tenant view the rollup policy allows).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Unpack

from ragline.store._rollups import Gap, RollupQuery, RollupRow
from ragline.store.sql._dialect import Dialect, Statements

_KEY = ("metric", "minute", "tenant", "route", "label")  # the tables' primary key order
_ROWS = ("minute", "tenant", "route", "metric", "label", "samples", "total", "max_value")
_BUCKETS = ("minute", "tenant", "route", "metric", "label", "bucket", "samples")


class SQLRollupStore:
    """Rollups in a ragline SQL database, through ``sql`` (see the module docstring)."""

    def __init__(self, sql: Dialect, *, timeout_s: float | None = None) -> None:
        self._sql = sql
        self._timeout_s = timeout_s
        key = ", ".join(_KEY)
        self._add_row = (
            f"{sql.insert('rollups', _ROWS)} ON CONFLICT ({key}) DO UPDATE SET "
            "samples = rollups.samples + excluded.samples, "
            "total = rollups.total + excluded.total, "
            "max_value = CASE WHEN excluded.max_value IS NULL OR (rollups.max_value IS NOT "
            "NULL AND rollups.max_value >= excluded.max_value) THEN rollups.max_value "
            "ELSE excluded.max_value END"
        )
        self._add_bucket = (
            f"{sql.insert('rollup_buckets', _BUCKETS)} ON CONFLICT ({key}, bucket) "
            "DO UPDATE SET samples = rollup_buckets.samples + excluded.samples"
        )
        self._add_gap = sql.insert_new(
            "rollup_gaps", ("minute", "reason", "marked_at"), ("minute",)
        )

    def add(self, rows: Sequence[RollupRow]) -> None:
        if not rows:
            return
        summary = [
            tuple(self._sql.clean(v) for v in (*r.key, r.count, r.total, r.max)) for r in rows
        ]
        buckets = [
            (*(self._sql.clean(v) for v in r.key), b, n)
            for r in rows
            for b, n in r.buckets.items()
            if n
        ]

        def work(db: Statements) -> None:
            db.executemany(self._add_row, summary)
            if buckets:
                db.executemany(self._add_bucket, buckets)

        self._sql.run(None, work, idempotent=False, timeout_s=self._timeout_s)

    def _where(self, query: RollupQuery) -> tuple[str, list[Any]]:
        mark = self._sql.mark
        conds: list[str] = []
        params: list[Any] = []
        if query.get("since") is not None:
            conds.append(f"minute >= {mark}")
            params.append(query["since"])
        if query.get("until") is not None:
            conds.append(f"minute < {mark}")
            params.append(query["until"])
        metrics = query.get("metrics")
        if metrics is not None:
            if not metrics:
                return "1 = 0", []
            cond, values = self._sql.any_of("metric", list(metrics))
            conds.append(cond)
            params.extend(values)
        for name in ("tenant", "route", "label"):
            value = query.get(name)
            if value is not None:
                conds.append(f"{name} = {mark}")
                params.append(value)
        rule = query.get("rule")
        if rule is not None:  # the comma-joined route lists it
            conds.append(f"({self._sql.find}(',' || route || ',', {mark}) > 0)")
            params.append(f",{rule},")
        return (" AND ".join(conds) or "1 = 1"), params

    def rows(self, **query: Unpack[RollupQuery]) -> list[RollupRow]:
        where, params = self._where(query)
        found: dict[tuple[int, str, str, str, str], RollupRow] = {}
        for r in self._sql.fetch(
            None, f"SELECT {', '.join(_ROWS)} FROM rollups WHERE {where}", params
        ):
            row = RollupRow(int(r[0]), r[1], r[2], r[3], r[4], int(r[5]), float(r[6]), r[7])
            found[row.key] = row
        if query.get("buckets") is False:
            return list(found.values())
        bucket_sql = f"SELECT {', '.join(_BUCKETS)} FROM rollup_buckets WHERE {where}"
        for r in self._sql.fetch(None, bucket_sql, params):
            key = (int(r[0]), r[1], r[2], r[3], r[4])
            into = found.get(key)
            if into is None:  # a bucket row without its summary cannot be written; be safe
                into = found[key] = RollupRow(*key)
            into.buckets[int(r[5])] = int(r[6])
        return list(found.values())

    def total(self, **query: Unpack[RollupQuery]) -> RollupRow:
        where, params = self._where(query)
        metrics = query.get("metrics") or [""]
        out = RollupRow(0, "", "", metrics[0] if len(metrics) == 1 else "")
        summary = f"SELECT sum(samples), sum(total), max(max_value) FROM rollups WHERE {where}"
        [(n, total, top)] = self._sql.fetch(None, summary, params)
        out.count, out.total = int(n or 0), float(total or 0.0)
        out.max = None if top is None else float(top)
        if query.get("buckets") is not False and out.count:
            hist = f"SELECT bucket, sum(samples) FROM rollup_buckets WHERE {where} GROUP BY bucket"
            out.buckets = {int(b): int(c) for b, c in self._sql.fetch(None, hist, params)}
        return out

    def mark_gaps(self, gaps: Sequence[Gap]) -> None:
        if not gaps:
            return
        now = time.time()
        values = [(g.minute, self._sql.clean(g.reason), now) for g in gaps]
        self._sql.run(
            None,
            lambda db: db.executemany(self._add_gap, values),
            timeout_s=self._timeout_s,
        )

    def gaps(self, since: float, until: float) -> list[Gap]:
        m = self._sql.mark
        rows = self._sql.fetch(
            None,
            f"SELECT minute, reason FROM rollup_gaps WHERE minute >= {m} AND minute < {m} "
            "ORDER BY minute",
            (since, until),
        )
        return [Gap(int(r[0]), str(r[1])) for r in rows]

    def prune(self, before: float, *, dry_run: bool = False) -> int:
        m = self._sql.mark

        def work(db: Statements) -> int:
            n = int(
                db.execute(
                    f"SELECT count(*) FROM rollups WHERE minute < {m}", (before,)
                ).fetchone()[0]
            )
            if not dry_run:
                for table in ("rollups", "rollup_buckets", "rollup_gaps"):
                    db.execute(f"DELETE FROM {table} WHERE minute < {m}", (before,))
            return n

        return self._sql.run(None, work)

    def close(self) -> None:
        self._sql.close()
