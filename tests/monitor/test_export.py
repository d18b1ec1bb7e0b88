"""``ragline monitor export``: the rules as Prometheus alerting rules that promtool
accepts, and a Grafana dashboard with a panel and threshold per rule; rules without a
/metrics counterpart are skipped with the reason, never exported half-right."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from ragline.cli import app
from ragline.monitor._export import export_rule, grafana_dashboard, prometheus_rules

from .helpers import P95, alerts

ASK_P95 = {**P95, "filter": {}}  # the /v1/ask request's latency
RULES: list[dict[str, Any]] = [
    ASK_P95,
    {**P95, "name": "retrieve-stage", "filter": {"stage": "retrieve"}, "agg": "mean"},
    {
        "name": "acme-errors",
        "metric": "errors",
        "agg": "rate",
        "filter": {"tenant": "acme"},
        "window": "10m",
        "condition": "> 0.05",
    },
    {"name": "shed", "metric": "shed", "agg": "rate", "window": "5m", "condition": "> 0.01"},
    {
        "name": "tokens-up",
        "metric": "tokens",
        "agg": "sum",
        "window": "1h",
        "baseline": "24h",
        "condition": "increase 50%",
    },
    {
        "name": "finance-hallucinations",
        "metric": "feedback",
        "agg": "count",
        "filter": {"kind": "hallucination"},
        "window": "1h",
        "condition": ">= 3",
    },
    {
        "name": "drift",
        "metric": "top1_score",
        "agg": "psi",
        "window": "1h",
        "baseline": "24h",
        "condition": "> 0.2",
    },
]


def test_rules_become_promql_over_the_metrics_names() -> None:
    a = alerts(*RULES)
    p95 = export_rule(a.rules[0])
    assert p95.alert_expr == (
        "histogram_quantile(0.95, sum by (le) (rate(ragline_http_request_duration_seconds_bucket"
        '{method="POST",route="/v1/ask"}[5m]))) * 1000 > 2000'
    )
    stage = export_rule(a.rules[1])
    assert 'ragline_ask_stage_seconds_sum{stage="retrieve"}[5m]' in stage.expr
    errors = export_rule(a.rules[2])
    assert 'ragline_asks_total{tenant="acme",outcome="error"}[10m]' in errors.expr
    assert errors.unit == "percentunit"
    tokens = export_rule(a.rules[4])
    assert tokens.alert_expr.startswith("(sum(increase(ragline_model_tokens_total[1h]))) >= 1.5 *")
    assert "sum(increase(ragline_model_tokens_total[24h] offset 1h))" in tokens.alert_expr


def test_the_rules_file_lists_what_it_skipped() -> None:
    text, skipped = prometheus_rules(alerts(*RULES, {**P95, "name": "routed"}))
    assert dict(skipped) == {
        "finance-hallucinations": "/metrics has no kind label for feedback",
        "drift": "psi drift is computed by ragline, not from /metrics",
        "routed": "/metrics latency has no route label",
    }
    assert "# skipped drift: psi drift" in text
    rules = yaml.safe_load(text)["groups"][0]["rules"]
    assert [r["alert"] for r in rules] == [
        "ask_p95",
        "retrieve_stage",
        "acme_errors",
        "shed",
        "tokens_up",
    ]
    first = rules[0]
    assert first["for"] == "120s"
    assert first["labels"] == {"severity": "critical", "ragline_rule": "ask-p95", "team": "search"}


def test_a_tenant_filter_without_tenant_labels_is_skipped() -> None:
    _, skipped = prometheus_rules(alerts(*RULES[2:3]), tenant_labels=False)
    assert skipped == [
        ("acme-errors", "server.metrics_tenant_labels is false: /metrics has no tenant")
    ]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (apt install prometheus)")
def test_promtool_accepts_the_rules(tmp_path: Path) -> None:
    text, _ = prometheus_rules(alerts(*RULES))
    path = tmp_path / "ragline-rules.yml"
    path.write_text(text)
    done = subprocess.run(
        ["promtool", "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 5 rules found" in done.stdout + done.stderr


def test_the_grafana_dashboard_has_a_panel_and_threshold_per_rule() -> None:
    dashboard, skipped = grafana_dashboard(alerts(*RULES))
    json.dumps(dashboard)  # plain JSON
    panels = dashboard["panels"]
    assert len(panels) == 5 and len(skipped) == 2
    p95 = panels[0]
    assert p95["targets"][0]["expr"].startswith("histogram_quantile(0.95")
    defaults = p95["fieldConfig"]["defaults"]
    assert defaults["unit"] == "ms"
    assert defaults["thresholds"]["steps"][-1] == {"color": "red", "value": 2000}
    assert len({(p["gridPos"]["x"], p["gridPos"]["y"]) for p in panels}) == 5  # no overlap
    assert "drift" in dashboard["description"]


def test_the_cli_writes_either_file_and_refuses_neither(tmp_path: Path) -> None:
    (tmp_path / "ragline.yaml").write_text(yaml.safe_dump({"alerts": {"rules": RULES[:1]}}))
    runner = CliRunner()
    out = runner.invoke(app, ["-C", str(tmp_path), "monitor", "export", "--prometheus-rules"])
    assert out.exit_code == 0, out.output
    assert yaml.safe_load(out.stdout)["groups"][0]["rules"][0]["alert"] == "ask_p95"
    target = tmp_path / "dash.json"
    out = runner.invoke(
        app, ["-C", str(tmp_path), "monitor", "export", "--grafana", "-o", str(target)]
    )
    assert out.exit_code == 0, out.output
    assert json.loads(target.read_text())["panels"][0]["title"].startswith("ask-p95")
    bad = runner.invoke(app, ["-C", str(tmp_path), "monitor", "export"])
    assert bad.exit_code != 0 and "exactly one of" in str(bad.exception)
