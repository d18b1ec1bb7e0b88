"""``ragline monitor metrics``: every metric's value over one window, as table lines.

One :class:`MetricLine` per metric (its main aggregation, plus percentiles for
distributions), and one per stage, model or feedback kind seen in the window, all
read from a :class:`RollupSource` — nothing here reads raw traces.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ragline.monitor._rollup_source import LABELS, RollupSource
from ragline.monitor._source import METRICS, Aggregation, MetricQuery
from ragline.store._rollups import minute_of

#: the aggregation a metric's line shows as its value
MAIN: Mapping[str, Aggregation] = {
    "requests": "count",
    "tokens": "sum",
    "cost": "sum",
    "feedback": "count",
    "agent_runs": "count",
}
_PERCENTILES: tuple[Aggregation, ...] = ("p50", "p95", "p99", "max")


def main_aggregation(metric: str) -> Aggregation:
    info = METRICS[metric]
    if metric in MAIN:
        return MAIN[metric]
    return "rate" if "rate" in info.aggregations else "mean"


@dataclass(frozen=True, slots=True)
class MetricLine:
    metric: str
    unit: str
    agg: str
    value: float | None
    samples: int
    filters: dict[str, str] = field(default_factory=dict)
    percentiles: dict[str, float | None] = field(default_factory=dict)
    gaps: int = 0

    def to_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__slots__}


def labels_seen(
    source: RollupSource, metric: str, window_s: float, now: float, filters: Mapping[str, str]
) -> list[str]:
    """The non-empty labels (stages, models, kinds) ``metric`` has rows for in the window."""
    rows = source.rollups.rows(
        since=minute_of(now - window_s),
        until=minute_of(now) + 60,
        metrics=[metric],
        tenant=filters.get("tenant"),
        buckets=False,
    )
    route = filters.get("route")
    return sorted(
        {
            r.label
            for r in rows
            if r.label and (route is None or route in r.route.split(",") or r.route == route)
        }
    )


def metric_lines(
    source: RollupSource,
    *,
    window_s: float,
    now: float,
    tenant: str | None = None,
    route: str | None = None,
) -> list[MetricLine]:
    base = {k: v for k, v in (("tenant", tenant), ("route", route)) if v is not None}
    out: list[MetricLine] = []
    for name, info in METRICS.items():
        slices: list[dict[str, str]] = [dict(base)]
        dim = LABELS.get(name, ("", False))[0]
        if dim:
            slices += [
                {**base, dim: label} for label in labels_seen(source, name, window_s, now, base)
            ]
        agg = main_aggregation(name)
        for filters in slices:
            got = source.query(MetricQuery(name, agg, window_s, filters), now=now)
            pct: dict[str, float | None] = {}
            for p in _PERCENTILES:
                if p in info.aggregations:
                    pct[p] = source.query(MetricQuery(name, p, window_s, filters), now=now).value
            extra = {k: v for k, v in filters.items() if k not in base}
            out.append(
                MetricLine(name, info.unit, agg, got.value, got.samples, extra, pct, got.gaps)
            )
    return out
