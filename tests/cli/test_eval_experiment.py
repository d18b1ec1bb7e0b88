"""``ragline eval run DATASET --experiment NAME``: the suite once per variant (same
store, same cache), each compared with the control; bad combinations refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from ragline.cli import app

DOCS = {
    "warranty.md": "# Warranty\n\nThe frame has a two year warranty.\n",
    "shipping.md": "# Shipping\n\nExpress shipping costs 15 euros.\n",
    "returns.md": "# Returns\n\nYou can return a bike within 30 days.\n",
}
CASES = [
    {"id": "w", "question": "How long is the frame warranty?", "must_contain": ["two year"]},
    {"id": "s", "question": "How much does express shipping cost?", "must_contain": ["15 euros"]},
    {"id": "r", "question": "How many days to return a bike?", "must_contain": ["30 days"]},
]


@pytest.fixture(scope="module")
def proj(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("eval-experiment")
    docs = root / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text)
    (root / "cases.jsonl").write_text("".join(json.dumps(c) + "\n" for c in CASES))
    config = {
        "embedder": "hash",
        "experiments": [
            {
                "name": "narrow",
                "mode": "shadow",
                "variants": [
                    {"name": "control"},
                    {"name": "k1", "retrieval": {"k": 1}},
                    {"name": "keyword", "retrieval": {"mode": "keyword"}},
                ],
            }
        ],
    }
    (root / "ragline.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    result = CliRunner().invoke(app, ["-C", str(root), "ingest", str(docs)])
    assert result.exit_code == 0, result.output
    return root


def cli(proj: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["-C", str(proj), "eval", "run", *args])


def test_each_variant_runs_the_suite_and_is_compared_with_the_control(proj: Path) -> None:
    result = cli(proj, str(proj / "cases.jsonl"), "--experiment", "narrow", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["control"] == "control" and set(out["runs"]) == {"control", "k1", "keyword"}
    assert len(set(out["runs"].values())) == 3
    assert set(out["comparisons"]) == {"k1", "keyword"}
    k1 = out["comparisons"]["k1"]
    assert k1["common_cases"] == 3
    assert k1["config_diff"] == [{"key": "retrieval.k", "a": 5, "b": 1}]  # only its override
    keyword = out["comparisons"]["keyword"]
    assert [d["key"] for d in keyword["config_diff"]] == ["retrieval.mode"]
    listed = CliRunner().invoke(app, ["-C", str(proj), "eval", "list", "--json"])
    names = {r["name"] for r in json.loads(listed.stdout)}
    assert {"narrow:control", "narrow:k1", "narrow:keyword"} <= names
    # offline runs leave no live traces for `ragline experiments report` to count
    report = CliRunner().invoke(app, ["-C", str(proj), "experiments", "report", "narrow", "--json"])
    assert [v["requests"] for v in json.loads(report.stdout)["variants"]] == [0, 0, 0]


def test_a_second_run_of_unchanged_variants_comes_from_the_cache(proj: Path) -> None:
    first = json.loads(
        cli(proj, str(proj / "cases.jsonl"), "--experiment", "narrow", "--json").stdout
    )
    again = json.loads(
        cli(proj, str(proj / "cases.jsonl"), "--experiment", "narrow", "--json").stdout
    )
    for name, summary in again["summaries"].items():
        assert summary["cached"] == 3, (name, summary)
    assert first["runs"] != again["runs"]


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        (["--experiment", "nope"], "no experiment named 'nope'"),
        (["--experiment", "narrow", "--target", "http://127.0.0.1:9"], "does not combine"),
        (["--experiment", "narrow", "--resume", "abc"], "does not combine"),
    ],
)
def test_bad_experiment_runs_are_one_clear_error(proj: Path, extra: list[str], error: str) -> None:
    result = cli(proj, str(proj / "cases.jsonl"), *extra)
    assert result.exit_code != 0
    text = result.output + (str(result.exception) if result.exception else "")
    assert error in text, text
