"""ragline's alert rules for teams that run Prometheus and Grafana: the same rules as
Prometheus alerting rules over the server's ``/metrics`` series, and a Grafana dashboard
with one panel per rule and its threshold.

A rule is exported when its metric, aggregation and filters have a ``/metrics``
counterpart (:mod:`ragline.server._metrics`): asks by outcome (``requests``,
``errors``, ``abstentions``), guard verdicts, refused requests, model tokens, and
latency histograms (the ``/v1/ask`` request, or one stage with ``stage=``). The others
(feedback, retrieval scores, cross-language, citation support…) have no series there,
and a tenant filter needs ``server.metrics_tenant_labels``: such rules are listed as
skipped, with the reason, never exported half-right.

What Prometheus cannot say is left out and said so in the file's header: it has no
resolve threshold (an exported alert resolves at its threshold), and an empty result
never fires (ragline's ``no_data: ok``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ragline.config import AlertRule, AlertSettings

_QUANTILES = {"p50": "0.5", "p95": "0.95", "p99": "0.99"}
_OUTCOMES = {"errors": "error", "abstentions": "abstained"}


class Unsupported(Exception):
    """This rule has no Prometheus form (the message says why)."""


@dataclass(frozen=True, slots=True)
class Exported:
    rule: AlertRule
    expr: str  # the value, as PromQL
    alert_expr: str  # the condition
    unit: str  # Grafana unit


def _range(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def _selector(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_quote(v)}"' for k, v in labels.items())
    return "{" + inner + "}"


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _value_expr(
    rule: AlertRule, *, tenant_labels: bool, window: str, offset: str = ""
) -> tuple[str, str]:
    """``(PromQL of the rule's value over window, Grafana unit)``; raises Unsupported."""
    f = dict(rule.filter)
    labels: dict[str, str] = {}
    if "tenant" in f:
        if not tenant_labels:
            raise Unsupported("server.metrics_tenant_labels is false: /metrics has no tenant")
        labels["tenant"] = f.pop("tenant")
    off = f" offset {offset}" if offset else ""
    metric, agg = rule.metric, rule.agg
    if metric == "latency":
        stage = f.pop("stage", None)
        if f:
            raise Unsupported(f"/metrics latency has no {', '.join(sorted(f))} label")
        if labels:
            raise Unsupported("/metrics latency histograms have no tenant label")
        if stage is not None:
            base, sel = "ragline_ask_stage_seconds", _selector({"stage": stage})
        else:
            base = "ragline_http_request_duration_seconds"
            sel = _selector({"method": "POST", "route": "/v1/ask"})
        if agg in _QUANTILES:
            inner = f"sum by (le) (rate({base}_bucket{sel}[{window}]{off}))"
            return f"histogram_quantile({_QUANTILES[agg]}, {inner}) * 1000", "ms"
        if agg == "mean":
            num = f"sum(rate({base}_sum{sel}[{window}]{off}))"
            den = f"sum(rate({base}_count{sel}[{window}]{off}))"
            return f"{num} / {den} * 1000", "ms"
        if agg == "count":
            return f"sum(increase({base}_count{sel}[{window}]{off}))", "short"
        raise Unsupported(f"a histogram has no {agg}")
    if f:
        raise Unsupported(f"/metrics has no {', '.join(sorted(f))} label for {metric}")
    asks = f"sum(increase(ragline_asks_total{_selector(labels)}[{window}]{off}))"
    if metric == "requests" and agg == "count":
        return asks, "short"
    if metric in _OUTCOMES:
        sel = _selector({**labels, "outcome": _OUTCOMES[metric]})
        hits = f"sum(increase(ragline_asks_total{sel}[{window}]{off}))"
        return (f"{hits} / {asks}", "percentunit") if agg == "rate" else (hits, "short")
    if metric == "guard_triggers":
        hits = f"sum(increase(ragline_guard_triggers_total{_selector(labels)}[{window}]{off}))"
        return (f"{hits} / {asks}", "percentunit") if agg == "rate" else (hits, "short")
    if metric == "shed":
        if labels:
            raise Unsupported("/metrics HTTP requests have no tenant label")
        refused = '{status=~"429|503"}'  # rate limited, or shed by overload
        hits = f"sum(increase(ragline_http_requests_total{refused}[{window}]{off}))"
        total = f"sum(increase(ragline_http_requests_total[{window}]{off}))"
        return (f"{hits} / {total}", "percentunit") if agg == "rate" else (hits, "short")
    if metric == "tokens" and agg == "sum":
        return (
            f"sum(increase(ragline_model_tokens_total{_selector(labels)}[{window}]{off}))",
            "short",
        )
    raise Unsupported(f"/metrics has no series for {metric} {agg}")


def export_rule(rule: AlertRule, *, tenant_labels: bool = True) -> Exported:
    """The Prometheus form of one rule; raises :class:`Unsupported`."""
    cond = rule.parsed_condition
    if rule.agg in ("psi", "ks"):
        raise Unsupported(f"{rule.agg} drift is computed by ragline, not from /metrics")
    window = _range(rule.window)
    expr, unit = _value_expr(rule, tenant_labels=tenant_labels, window=window)
    if cond.kind == "value":
        alert = f"{expr} {cond.op} {cond.threshold:g}"
    else:
        assert rule.baseline is not None  # checked at load
        base, _ = _value_expr(
            rule, tenant_labels=tenant_labels, window=_range(rule.baseline), offset=window
        )
        factor = 1 + cond.threshold / 100 if cond.kind == "increase" else 1 - cond.threshold / 100
        op = ">=" if cond.kind == "increase" else "<="
        alert = f"({expr}) {op} {factor:g} * ({base})"
    return Exported(rule, expr, alert, unit)


def _alert_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def export_all(
    alerts: AlertSettings, *, tenant_labels: bool = True
) -> tuple[list[Exported], list[tuple[str, str]]]:
    """``(exported rules, [(skipped rule, why)])``."""
    done: list[Exported] = []
    skipped: list[tuple[str, str]] = []
    for rule in alerts.rules:
        try:
            done.append(export_rule(rule, tenant_labels=tenant_labels))
        except Unsupported as e:
            skipped.append((rule.name, str(e)))
    return done, skipped


_HEADER = """\
# Prometheus alerting rules generated by `ragline monitor export --prometheus-rules`
# from the alert rules in ragline.yaml, over ragline serve's /metrics series.
# Prometheus has no resolve threshold: these alerts resolve at their threshold, and a
# query with no result never fires (ragline's no_data: ok).
"""


def prometheus_rules(
    alerts: AlertSettings, *, tenant_labels: bool = True
) -> tuple[str, list[tuple[str, str]]]:
    """The rules file (YAML text) and the rules left out, with why."""
    import yaml

    done, skipped = export_all(alerts, tenant_labels=tenant_labels)
    rules: list[dict[str, Any]] = []
    for x in done:
        r = x.rule
        entry: dict[str, Any] = {"alert": _alert_name(r.name), "expr": x.alert_expr}
        if r.for_ > 0:
            entry["for"] = f"{int(r.for_)}s"
        entry["labels"] = {"severity": r.severity, "ragline_rule": r.name, **r.labels}
        entry["annotations"] = {
            "summary": r.summary
            or f"{r.metric} {r.agg} over {_range(r.window)} (alert when {r.parsed_condition})",
            "value": "{{ $value }}",
        }
        rules.append(entry)
    text = yaml.safe_dump(
        {"groups": [{"name": "ragline", "rules": rules}]}, sort_keys=False, allow_unicode=True
    )
    notes = "".join(f"# skipped {name}: {why}\n" for name, why in skipped)
    return _HEADER + notes + text, skipped


def grafana_dashboard(
    alerts: AlertSettings, *, tenant_labels: bool = True
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """A Grafana dashboard (JSON model): one time-series panel per exported rule, its
    threshold drawn as a line; and the rules left out."""
    done, skipped = export_all(alerts, tenant_labels=tenant_labels)
    panels: list[dict[str, Any]] = []
    for i, x in enumerate(done):
        cond = x.rule.parsed_condition
        steps: list[dict[str, Any]]
        if cond.kind != "value":
            steps = [{"color": "green", "value": None}]
        elif cond.upward:
            steps = [{"color": "green", "value": None}, {"color": "red", "value": cond.threshold}]
        else:
            steps = [{"color": "red", "value": None}, {"color": "green", "value": cond.threshold}]
        panels.append(
            {
                "id": i + 1,
                "type": "timeseries",
                "title": f"{x.rule.name}: {x.rule.metric} {x.rule.agg} ({x.rule.condition})",
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "gridPos": {"h": 8, "w": 12, "x": 12 * (i % 2), "y": 8 * (i // 2)},
                "targets": [{"refId": "A", "expr": x.expr, "legendFormat": x.rule.name}],
                "fieldConfig": {
                    "defaults": {
                        "unit": x.unit,
                        "thresholds": {"mode": "absolute", "steps": steps},
                        "custom": {"thresholdsStyle": {"mode": "line"}},
                    },
                    "overrides": [],
                },
                "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
            }
        )
    dashboard = {
        "title": "ragline alert rules",
        "uid": "ragline-alerts",
        "tags": ["ragline"],
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "1m",
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Prometheus",
                    "type": "datasource",
                    "query": "prometheus",
                }
            ]
        },
        "panels": panels,
        "description": "Generated by `ragline monitor export --grafana`; skipped: "
        + (", ".join(f"{n} ({why})" for n, why in skipped) or "none"),
    }
    return dashboard, skipped
