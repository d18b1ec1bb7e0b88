"""``RollupSource``: the :class:`MetricSource` that answers queries from per-minute rollups.

A query never reads raw traces: the store adds up the rollup rows of the minutes its
window touches (:meth:`RollupStore.total`: one indexed range read for the summary, one
for the histogram when a percentile or drift needs it), so its cost depends on the
window and the number of tenants/routes/labels, not on how many traces exist.

**Windows.** ``[now - window_s, now)`` is read as the whole minutes it touches: from
the minute holding ``now - window_s`` to the minute holding ``now`` (the current,
partial one included), so a window spans up to one minute more than ``window_s``.
The baseline window is the ``baseline_s`` seconds before it, read the same way and
never overlapping it. Rows of minutes after ``now`` (a clock that jumped back) are
not in the window.

**Slices.** ``tenant`` is exact; ``route`` matches every ask the routing rule fired
on (an ask's route lists every rule that fired); ``stage`` (latency, scores) picks
that stage's or retriever's row — without it the overall row is read; ``model``
(tokens, cost) and ``kind`` (feedback, quality) pick one label — without them every
label is summed.

**Aggregations** over the window's merged rows (``n`` samples, their ``total``, their
``max``, the summed histogram):

- ``count``: for a rate metric (errors, timeouts, shed, abstentions, guard_triggers,
  cross_language, cache_hits) the asks where the condition held (``total``); for
  every other metric the samples ``n``;
- ``sum``: ``total``; ``mean``: ``total / n``; ``max``: the largest sample;
- ``rate``: for a rate metric ``total / n`` (the share of judged asks); for
  ``requests``, asks per second (``n / window_s``);
- ``p50``/``p95``/``p99``: the nearest-rank quantile of the summed histogram, read
  as its bucket's geometric midpoint (and never above ``max``): within
  ``BUCKET_RELATIVE_ERROR`` (≈ 4.4%) of the true quantile of the samples;
- ``psi``: population stability index of the window against the baseline. Bins are
  the baseline's deciles cut on histogram-bucket boundaries (up to 10; fewer when
  the baseline sits in few buckets), plus one bin below and one above the
  baseline's range, so a window that moved out of it always scores; with ``w_i``, ``b_i`` the
  window's and baseline's shares of bin ``i`` (each at least 1e-4),
  ``PSI = Σ (w_i − b_i) · ln(w_i / b_i)``. Rules of thumb: < 0.1 stable, 0.1–0.25
  moderate shift, > 0.25 large shift;
- ``ks``: the two-sample Kolmogorov–Smirnov statistic ``max |F_w(x) − F_b(x)|``
  over the histogram-bucket edges (exact at bucket resolution).

``value`` is ``None`` when the window has no samples (no data is not zero); ``psi``
and ``ks`` also need baseline samples. ``feedback`` ``count`` is 0 (not ``None``)
when the window had asks but no feedback. ``baseline`` is the same aggregation over
the baseline window (for ``psi``/``ks``: the baseline's mean). ``gaps`` counts the
window's minutes whose rollup write failed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from ragline.errors import InputError
from ragline.monitor._source import METRICS, MetricQuery, MetricValue
from ragline.store._rollups import RollupRow, RollupStore, bucket_value, minute_of

#: rate metrics: a sample is one ask judged, its value 1 when the condition held
RATE_METRICS = frozenset(
    {
        "errors",
        "timeouts",
        "shed",
        "abstentions",
        "guard_triggers",
        "cross_language",
        "cache_hits",
        "agent_limit_hits",  # a sample is one agent run
        "agent_tool_errors",  # a sample is one tool call
    }
)
#: which filter a metric's rollup label holds, and whether label "" is its overall row
LABELS: Mapping[str, tuple[str, bool]] = {
    "latency": ("stage", True),
    "top1_score": ("stage", True),
    "mean_score": ("stage", True),
    "tokens": ("model", False),
    "cost": ("model", False),
    "feedback": ("kind", False),
    "quality": ("kind", False),
    "agent_runs": ("kind", True),  # kind: the stop reason
    "agent_tool_calls": ("kind", True),  # kind: the tool
}
_HISTOGRAM_AGGS = frozenset({"p50", "p95", "p99", "psi", "ks"})
_QUANTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}
PSI_BINS = 10
PSI_EPSILON = 1e-4


@dataclass(slots=True)
class Merged:
    """A window's rows of one metric and slice, added together."""

    count: int = 0
    total: float = 0.0
    max: float | None = None
    buckets: dict[int, int] = field(default_factory=dict)

    def add(self, row: RollupRow) -> None:
        self.count += row.count
        self.total += row.total
        if row.max is not None and (self.max is None or row.max > self.max):
            self.max = row.max
        for b, n in row.buckets.items():
            self.buckets[b] = self.buckets.get(b, 0) + n


def quantile(buckets: Mapping[int, int], q: float, top: float | None = None) -> float | None:
    """The nearest-rank ``q`` quantile of a histogram (see the module docstring)."""
    n = sum(buckets.values())
    if n <= 0:
        return None
    rank = max(1, math.ceil(q * n))
    seen = 0
    for b in sorted(buckets):
        seen += buckets[b]
        if seen >= rank:
            value = bucket_value(b)
            return min(value, top) if top is not None else value
    return None  # pragma: no cover - the loop always reaches rank


def psi(window: Mapping[int, int], baseline: Mapping[int, int]) -> float | None:
    """Population stability index of ``window`` against ``baseline`` (module docstring)."""
    nb, nw = sum(baseline.values()), sum(window.values())
    if nb <= 0 or nw <= 0:
        return None
    # bins: below the baseline's lowest bucket; up to each baseline decile's bucket;
    # above the baseline's highest bucket (so a shift out of its range always counts)
    lowest, highest = min(baseline), max(baseline)
    edges: list[int] = [lowest - 1]
    seen = 0
    next_cut = 1
    for b in sorted(baseline):
        seen += baseline[b]
        if seen * PSI_BINS >= next_cut * nb:
            edges.append(b)
            while next_cut * nb <= seen * PSI_BINS:
                next_cut += 1
    edges.append(max(highest + 1, max(window)))

    def shares(hist: Mapping[int, int], n: int) -> list[float]:
        out = [0.0] * len(edges)
        for b, count in hist.items():
            i = next((j for j, edge in enumerate(edges) if b <= edge), len(edges) - 1)
            out[i] += count / n
        return [max(s, PSI_EPSILON) for s in out]

    w, base = shares(window, nw), shares(baseline, nb)
    return float(sum((wi - bi) * math.log(wi / bi) for wi, bi in zip(w, base, strict=True)))


def ks(window: Mapping[int, int], baseline: Mapping[int, int]) -> float | None:
    """Two-sample Kolmogorov–Smirnov statistic at bucket resolution."""
    nb, nw = sum(baseline.values()), sum(window.values())
    if nb <= 0 or nw <= 0:
        return None
    cw = cb = 0.0
    worst = 0.0
    for b in sorted(set(window) | set(baseline)):
        cw += window.get(b, 0) / nw
        cb += baseline.get(b, 0) / nb
        worst = max(worst, abs(cw - cb))
    return worst


class RollupSource:
    """Answers :class:`MetricQuery` from a :class:`RollupStore` (see the module docstring).

    ``pending_gaps`` adds gap minutes not persisted yet (the in-process recorder's).
    """

    def __init__(
        self,
        rollups: RollupStore,
        *,
        pending_gaps: Callable[[], Iterable[int]] | None = None,
    ) -> None:
        self.rollups = rollups
        self.pending_gaps = pending_gaps

    # -- reading -----------------------------------------------------------------------

    def _merged(
        self, metric: str, filters: Mapping[str, str], since: int, until: int, *, buckets: bool
    ) -> Merged:
        dim, has_overall = LABELS.get(metric, ("", False))
        label = filters.get(dim) if dim else None
        if dim and has_overall and label is None:
            label = ""
        if not dim:
            label = ""
        row = self.rollups.total(
            since=since,
            until=until,
            metrics=[metric],
            tenant=filters.get("tenant"),
            label=label,
            rule=filters.get("route"),
            buckets=buckets,
        )
        return Merged(row.count, row.total, row.max, row.buckets)

    def _gaps(self, since: int, until: int) -> int:
        minutes = {g.minute for g in self.rollups.gaps(since, until)}
        if self.pending_gaps is not None:
            minutes.update(m for m in self.pending_gaps() if since <= m < until)
        return len(minutes)

    # -- the MetricSource protocol -------------------------------------------------------

    def query(self, q: MetricQuery, *, now: float) -> MetricValue:
        info = METRICS.get(q.metric)
        if info is None:
            raise InputError(
                f"unknown metric {q.metric!r}", hint=f"use one of: {', '.join(METRICS)}"
            )
        if q.agg not in info.aggregations:
            raise InputError(
                f"metric {q.metric!r} has no aggregation {q.agg!r}",
                hint=f"use one of: {', '.join(info.aggregations)}",
            )
        unknown = sorted(set(q.filters) - set(info.filters))
        if unknown:
            raise InputError(
                f"metric {q.metric!r} cannot be filtered by {', '.join(unknown)}",
                hint=f"its filters: {', '.join(info.filters)}",
            )
        if not (q.window_s > 0 and math.isfinite(q.window_s)):
            raise InputError(f"window {q.window_s!r} must be a positive number of seconds")
        since, until = minute_of(now - q.window_s), minute_of(now) + 60
        hist = q.agg in _HISTOGRAM_AGGS
        window = self._merged(q.metric, q.filters, since, until, buckets=hist)
        gaps = self._gaps(since, until)
        baseline_value: float | None = None
        base: Merged | None = None
        if q.baseline_s is not None and q.baseline_s > 0:
            b_since = minute_of(now - q.window_s - q.baseline_s)
            base = self._merged(q.metric, q.filters, b_since, since, buckets=hist)
            if q.agg in ("psi", "ks"):
                baseline_value = base.total / base.count if base.count else None
            else:
                baseline_value = self._value(q, base, since, until)
        if q.agg in ("psi", "ks"):
            value = None
            if base is not None:
                value = (psi if q.agg == "psi" else ks)(window.buckets, base.buckets)
        else:
            value = self._value(q, window, since, until)
        if value is None and q.metric == "feedback" and q.agg == "count":
            value = self._feedback_zero(q, since, until)
        return MetricValue(value=value, samples=window.count, baseline=baseline_value, gaps=gaps)

    def _value(self, q: MetricQuery, m: Merged, since: int, until: int) -> float | None:
        if m.count <= 0 and not (q.metric in RATE_METRICS and m.total > 0):
            return None
        agg = q.agg
        if agg == "count":
            return float(m.total if q.metric in RATE_METRICS else m.count)
        if agg == "sum":
            return m.total
        if agg == "mean":
            return m.total / m.count if m.count else None
        if agg == "max":
            return m.max
        if agg == "rate":
            if q.metric == "requests":
                return m.count / q.window_s
            return min(1.0, m.total / m.count) if m.count else None
        if agg in _QUANTILES:
            return quantile(m.buckets, _QUANTILES[agg], m.max)
        raise InputError(f"aggregation {agg!r} is not supported")  # pragma: no cover

    def _feedback_zero(self, q: MetricQuery, since: int, until: int) -> float | None:
        """0 when the window had asks (for the same tenant and route), else None."""
        filters = {k: v for k, v in q.filters.items() if k in ("tenant", "route")}
        asks = self._merged("requests", filters, since, until, buckets=False)
        return 0.0 if asks.count else None


__all__ = ["LABELS", "RATE_METRICS", "RollupSource", "ks", "psi", "quantile"]
