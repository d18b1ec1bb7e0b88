"""``ragline experiments report``: live traces and feedback of a real project, per variant."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import ragline
from ragline.cli import app
from ragline.testing import HashEmbedder

runner = CliRunner()
WIDE = {"COLUMNS": "200"}
ASKS = 34


@pytest.fixture(scope="module")
def project_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A shadow experiment (control k=4, shadow k1) after 34 asks, 10 thumbs up, 2 down."""
    root = tmp_path_factory.mktemp("experiments-cli")
    docs = root / "docs"
    docs.mkdir()
    for i in range(4):
        (docs / f"d{i}.md").write_text(
            f"# Warranty {i}\n\nThe X{i}00 has a {i + 1}-year warranty.\n"
        )
    config = {
        "embedder": "hash",
        "tenants": {"acme": {}},
        "retrieval": {"k": 4},
        "experiments": [
            {
                "name": "narrow",
                "mode": "shadow",
                "tenants": ["acme"],
                "variants": [{"name": "control"}, {"name": "k1", "retrieval": {"k": 1}}],
            },
            {
                "name": "later",
                "tenants": ["default"],
                "variants": [{"name": "a"}, {"name": "b"}],
            },
        ],
    }
    (root / "ragline.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    with ragline.Project(root, embedder=HashEmbedder()) as project:
        project.ingest([docs], tenant="acme")
        answers = [
            project.ask("How long is the X100 warranty?", tenant="acme", user=f"u{i}")
            for i in range(ASKS)
        ]
        for i, answer in enumerate(answers[:12]):
            project.add_feedback(answer.trace_id or "", "good" if i < 10 else "hallucination")
    return root


def _report(project_dir: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["-C", str(project_dir), "experiments", "report", *args], env=WIDE)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return 1, f"error: {result.exception}"
    return result.exit_code, result.output


def test_the_report_counts_served_and_shadow_answers_with_feedback(project_dir: Path) -> None:
    code, out = _report(project_dir, "narrow", "--json")
    assert code == 0, out
    report = json.loads(out)
    control, k1 = report["variants"]
    assert (control["variant"], control["requests"], control["shadow"]) == ("control", ASKS, False)
    assert (k1["variant"], k1["requests"], k1["shadow"]) == ("k1", ASKS, True)
    assert (control["thumbs_up"]["hits"], control["thumbs_up"]["n"]) == (10, 12)
    assert k1["thumbs_up"]["n"] == 0
    assert control["latency_p50_ms"] > 0 and k1["latency_p95_ms"] >= k1["latency_p50_ms"]
    by_metric = {c["metric"]: c for c in report["comparisons"]}
    assert by_metric["latency_ms"]["difference"]["method"] == "bootstrap (paired)"
    assert by_metric["abstention"]["difference"]["method"] == "bootstrap (paired), McNemar"
    assert by_metric["thumbs_up"]["note"] == "no feedback: shadow answers are never shown"
    assert report["warnings"] == []


def test_the_table_says_which_test_and_when_there_is_not_enough_data(project_dir: Path) -> None:
    code, out = _report(project_dir, "narrow", "--min-n", "50")
    assert code == 0, out
    assert "experiment narrow (mode shadow; control control)" in out
    assert "k1 (shadow)" in out
    assert "not enough data yet (n = 34 vs 34; at least 50 each)" in out
    assert "warning: variant 'control' has 34 requests (fewer than 50)" in out
    code, out = _report(project_dir, "narrow")
    assert "bootstrap (paired)" in out and "McNemar" in out


def test_an_experiment_with_no_traffic_yet_reports_zeros(project_dir: Path) -> None:
    code, out = _report(project_dir, "later", "--json")
    assert code == 0, out
    report = json.loads(out)
    assert [v["requests"] for v in report["variants"]] == [0, 0]
    assert all(c["difference"] is None for c in report["comparisons"])


def test_an_unknown_experiment_is_one_clear_error(project_dir: Path) -> None:
    code, out = _report(project_dir, "narow")
    assert code != 0
    assert "no experiment named 'narow'" in out and "narrow, later" in out
