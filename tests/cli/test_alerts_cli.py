"""``ragline monitor status|run`` and ``ragline alerts list|history|silence|unsilence``
through the real command line, on a SQLite project whose rules see no traffic."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from ragline.cli import app
from ragline.errors import InputError
from ragline.store.sqlite._alerts import SQLiteAlertStore

runner = CliRunner()
WIDE = {"COLUMNS": "200"}

CONFIG = """\
embedder: hash
alerts:
  rules:
    - name: no-traffic
      metric: requests
      agg: count
      window: 10m
      condition: "< 1"
      no_data: alert
      severity: error
      labels: {team: search}
    - name: ask-p95
      metric: latency
      agg: p95
      filter: {route: ask}
      window: 5m
      condition: "> 2000"
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "ragline.yaml").write_text(CONFIG)
    return tmp_path


def cli(root: Path, *args: str) -> Result:
    return runner.invoke(app, ["-C", str(root), *args], env=WIDE)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def as_json(root: Path, *args: str) -> Any:
    return json.loads(ok(cli(root, *args, "--json")).stdout)


def fails(result: Result, message: str) -> str:
    assert result.exit_code != 0
    assert isinstance(result.exception, InputError), (result.output, result.exception)
    assert message in str(result.exception), str(result.exception)
    return str(result.exception)


def test_status_shows_each_rule_without_changing_anything(root: Path) -> None:
    rules = as_json(root, "monitor", "status")
    assert [(r["rule"], r["state"], r["value"]) for r in rules] == [
        ("no-traffic", "inactive", None),
        ("ask-p95", "inactive", None),
    ]
    assert rules[1]["threshold"] == 2000 and "has no data" in rules[1]["summary"]
    table = ok(cli(root, "monitor", "status")).stdout
    assert "no-traffic" in table and "ask-p95" in table and "no data" in table
    assert as_json(root, "alerts", "history") == []  # status evaluates nothing


def test_run_once_fires_once_and_the_history_says_so(root: Path) -> None:
    first = as_json(root, "monitor", "run", "--once")
    assert first["evaluated"] is True
    states = {r["rule"]: r["state"] for r in first["rules"]}
    assert states == {"no-traffic": "firing", "ask-p95": "inactive"}  # no_data: alert / ok
    assert [n["rule"] for n in first["notifications"]] == ["no-traffic"]
    second = as_json(root, "monitor", "run", "--once")
    assert second["notifications"] == []  # one incident, one notification
    listed = as_json(root, "alerts", "list")
    assert [(a["rule"], a["state"], a["notified"]) for a in listed["alerts"]] == [
        ("no-traffic", "firing", "firing")
    ]
    assert len(as_json(root, "alerts", "list", "--all")["alerts"]) == 2
    history = as_json(root, "alerts", "history", "--rule", "no-traffic")
    assert [e["event"] for e in history] == ["notified", "firing"]
    assert history[1]["value"] is None and history[1]["threshold"] == 1
    assert history[1]["detail"]["no_data"] == "alert"
    table = ok(cli(root, "alerts", "history")).stdout
    assert "firing" in table and "no channels configured" in table
    assert as_json(root, "alerts", "history", "--since", "1h", "--limit", "1")[0]["event"] == (
        "notified"
    )


def test_silence_and_unsilence_are_recorded(root: Path) -> None:
    silence = as_json(
        root, "alerts", "silence", "no-traffic", "--for", "2h", "-m", "maintenance", "--author",
        "ana",
    )  # fmt: skip
    assert silence["matchers"] == {"rule": "no-traffic"} and silence["active"] is True
    assert silence["ends_at"] - silence["starts_at"] == 7200
    run = as_json(root, "monitor", "run", "--once")
    assert run["notifications"] == []  # held
    assert run["rules"][0]["state"] == "firing" and run["rules"][0]["silenced_by"] == silence["id"]
    listed = ok(cli(root, "alerts", "list")).stdout
    assert silence["id"] in listed and "maintenance" in listed
    ended = as_json(root, "alerts", "unsilence", silence["id"], "--author", "bo")
    assert ended["active"] is False and ended["ended_by"] == "bo"
    run = as_json(root, "monitor", "run", "--once")
    assert [n["rule"] for n in run["notifications"]] == ["no-traffic"]  # owed, now sent
    events = [(e["event"], e["actor"]) for e in as_json(root, "alerts", "history")]
    assert ("silence", "ana") in events and ("unsilence", "bo") in events
    assert [e for e, _ in events].count("silenced") == 1
    fails(cli(root, "alerts", "unsilence", silence["id"]), "no active silence")


def test_a_label_silence_of_any_rule(root: Path) -> None:
    silence = as_json(root, "alerts", "silence", "*", "--label", "team=search", "--for", "30m")
    assert silence["matchers"] == {"team": "search"}
    assert as_json(root, "monitor", "run", "--once")["notifications"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "no alert rule named 'nope'"),
        (["no-traffic", "--for", "soon"], "bad --for value 'soon'"),
        (["no-traffic", "--for", "0"], "bad --for value '0'"),
        (["*"], "silencing '*' needs at least one --label"),
        (["no-traffic", "--label", "team"], "bad --label 'team'"),
    ],
)
def test_bad_silences_are_one_clear_error_and_store_nothing(
    root: Path, args: list[str], message: str
) -> None:
    fails(cli(root, "alerts", "silence", *args), message)
    assert as_json(root, "alerts", "list")["silences"] == []
    assert as_json(root, "alerts", "history") == []


def test_run_once_skips_while_another_evaluator_holds_the_lock(root: Path) -> None:
    store = SQLiteAlertStore(root / "ragline.db")
    held = store.evaluator_lock()
    assert held.acquire()
    try:
        out = as_json(root, "monitor", "run", "--once")
        assert out["evaluated"] is False and "another evaluator" in out["reason"]
        assert as_json(root, "alerts", "history") == []  # nothing evaluated
        assert "skipped" in ok(cli(root, "monitor", "run", "--once")).stderr
    finally:
        held.release()
        store.close()
    assert as_json(root, "monitor", "run", "--once")["evaluated"] is True


def test_a_bad_rule_is_one_line_naming_it(root: Path) -> None:
    (root / "ragline.yaml").write_text(CONFIG.replace("agg: p95", "agg: p42"))
    result = cli(root, "monitor", "status")
    assert result.exit_code != 0
    assert "rule 'ask-p95': agg: 'p42' is not an aggregation of metric latency" in str(
        result.exception
    )


def test_no_rules(tmp_path: Path) -> None:
    assert as_json(tmp_path, "monitor", "status") == []
    assert "no alert rules" in ok(cli(tmp_path, "monitor", "status")).stdout
    assert as_json(tmp_path, "alerts", "list") == {"alerts": [], "silences": []}
