"""Per-minute rollups of finished traces — the records and the storage contract.

Monitoring reads windows of minutes, never raw traces. Each minute holds, per
``(minute, tenant, route, metric, label)`` — ``label`` is the stage, model or kind a
metric is sliced by, ``""`` for none — a :class:`RollupRow`:

- ``count``: the samples (asks, feedback items, scores, cited sentences…);
- ``total``: the sum of their values (a rate metric's value is 1 when its condition
  held, so ``total / count`` is the rate); ``max``: the largest value;
- ``buckets``: a sparse histogram ``{bucket: samples}`` on a fixed log-spaced grid
  (:func:`bucket_of`), so percentiles over any window are computed from the summed
  histograms of its minutes — merging minutes (or writers) is exact, only the
  bucketing itself is approximate (see :func:`bucket_value`).

Writes are **upsert-add** (:meth:`RollupStore.add`): a second increment for the same
key adds its counts, so several writers (threads, worker processes, replicas) add up
instead of overwriting each other. A minute whose write failed is recorded as a
**gap** (:meth:`RollupStore.mark_gaps`), so a reader never mistakes missing data for a
healthy zero.

Times are Unix epoch seconds; a minute is named by its first second (a multiple of 60).
This module imports no other role: monitoring (``ragline.monitor``) builds the rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypedDict, Unpack, runtime_checkable

#: histogram resolution: buckets per doubling (bucket ``i`` holds ``[2**(i/8), 2**((i+1)/8))``)
BUCKETS_PER_DOUBLING = 8
#: the bucket of values ≤ 0 (a zero latency, a zero or negative score)
ZERO_BUCKET = -10_000
_MAX_INDEX = 9_999  # values beyond 2**1250 share the last bucket (never reached)
#: the largest relative error of a percentile read from the histogram: the bucket's
#: geometric midpoint is within 2**(1/16) - 1 ≈ 4.4% of every value in the bucket
BUCKET_RELATIVE_ERROR = 2 ** (1 / (2 * BUCKETS_PER_DOUBLING)) - 1


def bucket_of(value: float) -> int:
    """The histogram bucket of ``value`` (:data:`ZERO_BUCKET` for ``value <= 0``)."""
    if not value > 0 or math.isinf(value):
        return ZERO_BUCKET if not value > 0 else _MAX_INDEX
    index = math.floor(math.log2(value) * BUCKETS_PER_DOUBLING)
    return max(-_MAX_INDEX, min(_MAX_INDEX, index))


def bucket_value(bucket: int) -> float:
    """The value a bucket stands for: its geometric midpoint (0 for the zero bucket).

    Every value in the bucket is within :data:`BUCKET_RELATIVE_ERROR` of it.
    """
    if bucket == ZERO_BUCKET:
        return 0.0
    return float(2 ** ((bucket + 0.5) / BUCKETS_PER_DOUBLING))


def minute_of(t: float) -> int:
    """The minute (its first epoch second) that time ``t`` falls in."""
    return math.floor(t / 60.0) * 60


@dataclass(slots=True)
class RollupRow:
    """One metric of one minute, for one tenant, route and label (see the module docstring)."""

    minute: int
    tenant: str
    route: str
    metric: str
    label: str = ""
    count: int = 0
    total: float = 0.0
    max: float | None = None
    buckets: dict[int, int] = field(default_factory=dict)

    @property
    def key(self) -> tuple[int, str, str, str, str]:
        return (self.minute, self.tenant, self.route, self.metric, self.label)

    def observe(self, value: float, *, histogram: bool = False) -> None:
        """Add one sample (with ``histogram``: also to the histogram)."""
        self.count += 1
        self.total += value
        if self.max is None or value > self.max:
            self.max = value
        if histogram:
            b = bucket_of(value)
            self.buckets[b] = self.buckets.get(b, 0) + 1

    def merge(self, other: RollupRow) -> None:
        """Add ``other`` (same key) into this row: what :meth:`RollupStore.add` does."""
        self.count += other.count
        self.total += other.total
        if other.max is not None and (self.max is None or other.max > self.max):
            self.max = other.max
        for b, n in other.buckets.items():
            self.buckets[b] = self.buckets.get(b, 0) + n


@dataclass(frozen=True, slots=True)
class Gap:
    """A minute whose rollups are (partly) missing because a write failed."""

    minute: int
    reason: str


class RollupQuery(TypedDict, total=False):
    """The filters of :meth:`RollupStore.rows`, each optional: a row is returned when it
    meets every one given. ``since``/``until``: minutes ``since <= minute < until``;
    ``metrics``: one of these metric names; ``tenant``, ``route``, ``label``: equal.
    ``rule``: the row's route lists this routing rule (routes are comma-joined rule
    names). ``buckets=False``: the histograms are not needed (rows come with ``buckets`` empty,
    which saves reading them)."""

    since: float | None
    until: float | None
    metrics: Sequence[str] | None
    tenant: str | None
    route: str | None
    label: str | None
    rule: str | None
    buckets: bool


def merge_rows(rows: Iterable[RollupRow]) -> dict[tuple[int, str, str, str, str], RollupRow]:
    """Rows with the same key added together (what a store keeps), by key."""
    out: dict[tuple[int, str, str, str, str], RollupRow] = {}
    for row in rows:
        found = out.get(row.key)
        if found is None:
            out[row.key] = RollupRow(*row.key, count=0)
            found = out[row.key]
        found.merge(row)
    return out


def row_matches(row: RollupRow, query: Mapping[str, object]) -> bool:
    """Whether ``row`` meets every filter of a :class:`RollupQuery`."""
    since, until = query.get("since"), query.get("until")
    metrics = query.get("metrics")
    return (
        (since is None or row.minute >= since)  # type: ignore[operator]
        and (until is None or row.minute < until)  # type: ignore[operator]
        and (metrics is None or row.metric in metrics)  # type: ignore[operator]
        and all(
            query.get(k) is None or getattr(row, k) == query.get(k)
            for k in ("tenant", "route", "label")
        )
        and (query.get("rule") is None or query.get("rule") in row.route.split(","))
    )


@runtime_checkable
class RollupStore(Protocol):
    """Where per-minute rollups live. Implemented per store backend.

    - ``add`` upsert-adds a batch in one transaction: counts, totals and histogram
      buckets of rows with the same key are added, ``max`` is the larger. Raises
      ``StoreError`` (locked, disk full…); nothing of the batch is stored then.
    - ``rows`` returns the stored rows matching a :class:`RollupQuery` (any order);
      ``total`` adds them up in the store (one summary, one histogram).
    - ``mark_gaps`` records minutes whose rollups are missing (again: kept once);
      ``gaps(since, until)`` lists the gap minutes ``since <= minute < until``.
    - ``prune(before)`` deletes rows and gaps of minutes before ``before``; how many
      rows (``dry_run``: would be deleted, nothing is).
    """

    def add(self, rows: Sequence[RollupRow]) -> None: ...

    def rows(self, **query: Unpack[RollupQuery]) -> list[RollupRow]: ...

    def total(self, **query: Unpack[RollupQuery]) -> RollupRow:
        """Every matching row added together (minute 0, empty key but for ``metric``
        when one metric is asked for): what a windowed query reads."""
        ...

    def mark_gaps(self, gaps: Sequence[Gap]) -> None: ...

    def gaps(self, since: float, until: float) -> list[Gap]: ...

    def prune(self, before: float, *, dry_run: bool = False) -> int: ...

    def close(self) -> None: ...


__all__ = [
    "BUCKETS_PER_DOUBLING",
    "BUCKET_RELATIVE_ERROR",
    "ZERO_BUCKET",
    "Gap",
    "RollupQuery",
    "RollupRow",
    "RollupStore",
    "bucket_of",
    "bucket_value",
    "merge_rows",
    "minute_of",
    "row_matches",
]
