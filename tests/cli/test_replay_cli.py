"""``ragline replay`` and ``ragline routing test`` through the real command line.

The story on a tmp copy of the sample knowledge base: questions are asked with
``ragline ask`` (each traced), three finance answers are reported as hallucinations
with ``ragline feedback add``, and a currency routing rule is replayed with ``--set``
before it ships. The asks whose retrieval the rule changes (checked against plain
searches with and without it) are exactly those reported as changed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from ragline import Project
from ragline.cli import app
from ragline.errors import ConfigError, InputError, RaglineError

REPO = Path(__file__).resolve().parents[2]
SAMPLE_KB = REPO / "examples" / "sample-kb"
runner = CliRunner()

QUESTIONS = [
    "What was Helio's revenue in fiscal year 2025?",
    "How much net profit did Helio make in EUR in 2025?",
    "Did revenue grow above EUR 40 million?",
    "What dividend per share in EUR was paid?",
    "How much is shipping for an order over EUR 100?",
    "How long does delivery to Germany take?",
    "Do you ship to the United States?",
    "Is express delivery available for USD 30?",
    "What is the return window for a bike?",
    "How long is the battery warranty?",
    "Is there a restocking fee of $50 for returns?",
    "How do I contact support?",
]
HARMFUL = "How much is shipping for an order over EUR 100?"
RULE_YAML = (
    "routing=[{name: currency, when: {query_matches: '(\\$|€|£)\\s?\\d|\\bUSD\\b|\\bEUR\\b'},"
    " boost: {doc_type: finance, factor: 1.5}}]"
)
RULE: dict[str, Any] = {
    "name": "currency",
    "when": {"query_matches": r"(\$|€|£)\s?\d|\bUSD\b|\bEUR\b"},
    "boost": {"doc_type": "finance", "factor": 1.5},
}


def cli(root: Path, *args: str, columns: int = 150) -> Result:
    return runner.invoke(app, ["-C", str(root), *args], env={"COLUMNS": str(columns)})


def ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def fails(result: Result, kind: type[RaglineError], message: str) -> str:
    assert result.exit_code != 0
    assert isinstance(result.exception, kind), (result.output, result.exception)
    assert message in str(result.exception), str(result.exception)
    return str(result.exception)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("replay-cli")
    shutil.copytree(SAMPLE_KB, root / "kb")
    (root / "ragline.yaml").write_text(
        'embedder: hash\ntenants:\n  secret: {trace_content: "off"}\n', encoding="utf-8"
    )
    ok(cli(root, "ingest", str(root / "kb")))
    for q in QUESTIONS:
        ok(cli(root, "ask", q))
    ok(cli(root, "ask", "How long does delivery take?", "--tenant", "secret"))
    for q in QUESTIONS[1:4]:
        ok(cli(root, "feedback", "add", trace_of(root, q), "--kind", "hallucination"))
    return root


def traces(root: Path, *extra: str) -> list[dict[str, Any]]:
    data = json.loads(ok(cli(root, "traces", "list", "--json", "-n", "1000", *extra)).output)
    return [t for t in data if t["name"] == "ragline.ask"]


def trace_of(root: Path, question: str) -> str:
    [t] = [t for t in traces(root) if t["question"] == question]
    return str(t["trace_id"])


def replay_json(root: Path, *args: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(ok(cli(root, "replay", "--json", *args)).output)
    return data


def test_replay_reports_exactly_the_asks_the_rule_changes(root: Path) -> None:
    def hits(project: Project, q: str) -> list[str]:
        return [h.chunk.id for h in project.search(q)]

    with Project(root) as plain, Project(root, overrides={"routing": [RULE]}) as ruled:
        expected = {q for q in QUESTIONS if hits(plain, q) != hits(ruled, q)}
    assert HARMFUL in expected and len(expected) < len(QUESTIONS)

    data = replay_json(root, "--tenant", "default", "--set", RULE_YAML, "--retrieval-only")
    changed = {a["question"] for a in data["asks"] if a["changed"]}
    assert changed == expected
    assert data["counts"]["changed"] == len(expected)
    assert data["counts"]["unchanged"] == len(QUESTIONS) - len(expected)
    [harmful] = [a for a in data["asks"] if a["question"] == HARMFUL]
    assert "kb/shipping.md" in harmful["documents_lost"]
    assert harmful["now"]["document_ids"][0] == "kb/helio-annual-report-fy2025.pdf"
    assert harmful["rule_matches"][0]["matched"] == "EUR"


def test_json_schema(root: Path) -> None:
    data = replay_json(root, "--tenant", "default", "--set", RULE_YAML)
    assert set(data) == {"config", "retrieval_only", "counts", "asks", "skipped"}
    assert data["config"]["overrides"]["routing"][0]["name"] == "currency"
    assert set(data["counts"]) >= {"replayed", "changed", "unchanged", "improved", "worsened"}
    for ask in data["asks"]:
        assert set(ask) >= {
            "trace_id",
            "question",
            "changed",
            "changes",
            "documents_gained",
            "documents_lost",
            "rank_changes",
            "rule_matches",
            "then",
            "now",
            "feedback",
            "documents_changed",
            "verdict",
        }
        for side in (ask["then"], ask["now"]):
            assert set(side) == {
                "rules",
                "chunk_ids",
                "document_ids",
                "answer",
                "citations",
                "abstained",
                "support",
                "answer_relevance",
            }
            assert isinstance(side["answer"], str) and isinstance(side["support"], float)
    reported = [a for a in data["asks"] if "hallucination" in a["feedback"]]
    assert len(reported) == 3
    assert all(a["verdict"] == ("improved" if a["changed"] else "unresolved") for a in reported)


def test_the_table_fits_80_columns_with_whole_headers_and_a_legend(root: Path) -> None:
    out = ok(cli(root, "replay", "--set", RULE_YAML, "--all", columns=80)).output
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    header = next(line for line in lines if line.lstrip().startswith("#"))
    assert re.findall(r"\S+", header) == [
        "#",
        "trace",
        "question",
        "rules",
        "documents",
        "answer",
        "verdict",
    ]
    assert "rules: +R fires now" in out and "not replayed (1):" in out
    assert "content tracing off" in out
    assert "+currency" in out and "[EUR]" in out
    fast = ok(cli(root, "replay", "--set", RULE_YAML, "--retrieval-only", columns=80)).output
    assert max(len(line) for line in fast.splitlines()) <= 80
    assert "n/a" in fast and "(retrieval only)" in fast


def test_the_table_uses_200_columns_without_folding(root: Path) -> None:
    narrow = ok(cli(root, "replay", "--set", RULE_YAML, "--all", columns=80)).output
    wide = ok(cli(root, "replay", "--set", RULE_YAML, "--all", columns=200)).output
    lines = wide.splitlines()
    assert max(len(line) for line in lines) <= 200
    header = next(line for line in lines if line.lstrip().startswith("#"))
    heads = re.findall(r"\S+", header)
    assert heads == ["#", "trace", "question", "rules", "documents", "answer", "verdict"]
    assert len(set(heads)) == len(heads) and "rules: +R fires now" in wide
    # the harmful question fits on one line at 200 (it folds at 80): the width is used
    assert any(HARMFUL in line for line in lines)
    assert not any(HARMFUL in line for line in narrow.splitlines())
    assert len(lines) < len(narrow.splitlines())


def test_html_report_is_written_and_self_contained(root: Path, tmp_path: Path) -> None:
    path = tmp_path / "replay.html"
    ok(cli(root, "replay", "--tenant", "default", "--set", RULE_YAML, "--html", str(path)))
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert "<script" not in page and not re.search(r"(src|href)=\"?https?:", page)
    for q in QUESTIONS:
        assert q.replace("'", "&#x27;") in page
    assert "then (trace)" in page and "now (replay)" in page
    assert 'class="lost">kb/shipping.md</li>' in page  # the harmful ask lost it


def test_trace_ids_from_options_and_a_file(root: Path, tmp_path: Path) -> None:
    ids = [trace_of(root, HARMFUL), trace_of(root, QUESTIONS[0])]
    file = tmp_path / "ids.txt"
    file.write_text(f"# the reports\n{ids[0]}\n\n{ids[1][:12]}  # prefix\n", encoding="utf-8")
    by_file = replay_json(root, "--trace-file", str(file))
    by_option = replay_json(root, "--trace", ids[0], "--trace", ids[1])
    assert {a["trace_id"] for a in by_file["asks"]} == set(ids)
    assert by_file["asks"] == by_option["asks"]
    reported = replay_json(root, "--feedback", "hallucination")
    assert {a["question"] for a in reported["asks"]} == set(QUESTIONS[1:4])
    sampled = replay_json(root, "--tenant", "default", "--sample", "4", "--seed", "3")
    assert len(sampled["asks"]) == 4
    assert sampled == replay_json(root, "--tenant", "default", "--sample", "4", "--seed", "3")


def test_bad_input_is_a_clear_error_and_writes_nothing(root: Path, tmp_path: Path) -> None:
    before = len(traces(root))
    fails(cli(root, "replay", "--set", "retrieval.kk=3"), ConfigError, "retrieval.kk: unknown key")
    fails(cli(root, "replay", "--set", "retrieval.k"), InputError, "is not key=value")
    fails(cli(root, "replay", "--trace", "deadbeefdeadbeef"), InputError, "no trace")
    foreign = next(t["trace_id"] for t in traces(root) if t["tenant"] == "secret")
    fails(cli(root, "replay", "--trace", foreign, "--tenant", "default"), InputError, "tenant")
    fails(
        cli(root, "replay", "--trace-file", str(tmp_path / "nope.txt")), InputError, "cannot read"
    )
    fails(cli(root, "replay", "--config", str(tmp_path / "no.yaml")), ConfigError, "not found")
    broken = tmp_path / "broken.yaml"
    broken.write_text("routing: [\n", encoding="utf-8")
    fails(cli(root, "replay", "--config", str(broken)), ConfigError, "not valid YAML")
    fails(cli(root, "replay", "--feedback", "meh"), InputError, "unknown feedback kind")
    html = tmp_path / "never.html"
    fails(cli(root, "replay", "--set", "nope=1", "--html", str(html)), ConfigError, "nope")
    assert not html.exists()
    assert len(traces(root)) == before


def test_the_installed_command_prints_one_line(root: Path) -> None:
    env = {**os.environ, "COLUMNS": "80"}
    for args, message in (
        (["replay", "--set", "retrieval.kk=3"], "retrieval.kk: unknown key"),
        (["replay", "--trace", "deadbeefdeadbeef"], "no trace 'deadbeefdeadbeef'"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "ragline.cli", "-C", str(root), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert done.returncode == 1
        assert done.stderr.startswith("error:") and message in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "Traceback" not in done.stderr


def test_routing_test_explains_the_rule(root: Path) -> None:
    out = ok(cli(root, "routing", "test", HARMFUL, "--set", RULE_YAML, columns=80)).output
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "fired    currency: matched 'EUR' at 39-42 → boost doc_type=finance x1.5" in out
    assert "x1.5 by currency" in out
    data = json.loads(
        ok(cli(root, "routing", "test", HARMFUL, "--set", RULE_YAML, "--json")).output
    )
    assert data["fired"] == ["currency"]
    moved = [h for h in data["hits"] if h["document_id"] == "kb/helio-annual-report-fy2025.pdf"]
    assert moved and all(h["rules"] == ["currency"] and h["boost"] == 1.5 for h in moved)
    assert any(h["after"] == 1 for h in moved)
    none = json.loads(
        ok(cli(root, "routing", "test", "How long is the warranty?", "--json")).output
    )
    assert none["fired"] == [] and none["rules"] == []
