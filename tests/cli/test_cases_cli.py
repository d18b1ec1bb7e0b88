"""``ragline cases add`` from a hallucination report, ``cases list`` and ``cases edit``
through the real command line, on a tiny project ingested with the hash embedder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from ragline.cli import app
from ragline.errors import InputError
from ragline.evals._dataset import load_cases

runner = CliRunner()
WIDE = {"COLUMNS": "160"}
QUESTION = "How much is a replacement battery?"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with one traced ask per tenant."""
    root = tmp_path_factory.mktemp("cases")
    docs = root / "docs"
    docs.mkdir()
    (docs / "faq.md").write_text(
        "# Battery FAQ\n\nA replacement battery costs EUR 649 for the 540 Wh pack and "
        "EUR 799 for the 720 Wh pack.\n\nBatteries keep 70% of their capacity for 800 "
        "charge cycles.\n"
    )
    (docs / "report.md").write_text(
        "# Annual report 2025\n\nNet income was EUR 3.2 million, up from EUR 1.4 million.\n"
    )
    ok(cli(root, "ingest", str(docs)))
    ok(cli(root, "ingest", str(docs), "--tenant", "acme"))
    ok(cli(root, "ask", QUESTION))
    ok(cli(root, "ask", QUESTION, "--tenant", "acme"))
    return root


def cli(root: Path, *args: str) -> Result:
    return runner.invoke(app, ["-C", str(root), "--embedder", "hash", *args], env=WIDE)


def ok(result: Result) -> str:
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def fails(result: Result, message: str) -> str:
    assert result.exit_code != 0
    assert isinstance(result.exception, InputError), (result.output, result.exception)
    assert message in str(result.exception), str(result.exception)
    return str(result.exception)


def run_main(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ragline.cli", "-C", str(root), "--embedder", "hash", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "120"},
        timeout=300,
    )


def trace_id(root: Path, tenant: str = "default") -> str:
    data = json.loads(ok(cli(root, "traces", "list", "--json", "--tenant", tenant)))
    [t] = [t for t in data if t["name"] == "ragline.ask"]
    return str(t["trace_id"])


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return tmp_path / "regression.jsonl"


def test_a_hallucination_report_becomes_a_case_with_its_facts(project: Path, dataset: Path) -> None:
    tid = trace_id(project)
    ok(cli(project, "feedback", "add", tid, "--kind", "hallucination",
           "--note", "it costs EUR 649, not EUR 799"))  # fmt: skip
    out = ok(cli(project, "cases", "add", "--from-feedback", "kind=hallucination", "-t",
                 "default", "--dataset", str(dataset), "--gold-doc", "docs/faq.md"))  # fmt: skip
    assert "added 1 case" in out
    assert "must_contain 'EUR 649'" in out and "must_not_contain 'EUR 799'" in out
    assert "bad answer recorded" in out
    [case] = load_cases(dataset)
    spans = json.loads(ok(cli(project, "traces", "show", tid, "--json")))["spans"]
    assert case.bad_answer == spans[0]["attributes"]["ragline.answer"]
    assert case.gold_doc_ids == ["docs/faq.md"]
    assert case.notes is not None and "it costs EUR 649, not EUR 799" in case.notes
    # listed, as a table and as JSON
    table = ok(cli(project, "cases", "list", "--dataset", str(dataset)))
    assert case.id[:20] in table and "EUR 649" in table and "1 of" in table
    listed = json.loads(ok(cli(project, "cases", "list", "--dataset", str(dataset), "--json")))
    assert [c["id"] for c in listed] == [case.id]
    # still refused as a duplicate, by either command
    again = ok(cli(project, "cases", "add", "--from-feedback", "kind=hallucination",
                   "--dataset", str(dataset)))  # fmt: skip
    assert "added 0 cases" in again
    fails(cli(project, "cases", "add", "--trace", tid, "--dataset", str(dataset)), "already in")


def test_feedback_without_a_note_says_what_to_add(project: Path, dataset: Path) -> None:
    tid = trace_id(project, "acme")
    ok(cli(project, "feedback", "add", tid, "--kind", "hallucination", "-t", "acme"))
    out = ok(cli(project, "cases", "add", "--trace", tid, "--dataset", str(dataset)))
    [case] = load_cases(dataset)
    assert case.must_contain == [] and case.bad_answer is not None
    assert f"{case.id} has no expected facts" in " ".join(out.split())
    assert f"ragline cases edit {case.id} --must-contain TEXT" in " ".join(out.split())


def test_edit_changes_the_case_and_keeps_the_other_lines(project: Path, dataset: Path) -> None:
    tid = trace_id(project)
    other = '{"id": "keep-me",  "question": "Untouched?"}\n'
    dataset.write_text(other, encoding="utf-8")
    ok(cli(project, "cases", "add", "--trace", tid, "--dataset", str(dataset)))
    [_, case] = load_cases(dataset)
    out = ok(cli(project, "cases", "edit", case.id[:14], "--dataset", str(dataset),
                 "--must-contain", "EUR 3.2M", "--gold-doc", "docs/report.md",
                 "--must-not-cite", "docs/faq.md", "--category", "citation_quality",
                 "--tag", "finance", "--notes", "reviewed"))  # fmt: skip
    assert f"updated case {case.id}" in out
    assert dataset.read_text(encoding="utf-8").startswith(other)
    [_, edited] = load_cases(dataset)
    assert edited.must_contain == [*case.must_contain, "EUR 3.2M"]  # added to the note's
    assert edited.gold_doc_ids == ["docs/report.md"]
    assert edited.must_not_cite == ["docs/faq.md"]
    assert edited.category == "citation_quality" and "finance" in edited.tags
    assert edited.notes == "reviewed"
    # replace = clear + add; remove takes one value out
    ok(cli(project, "cases", "edit", case.id, "--dataset", str(dataset), "--clear",
           "must_contain", "--must-contain", "EUR 3.2 million",
           "--remove-tag", "finance"))  # fmt: skip
    [_, replaced] = load_cases(dataset)
    assert replaced.must_contain == ["EUR 3.2 million"] and "finance" not in replaced.tags
    # the edited case is still the trace's case: adding it again is refused
    fails(cli(project, "cases", "add", "--trace", tid, "--dataset", str(dataset)), "already in")


def test_edit_bad_input_is_one_line_and_changes_nothing(project: Path, dataset: Path) -> None:
    tid = trace_id(project)
    ok(cli(project, "cases", "add", "--trace", tid, "--dataset", str(dataset)))
    before = dataset.read_bytes()
    r = run_main(project, "cases", "edit", "trace-nope", "--tag", "x", "--dataset", str(dataset))
    assert r.returncode == 1, r.stdout
    [line] = r.stderr.strip().splitlines()
    assert line.startswith("error: no case 'trace-nope' in") and "ragline cases list" in line
    [case] = load_cases(dataset)
    fails(
        cli(project, "cases", "edit", case.id, "--gold-doc", "docs/typo.md",
            "--dataset", str(dataset)),
        "no document 'docs/typo.md' in tenant 'default'",
    )  # fmt: skip
    fails(cli(project, "cases", "edit", case.id, "--dataset", str(dataset)), "nothing to change")
    assert dataset.read_bytes() == before
    dataset.write_bytes(before + b"[1, 2]\n")
    fails(
        cli(project, "cases", "edit", case.id, "--tag", "x", "--dataset", str(dataset)),
        "regression.jsonl:2: expected a JSON object",
    )
    assert dataset.read_bytes() == before + b"[1, 2]\n"


def test_add_bad_input(project: Path, dataset: Path) -> None:
    tid = trace_id(project)  # a "default" trace
    fails(cli(project, "cases", "add", "--trace", tid, "--tenant", "acme", "--dataset",
              str(dataset)), "for tenant 'acme'")  # fmt: skip
    fails(cli(project, "cases", "add", "--trace", "feedfacefeedface", "--dataset", str(dataset)),
          "no trace")  # fmt: skip
    fails(cli(project, "cases", "add", "--from-feedback", "kind=hallucination",
              "--gold-doc", "docs/typo.md", "--dataset", str(dataset)), "no document")  # fmt: skip
    fails(cli(project, "cases", "add", "--from-feedback", "kind=hallucination",
              "--must-not-contain", "x", "--dataset", str(dataset)),
          "describe one trace")  # fmt: skip
    assert not dataset.exists()
    fails(cli(project, "cases", "list", "--dataset", str(dataset)), "does not exist")


def test_help_lists_the_case_commands() -> None:
    out = ok(runner.invoke(app, ["cases", "--help"]))
    for command in ("add", "list", "edit"):
        assert command in out
    edit = ok(runner.invoke(app, ["cases", "edit", "--help"], env=WIDE))
    for option in ("--must-contain", "--remove-must-contain", "--clear", "--gold-doc", "--notes"):
        assert option in edit
