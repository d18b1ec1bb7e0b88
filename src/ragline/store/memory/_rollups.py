"""``MemoryRollupStore``: the reference :class:`~ragline.store._rollups.RollupStore`.

Rows in a dictionary keyed like the SQL tables' primary key; upsert-add merges into
the stored row (``RollupConformance`` in ``ragline.testing`` runs against it).
Thread-safe: the trace writer thread adds while readers query.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from typing import Unpack

from ragline.errors import StoreError
from ragline.store._rollups import Gap, RollupQuery, RollupRow, row_matches


class MemoryRollupStore:
    """Rollups and gap marks in memory; nothing survives the process."""

    def __init__(self) -> None:
        self._rows: dict[tuple[int, str, str, str, str], RollupRow] = {}
        self._gaps: dict[int, Gap] = {}
        self._lock = threading.Lock()
        self._closed = False

    def _check(self) -> None:
        if self._closed:
            raise StoreError("the memory rollup store is closed", hint="open a new store")

    def add(self, rows: Sequence[RollupRow]) -> None:
        with self._lock:
            self._check()
            for row in rows:
                found = self._rows.get(row.key)
                if found is None:
                    self._rows[row.key] = copy.deepcopy(row)
                else:
                    found.merge(row)

    def rows(self, **query: Unpack[RollupQuery]) -> list[RollupRow]:
        with self._lock:
            self._check()
            q = dict(query)
            found = [copy.deepcopy(r) for r in self._rows.values() if row_matches(r, q)]
            if query.get("buckets") is False:
                for r in found:
                    r.buckets = {}
            return found

    def total(self, **query: Unpack[RollupQuery]) -> RollupRow:
        metrics = query.get("metrics") or [""]
        out = RollupRow(0, "", "", metrics[0] if len(metrics) == 1 else "")
        for row in self.rows(**query):
            out.merge(row)
        return out

    def mark_gaps(self, gaps: Sequence[Gap]) -> None:
        with self._lock:
            self._check()
            for gap in gaps:
                self._gaps.setdefault(gap.minute, gap)

    def gaps(self, since: float, until: float) -> list[Gap]:
        with self._lock:
            self._check()
            return sorted(
                (g for g in self._gaps.values() if since <= g.minute < until),
                key=lambda g: g.minute,
            )

    def prune(self, before: float, *, dry_run: bool = False) -> int:
        with self._lock:
            self._check()
            old = [k for k in self._rows if k[0] < before]
            if not dry_run:
                for k in old:
                    del self._rows[k]
                for minute in [m for m in self._gaps if m < before]:
                    del self._gaps[minute]
            return len(old)

    def close(self) -> None:
        self._closed = True
