"""One rule against one metric value: what is observed, and whether it crosses.

Kept apart from the state machine (:mod:`._evaluator`) so both it and ``ragline monitor
status`` read a rule the same way:

- :func:`query_for` is the :class:`~ragline.monitor.MetricQuery` a rule asks;
- :func:`observe` turns the answer into the number the condition compares: the value
  itself, or for ``increase N%`` / ``decrease N%`` the change against the baseline
  window in percent. ``None`` means *no data* — an empty window, too few samples
  (``min_samples``), or no baseline to compare with — never zero;
- :func:`crosses` applies the condition, with hysteresis for a firing alert: it stays
  firing until the value is back past ``resolve`` (default: the threshold itself);
- :func:`verdict` adds the rule's ``no_data`` choice: ``True`` (bad), ``False`` (fine)
  or ``None`` (keep the state as it is).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ragline.monitor._source import MetricQuery, MetricValue

if TYPE_CHECKING:
    from ragline.config import AlertRule


def query_for(rule: AlertRule) -> MetricQuery:
    return MetricQuery(
        metric=rule.metric,
        agg=rule.agg,  # type: ignore[arg-type]  # checked against METRICS at load
        window_s=rule.window,
        filters=dict(rule.filter),
        baseline_s=rule.baseline,
    )


def observe(rule: AlertRule, mv: MetricValue) -> float | None:
    """The number the condition compares (see the module docstring); None: no data."""
    if mv.value is None or not math.isfinite(mv.value):
        return None
    if rule.min_samples > 1 and mv.samples < rule.min_samples:
        return None
    cond = rule.parsed_condition
    if cond.kind == "value":
        return float(mv.value)
    if mv.baseline is None or not math.isfinite(mv.baseline):
        return None  # nothing to compare with: no data, not "no change"
    base = float(mv.baseline)
    if base == 0.0:
        change = 0.0 if mv.value == 0 else math.copysign(math.inf, mv.value)
    else:
        change = (float(mv.value) - base) / abs(base) * 100.0
    return change if cond.kind == "increase" else -change


def crosses(rule: AlertRule, observed: float, *, firing: bool) -> bool:
    cond = rule.parsed_condition
    if firing and rule.resolve is not None:
        return cond.crosses(observed, rule.resolve)
    return cond.crosses(observed)


def verdict(rule: AlertRule, observed: float | None, *, firing: bool) -> bool | None:
    """Bad (True), fine (False), or keep the state (None: ``no_data: keep``)."""
    if observed is None:
        return {"ok": False, "alert": True, "keep": None}[rule.no_data]
    return crosses(rule, observed, firing=firing)


def describe(rule: AlertRule, observed: float | None, mv: MetricValue | None) -> str:
    """One line a person reads: ``latency p95 over 5m (route=ask) is 2345.5 (> 2000)``."""
    where = ", ".join(f"{k}={v}" for k, v in sorted(rule.filter.items()))
    scope = f" ({where})" if where else ""
    window = format_duration(rule.window)
    cond = rule.parsed_condition
    if observed is None:
        now = "has no data"
    elif cond.kind == "value":
        now = f"is {format_number(observed)}"
    else:
        base = mv.baseline if mv is not None else None
        now = (
            f"changed {format_number(observed if cond.kind == 'increase' else -observed)}% "
            f"against the {format_duration(rule.baseline or 0)} before ({format_number(base)})"
        )
    return f"{rule.metric} {rule.agg} over {window}{scope} {now} (alert when {cond})"


def format_number(v: float | None) -> str:
    if v is None:
        return "no data"
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    return f"{v:.4g}" if abs(v) < 1000 else f"{v:.0f}"


def format_duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
