"""``ragline monitor metrics`` and ``ragline traces prune`` through the real command line."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from ragline.cli import app
from ragline.errors import InputError
from ragline.store._rollups import RollupRow, minute_of
from ragline.store.sqlite import SQLiteRollupStore, SQLiteTraceStore

runner = CliRunner()
WIDE = {"COLUMNS": "160"}


def cli(root: Path, *args: str) -> Result:
    return runner.invoke(app, ["-C", str(root), "--embedder", "hash", *args], env=WIDE)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("monitor")
    docs = root / "docs"
    docs.mkdir()
    (docs / "warranty.md").write_text(
        "# Warranty\n\nThe battery is covered by a warranty of two years from the date of "
        "purchase.\n\nThe frame carries a lifetime warranty for the first owner.\n"
    )
    (root / "ragline.yaml").write_text(
        "embedder: hash\nrouting:\n  - name: warranty\n    when: {query_matches: warranty}\n"
        "    boost: {doc_type: legal, factor: 2}\n"
    )
    ok(cli(root, "ingest", str(docs)))
    ok(cli(root, "ask", "How long is the battery warranty?"))
    ok(cli(root, "ask", "When do orders ship to Spain?"))
    ok(cli(root, "ask", "Is the frame covered?", "--tenant", "acme"))
    return root


def metrics(root: Path, *args: str) -> dict[str, dict[str, object]]:
    data = json.loads(ok(cli(root, "monitor", "metrics", "--json", *args)).stdout)
    return {
        m["metric"] + "".join(f"[{k}={v}]" for k, v in m["filters"].items()): m
        for m in data["metrics"]
    }


def test_metrics_json_has_every_metric_over_the_window(project: Path) -> None:
    from ragline.monitor import METRICS

    found = metrics(project, "--window", "1h")
    assert set(METRICS) <= set(found)
    assert found["requests"]["value"] == 3
    assert found["errors"]["value"] == 0 and found["errors"]["samples"] == 3
    assert found["latency"]["percentiles"]["p95"] is not None  # type: ignore[index]
    assert "latency[stage=retrieve]" in found
    assert found["tokens"]["value"] is None  # the extractive answerer uses no model: no data


def test_metrics_slice_by_tenant_and_route(project: Path) -> None:
    assert metrics(project, "--tenant", "acme")["requests"]["value"] == 1
    assert metrics(project, "--route", "warranty")["requests"]["value"] == 1
    assert metrics(project, "--tenant", "nobody")["requests"]["value"] is None


def test_metrics_table_shows_no_data_as_a_dash(project: Path) -> None:
    out = ok(cli(project, "monitor", "metrics", "-w", "30m")).stdout
    assert "metrics, last 30m" in out
    line = next(x for x in out.splitlines() if "requests" in x)
    assert "3 count" in line
    assert "latency[stage=retrieve]" in out
    tokens = next(x for x in out.splitlines() if "tokens" in x)
    assert "—" in tokens


def test_a_bad_window_is_one_clear_line(project: Path) -> None:
    result = cli(project, "monitor", "metrics", "--window", "an hour")
    assert result.exit_code != 0
    assert isinstance(result.exception, InputError)
    assert "--window 'an hour' is not a duration" in str(result.exception)
    assert "--window '0s' must be longer than zero" in str(
        cli(project, "monitor", "metrics", "--window", "0s").exception
    )


def test_monitor_help_lists_metrics() -> None:
    out = runner.invoke(app, ["monitor", "--help"], env=WIDE).stdout
    assert "metrics" in out


def test_prune_deletes_old_traces_and_rollups(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n\nThe battery warranty lasts two years from purchase.\n")
    ok(cli(tmp_path, "ingest", str(docs)))
    ok(cli(tmp_path, "ask", "How long is the battery warranty?"))
    db = tmp_path / "ragline.db"
    # an old trace and old rollups, as if written 40 days ago
    traces = SQLiteTraceStore(db)
    from ragline.testing._trace_conformance import make_trace

    old = time.time() - 40 * 86400
    traces.write_spans(make_trace(7, start=old))
    rollups = SQLiteRollupStore(db)
    rollups.add([RollupRow(minute_of(old), "default", "", "requests", "", 5, 5.0, 1.0)])
    before_traces = traces.count_traces()
    dry = json.loads(
        ok(
            cli(
                tmp_path,
                "traces",
                "prune",
                "--older-than",
                "30d",
                "--rollups-older-than",
                "30d",
                "--dry-run",
                "--json",
            )
        ).stdout
    )
    assert (dry["traces"], dry["spans"], dry["rollup_rows"], dry["dry_run"]) == (1, 3, 1, True)
    assert traces.count_traces() == before_traces  # a dry run deletes nothing
    out = ok(cli(tmp_path, "traces", "prune", "--older-than", "30d")).stdout
    assert "deleted 1 trace (3 spans, 0 feedback items) older than 30d" in out
    assert traces.count_traces() == before_traces - 1
    assert len(rollups.rows(metrics=["requests"], until=minute_of(old) + 60)) == 1  # kept
    ok(cli(tmp_path, "traces", "prune", "--rollups-older-than", "30d"))
    assert rollups.rows(metrics=["requests"], until=minute_of(old) + 60) == []
    assert metrics(tmp_path)["requests"]["value"] == 1  # today's rollups untouched
    traces.close()
    rollups.close()


def test_prune_uses_the_configured_retention(tmp_path: Path) -> None:
    (tmp_path / "ragline.yaml").write_text(
        "embedder: hash\nmonitor:\n  retention:\n    traces: 7d\n    rollups: 90d\n"
    )
    out = ok(cli(tmp_path, "traces", "prune", "--dry-run")).stdout
    assert "would delete 0 traces" in out and "older than 1w" in out and "older than 90d" in out


def test_prune_without_an_age_says_how(tmp_path: Path) -> None:
    (tmp_path / "ragline.yaml").write_text("embedder: hash\n")
    result = cli(tmp_path, "traces", "prune")
    assert isinstance(result.exception, InputError)
    assert "nothing to prune" in str(result.exception)
    bad = cli(tmp_path, "traces", "prune", "--older-than", "-3d")
    assert isinstance(bad.exception, InputError) and "not a duration" in str(bad.exception)
