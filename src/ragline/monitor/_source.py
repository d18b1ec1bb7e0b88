"""The monitoring contract: which metrics exist, and how a reader asks for a value.

Writers (the per-minute rollups built from finished traces) and readers (alert rules,
``ragline monitor metrics``, the dashboard) meet here and nowhere else:

- :data:`METRICS` names every windowed metric, its unit, the aggregations it supports
  and the filters it can be sliced by. A rule naming a metric, aggregation or filter
  that is not listed is a configuration error at load time. (Defined in
  :mod:`ragline._metric_catalogue`, outside this role, so that config can read it.)
- A :class:`MetricQuery` asks for one number: metric, aggregation, window, filters
  and, for drift and change rules, a baseline window.
- A :class:`MetricSource` answers it with a :class:`MetricValue`. ``value is None``
  means *no data* in the window (no requests), which is not the same as zero; a
  window that overlaps a gap in the rollups (the rollup write failed) says so in
  ``gaps``, so a reader never mistakes missing data for a healthy zero.

Times are Unix epoch seconds (float); windows are seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from ragline._metric_catalogue import FILTERS, METRICS, Aggregation, MetricInfo, Unit


@dataclass(frozen=True, slots=True)
class MetricQuery:
    """One number: ``agg`` of ``metric`` over ``[now - window_s, now)``.

    ``baseline_s`` (drift and change rules): the baseline window is the
    ``baseline_s`` seconds before the evaluated window; ``psi``/``ks`` compare the
    two distributions, and a reader computing a relative change reads both values.
    """

    metric: str
    agg: Aggregation
    window_s: float
    filters: Mapping[str, str] = field(default_factory=dict)
    baseline_s: float | None = None


@dataclass(frozen=True, slots=True)
class MetricValue:
    value: float | None  # None: no data in the window (not zero)
    samples: int = 0  # asks (or feedback items, scores) the value is computed from
    baseline: float | None = None  # the same aggregation over the baseline window
    gaps: int = 0  # minutes in the window whose rollups are missing (write failed)


@runtime_checkable
class MetricSource(Protocol):
    """Answers metric queries (the rollups of a store; a fake in tests)."""

    def query(self, q: MetricQuery, *, now: float) -> MetricValue: ...


__all__ = [
    "FILTERS",
    "METRICS",
    "Aggregation",
    "MetricInfo",
    "MetricQuery",
    "MetricSource",
    "MetricValue",
    "Unit",
]
