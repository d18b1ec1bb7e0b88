"""``alerts:`` and ``monitor:`` in ragline.yaml: rules load, and every bad rule is one
clear ConfigError naming the rule and the key (and the file is left as it was)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ragline.config import load_settings, parse_condition
from ragline.errors import ConfigError

GOOD_RULE: dict[str, Any] = {
    "name": "ask-p95",
    "metric": "latency",
    "agg": "p95",
    "filter": {"route": "ask", "tenant": "acme"},
    "window": "5m",
    "condition": "> 2000",
    "for": "2m",
    "resolve": 1500,
    "severity": "critical",
    "labels": {"team": "search"},
}


def write(tmp_path: Path, *rules: dict[str, Any], **alerts: Any) -> Path:
    path = tmp_path / "ragline.yaml"
    path.write_text(yaml.safe_dump({"alerts": {"rules": list(rules), **alerts}}))
    return path


def test_a_rule_loads_with_its_durations_in_seconds(tmp_path: Path) -> None:
    drift = {
        "name": "top1-drift",
        "metric": "top1_score",
        "agg": "psi",
        "window": "1h",
        "baseline": "24h",
        "condition": "> 0.2",
    }
    change = {**drift, "name": "latency-up", "metric": "latency", "agg": "mean"}
    change["condition"] = "increase 50%"
    write(tmp_path, GOOD_RULE, drift, change, repeat_interval="1h", group_wait="30s")
    s = load_settings(tmp_path, environ={})
    rule = s.alerts.rules[0]
    assert (rule.window, rule.for_, rule.resolve) == (300.0, 120.0, 1500.0)
    assert rule.filter == {"route": "ask", "tenant": "acme"}
    assert rule.no_data == "ok" and rule.channels is None
    assert s.alerts.rules[1].baseline == 86400.0
    assert str(s.alerts.rules[2].parsed_condition) == "increase 50%"
    assert (s.alerts.repeat_interval, s.alerts.group_wait) == (3600.0, 30.0)
    assert s.monitor.interval == 60.0  # the default


def test_no_alerts_section_means_no_rules(tmp_path: Path) -> None:
    s = load_settings(tmp_path, environ={})
    assert s.alerts.rules == [] and s.alerts.group_by == ["rule"]


def test_monitor_interval_from_the_file_and_the_environment(tmp_path: Path) -> None:
    (tmp_path / "ragline.yaml").write_text("monitor: {interval: 30s}\n")
    assert load_settings(tmp_path, environ={}).monitor.interval == 30.0
    env = {"RAGLINE_MONITOR__INTERVAL": "2m"}
    assert load_settings(tmp_path, environ=env).monitor.interval == 120.0
    with pytest.raises(ConfigError, match=r"monitor\.interval.*too short"):
        load_settings(tmp_path, environ={"RAGLINE_MONITOR__INTERVAL": "0.1"})


@pytest.mark.parametrize(
    ("change", "key", "says"),
    [
        ({"metric": "latnecy"}, "metric", "'latnecy' is not a metric"),
        ({"agg": "p42"}, "agg", "'p42' is not an aggregation of metric latency"),
        ({"agg": "rate"}, "agg", "use mean, p50, p95"),
        ({"filter": {"doc_type": "finance"}}, "filter.doc_type", "cannot be filtered"),
        ({"filter": {"colour": "red"}}, "filter.colour", "cannot be filtered"),
        ({"window": "90s"}, "window", "whole minutes"),
        ({"window": "5 minutes"}, "window", "is not a duration"),
        ({"window": "0m"}, "window", "whole minutes"),
        ({"window": "400d"}, "window", "whole minutes from 1m to 31d"),
        ({"condition": "> fast"}, "condition", "is not a condition"),
        ({"condition": "above 2000"}, "condition", "is not a condition"),
        ({"condition": "increase 50%"}, "baseline", "compares with a baseline window"),
        ({"resolve": 2500}, "resolve", "must be at or below the threshold 2000"),
        ({"resolve": "low"}, "resolve", "valid number"),
        ({"for": "-1"}, "for", "is not a duration"),
        ({"no_data": "zero"}, "no_data", "'ok', 'keep' or 'alert'"),
        ({"severity": "urgent"}, "severity", "'critical', 'error', 'warning' or 'info'"),
        ({"threshold": 2000}, "threshold", "unknown key"),
        ({"min_samples": 0}, "min_samples", "greater than or equal to 1"),
    ],
)
def test_a_bad_rule_is_one_error_naming_the_rule_and_key(
    tmp_path: Path, change: dict[str, Any], key: str, says: str
) -> None:
    path = write(tmp_path, GOOD_RULE, {**GOOD_RULE, "name": "second", **change})
    before = path.read_text()
    with pytest.raises(ConfigError) as e:
        load_settings(tmp_path, environ={})
    text = str(e.value)
    assert f"alerts.rules[1]: rule 'second': {key}:" in text, text
    assert says in text, text
    assert str(path) in text  # the file it came from
    assert path.read_text() == before  # nothing rewritten


def test_drift_aggregations_need_a_baseline_and_a_plain_threshold(tmp_path: Path) -> None:
    rule = {"name": "drift", "metric": "top1_score", "agg": "psi", "condition": "> 0.2"}
    write(tmp_path, rule)
    with pytest.raises(ConfigError, match="rule 'drift': baseline: agg psi compares"):
        load_settings(tmp_path, environ={})
    write(tmp_path, {**rule, "baseline": "24h", "condition": "increase 10%"})
    with pytest.raises(ConfigError, match="rule 'drift': condition: agg psi is already a drift"):
        load_settings(tmp_path, environ={})


def test_a_resolve_threshold_on_the_wrong_side_of_a_below_condition(tmp_path: Path) -> None:
    rule = {"name": "support", "metric": "citation_support", "agg": "mean"}
    write(tmp_path, {**rule, "condition": "< 0.9", "resolve": 0.8})
    with pytest.raises(ConfigError, match=r"resolve: 0\.8 must be at or above the threshold 0\.9"):
        load_settings(tmp_path, environ={})
    write(tmp_path, {**rule, "condition": "< 0.9", "resolve": 0.95})
    assert load_settings(tmp_path, environ={}).alerts.rules[0].resolve == 0.95


def test_a_rule_without_a_name_or_metric(tmp_path: Path) -> None:
    write(tmp_path, {"metric": "errors", "agg": "rate", "condition": "> 0.1"})
    with pytest.raises(ConfigError, match="a rule without a name: name: is required"):
        load_settings(tmp_path, environ={})
    write(tmp_path, {"name": "e", "agg": "rate", "condition": "> 0.1"})
    with pytest.raises(ConfigError, match="rule 'e': metric: is required"):
        load_settings(tmp_path, environ={})


def test_two_rules_with_one_name(tmp_path: Path) -> None:
    write(tmp_path, GOOD_RULE, GOOD_RULE)
    with pytest.raises(ConfigError, match="rule 'ask-p95': name: two rules share this name"):
        load_settings(tmp_path, environ={})


def test_conditions_parse_to_what_they_say() -> None:
    assert parse_condition("> 2000").crosses(2001) and not parse_condition("> 2000").crosses(2000)
    assert parse_condition(">= 2000").crosses(2000)
    assert parse_condition("<0.9").crosses(0.89) and not parse_condition("< 0.9").crosses(0.9)
    up = parse_condition("increase 50%")
    assert (up.kind, up.op, up.threshold) == ("increase", ">=", 50.0)
    assert parse_condition("Decrease 20 %").kind == "decrease"
    with pytest.raises(ValueError, match="is not a condition"):
        parse_condition("== 3")


def test_a_channel_must_be_a_configured_notifier(tmp_path: Path) -> None:
    write(tmp_path, {**GOOD_RULE, "channels": ["slack", "pager"]})
    with pytest.raises(ConfigError) as e:
        load_settings(tmp_path, environ={})
    assert "rule 'ask-p95': channels: 'slack' is not a configured notifier" in str(e.value)
    assert "(configured: none; add it under monitor.notifiers)" in str(e.value)
    config = yaml.safe_load((tmp_path / "ragline.yaml").read_text())
    config["monitor"] = {"notifiers": {"slack": {"type": "file", "path": "alerts.jsonl"}}}
    (tmp_path / "ragline.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(
        ConfigError, match=r"'pager' is not a configured notifier \(configured: slack;"
    ):
        load_settings(tmp_path, environ={})
    config["monitor"]["notifiers"]["pager"] = {"type": "file", "path": "-"}
    (tmp_path / "ragline.yaml").write_text(yaml.safe_dump(config))
    s = load_settings(tmp_path, environ={})
    assert s.alerts.rules[0].channels == ["slack", "pager"]


def test_the_readme_example_loads(tmp_path: Path) -> None:
    import re

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Alerts", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None
    (tmp_path / "ragline.yaml").write_text(block.group(1))
    s = load_settings(tmp_path, environ={})
    assert [r.name for r in s.alerts.rules] == [
        "ask-p95",
        "finance-hallucinations",
        "support-drop",
        "retrieval-drift",
    ]
