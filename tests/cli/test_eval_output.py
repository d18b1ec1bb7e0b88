"""What ``ragline eval`` prints: warnings of what could not be scored (on stderr, in the
stored run, in ``eval report`` table/JSON/HTML; ``--strict`` fails with one line), and
tables that fit the terminal (``COLUMNS``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ragline.cli import app

DOCS = {
    "warranty.md": "# Warranty\n\nThe frame has a two year warranty.\n",
    "shipping.md": "# Shipping\n\nExpress shipping costs 15 euros.\n",
}
CASES = [
    {"id": "fine", "question": "What does express shipping cost?", "must_contain": ["15 euros"]},
    {"id": "blank", "question": "How long is the frame warranty?", "must_contain": ["  "]},
    {"id": "moved", "question": "Express shipping?", "gold_doc_ids": ["kb/shipping.md"]},
]


@pytest.fixture(scope="module")
def proj(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("proj")
    docs = root / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text)
    result = CliRunner().invoke(app, ["-C", str(root), "--embedder", "hash", "ingest", str(docs)])
    assert result.exit_code == 0, result.output
    return root


def cli(proj: Path, *args: str, columns: int = 120) -> Any:
    return CliRunner().invoke(
        app, ["-C", str(proj), "--embedder", "hash", "eval", *args], env={"COLUMNS": str(columns)}
    )


def write(proj: Path, name: str, cases: list[dict[str, Any]]) -> str:
    path = proj / name
    path.write_text("".join(json.dumps(c) + "\n" for c in cases))
    return str(path)


def warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warning: ")]


def test_run_warns_on_stderr_and_every_report_format_shows_it(proj: Path) -> None:
    result = cli(proj, "run", write(proj, "w.jsonl", CASES), "--json", "--name", "warned")
    assert result.exit_code == 0, result.output
    lines = warnings(result.stderr)
    assert any("none of the 1 cases' gold documents are in the store" in w for w in lines)
    assert any(w.startswith("warning: must_contain: n/a on 1 of 2 cases") for w in lines)
    summary = json.loads(result.stdout)["summary"]
    kinds = {w["kind"]: w for w in summary["warnings"]}
    assert kinds["missing_gold"]["examples"] == ["kb/shipping.md"]
    assert kinds["metric_na"]["subject"] == "must_contain" and kinds["metric_na"]["count"] == 1
    # the stored run: every case kept, the warnings with it
    report = json.loads(cli(proj, "report", "warned", "--format", "json").stdout)
    assert len(report["results"]) == 3
    assert [w["kind"] for w in report["summary"]["warnings"]] == [
        w["kind"] for w in summary["warnings"]
    ]
    table = cli(proj, "report", "warned").stdout
    assert "warnings (2):" in table and "must_contain: n/a on 1 of 2 cases" in table
    row = next(line for line in table.splitlines() if "must_contain" in line.split())
    assert "1 of 2" in row
    html = proj / "warned.html"
    assert cli(proj, "report", "warned", "--format", "html", "-o", str(html)).exit_code == 0
    page = html.read_text()
    assert "Warnings (2)" in page and "kb/shipping.md" in page


def test_strict_after_the_run_exits_1_with_one_line_and_keeps_the_run(proj: Path) -> None:
    cases = CASES[:2]  # the dataset is fine; one case's metric cannot be computed
    result = cli(proj, "run", write(proj, "s.jsonl", cases), "--strict", "--name", "strict")
    assert result.exit_code == 1, result.output
    last = result.stderr.splitlines()[-1]
    assert last.startswith("error: --strict: run ") and "1 evaluation warning: " in last
    assert "must_contain n/a on 1 of 2 cases" in last and "ragline eval report" in last
    assert "all (2)" in result.stdout  # the report was printed all the same
    runs = json.loads(cli(proj, "list", "--json").stdout)
    stored = next(r for r in runs if r["name"] == "strict")
    assert stored["status"] == "complete" and stored["summary"]["warnings"]
    # a clean dataset passes --strict
    clean = cli(proj, "run", write(proj, "c.jsonl", CASES[:1]), "--strict", "--json")
    assert clean.exit_code == 0, clean.output
    assert warnings(clean.stderr) == [] and json.loads(clean.stdout)["summary"]["warnings"] == []


def test_a_gate_on_a_metric_na_everywhere_fails_saying_so(proj: Path) -> None:
    result = cli(proj, "run", write(proj, "g.jsonl", CASES[1:2]), "--json")
    assert result.exit_code == 0, result.output
    rid = json.loads(result.stdout)["run"]
    gates = proj / "gates.yaml"
    gates.write_text("- all.must_contain >= 0.9\n")
    gated = cli(proj, "gate", rid, "--gates", str(gates))
    assert gated.exit_code == 1
    assert "n/a: must_contain could not be computed on any of the 1 cases" in gated.stdout
    assert "(empty_facts: 1)" in gated.stdout and "0.000" not in gated.stdout


@pytest.mark.parametrize("columns", [80, 200])
def test_compare_and_report_fit_the_terminal(proj: Path, columns: int) -> None:
    data = write(proj, "f.jsonl", [*CASES[:1], {**CASES[0], "id": "two", "category": "safety"}])
    for name, extra in (("fit-a", []), ("fit-b", ["--set", "answer.min_relevance=0.99"])):
        assert cli(proj, "run", data, "--name", name, "--json", *extra).exit_code == 0
    for args in (("compare", "fit-a", "fit-b"), ("report", "fit-a")):
        result = cli(proj, *args, columns=columns)
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        assert max(len(line) for line in lines) <= columns, args
        rule = next(i for i, line in enumerate(lines) if line.startswith("─"))
        heads = lines[rule - 1].split()
        assert len(set(heads)) == len(heads)
        assert "…" not in "\n".join(lines[rule - 1 :])  # nothing cut ("…" is in CI ranges)
    out = cli(proj, "compare", "fit-a", "fit-b", columns=columns).stdout
    if columns == 80:
        assert "Δ = B − A" in out and "CI = 95% interval of Δ" in out
    else:
        assert "McNemar p" in out and "Δ (B−A)" in out and "Δ = B − A" not in out


def test_headline_scores_in_report_compare_and_gates(proj: Path) -> None:
    data = write(proj, "h.jsonl", CASES[:2])
    runs = []
    for name, extra in (("head-a", []), ("head-b", ["--set", "answer.min_relevance=0.99"])):
        result = cli(proj, "run", data, "--name", name, "--json", *extra)
        assert result.exit_code == 0, result.output
        runs.append(json.loads(result.stdout))
    score_a = runs[0]["summary"]["categories"]["factual_accuracy"]["score"]
    assert score_a["n"] == 1 and score_a["na"] == 1  # blank has no headline value: n/a
    assert 0 < score_a["mean"] <= 1
    assert runs[1]["summary"]["categories"]["factual_accuracy"]["score"]["mean"] < score_a["mean"]
    report = cli(proj, "report", "head-a", columns=120).stdout
    assert f"factual accuracy {score_a['mean']:.3f} (1 case; n/a on 1 of 2)" in report
    compare = cli(proj, "compare", "head-a", "head-b", columns=120).stdout
    line = next(x for x in compare.splitlines() if x.startswith("factual accuracy "))
    assert line.startswith(f"factual accuracy {score_a['mean']:.3f} → ")
    assert " points (95% CI −" in line
    as_json = json.loads(cli(proj, "compare", "head-a", "head-b", "--json").stdout)
    (cat,) = as_json["categories"]
    assert cat["category"] == "factual_accuracy" and cat["delta"] < 0
    gates = proj / "score-gates.yaml"
    gates.write_text(f"- factual_accuracy.score >= {score_a['mean'] - 0.01:.3f}\n")
    assert cli(proj, "gate", "head-a", "--gates", str(gates)).exit_code == 0
    failed = cli(proj, "gate", "head-b", "--gates", str(gates))
    assert failed.exit_code == 1 and "FAIL  factual_accuracy.score >=" in failed.stdout
