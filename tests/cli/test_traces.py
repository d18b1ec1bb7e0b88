"""``ragline traces``, ``ragline feedback`` and ``ragline cases`` end to end.

A tiny knowledge base is ingested with the hash embedder in a temporary project,
questions are asked, and the traces they leave are listed, shown, exported, given
feedback and turned into regression cases — through the real command line.
"""

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
from ragline.evals._types import Case

runner = CliRunner()
WIDE = {"COLUMNS": "150"}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with two asks traced (one per tenant)."""
    root = tmp_path_factory.mktemp("proj")
    docs = root / "docs"
    docs.mkdir()
    (docs / "warranty.md").write_text(
        "# Warranty\n\nThe battery is covered by a warranty of two years from the date of "
        "purchase.\n\nThe frame carries a lifetime warranty for the first owner.\n"
    )
    (docs / "shipping.md").write_text(
        "# Shipping\n\nOrders ship within three working days. Delivery to Spain takes five days.\n"
    )
    ok(cli(root, "ingest", str(docs)))
    ok(cli(root, "ingest", str(docs), "--tenant", "acme"))
    ok(cli(root, "ask", "How long is the battery warranty?"))
    ok(cli(root, "ask", "When do orders ship?", "--tenant", "acme"))
    return root


def cli(root: Path, *args: str) -> Result:
    return runner.invoke(app, ["-C", str(root), "--embedder", "hash", *args], env=WIDE)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def fails(result: Result, message: str) -> str:
    """The command failed with a ragline error containing ``message``."""
    assert result.exit_code != 0
    assert isinstance(result.exception, InputError), (result.output, result.exception)
    assert message in str(result.exception), str(result.exception)
    return str(result.exception)


def asks(root: Path, *extra: str) -> list[dict[str, object]]:
    data = json.loads(ok(cli(root, "traces", "list", "--json", *extra)).output)
    return [t for t in data if t["name"] == "ragline.ask"]


def battery_trace(root: Path) -> str:
    [t] = asks(root, "--search", "battery")
    return str(t["trace_id"])


def run_main(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed entry point (one-line errors, exit codes) in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "ragline.cli", "-C", str(root), "--embedder", "hash", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "120"},
        timeout=300,
    )


# -------------------------------------------------------------------- traces


def test_list_shows_the_asks_with_filters(project: Path) -> None:
    both = asks(project)
    assert [t["question"] for t in both] == [
        "When do orders ship?",
        "How long is the battery warranty?",
    ]
    assert all(t["status"] == "ok" and int(t["spans"]) > 3 for t in both)  # type: ignore[call-overload]
    assert [t["tenant"] for t in asks(project, "--tenant", "acme")] == ["acme"]
    assert asks(project, "--status", "error") == []
    assert len(asks(project, "--since", "1h")) == 2
    assert asks(project, "--until", "2000-01-01T00:00") == []
    assert asks(project, "--min-ms", "3600000") == []
    assert len(asks(project, "--search", "SHIP")) == 1
    assert len(json.loads(ok(cli(project, "traces", "list", "--json", "-n", "1")).output)) == 1

    table = ok(cli(project, "traces", "list")).output
    assert "How long is the battery" in table and battery_trace(project)[:12] in table
    assert "ms" in table and "status" in table


def test_show_renders_the_waterfall_and_details(project: Path) -> None:
    trace_id = battery_trace(project)
    out = ok(cli(project, "traces", "show", trace_id[:10])).output
    assert f"trace {trace_id}" in out
    assert "ragline.ask (ask)" in out and "ragline.retrieve (retrieval)" in out
    assert "█" in out
    assert "retrieved chunks" in out and "final hits" in out
    assert "warranty" in out

    data = json.loads(ok(cli(project, "traces", "show", trace_id, "--json")).output)
    assert data["trace_id"] == trace_id
    spans = data["spans"]
    assert spans[0]["parent_id"] is None
    assert spans[0]["attributes"]["ragline.question"] == "How long is the battery warranty?"
    assert {s["trace_id"] for s in spans} == {trace_id}


def test_export_writes_one_span_per_line(project: Path, tmp_path: Path) -> None:
    out = ok(cli(project, "traces", "export", "--tenant", "acme")).output
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines and all(s["tenant"] == "acme" for s in lines)
    assert len({s["trace_id"] for s in lines}) >= 1
    assert {"span_id", "parent_id", "name", "kind", "duration_ms", "attributes"} <= set(lines[0])

    target = tmp_path / "spans.jsonl"
    result = ok(cli(project, "traces", "export", "--output", str(target), "--search", "battery"))
    spans = [json.loads(line) for line in target.read_text().splitlines()]
    assert {s["trace_id"] for s in spans} == {battery_trace(project)}
    assert f"exported {len(spans)} spans of 1 trace to" in result.output


# -------------------------------------------------------------------- the whole loop


def test_feedback_then_cases_without_duplicates(project: Path, tmp_path: Path) -> None:
    trace_id = battery_trace(project)
    out = ok(
        cli(project, "feedback", "add", trace_id[:12], "--kind", "hallucination",
            "--note", "says 800 cycles, not two years")
    ).output  # fmt: skip
    assert "recorded hallucination feedback" in out and trace_id in out

    listed = json.loads(ok(cli(project, "feedback", "list", "--json")).output)
    mine = [f for f in listed if f["trace_id"] == trace_id]
    assert mine[-1]["kind"] == "hallucination"
    assert mine[-1]["note"] == "says 800 cycles, not two years"
    table = ok(cli(project, "feedback", "list", "--kind", "hallucination")).output
    assert "hallucination" in table and trace_id[:12] in table
    assert (
        json.loads(ok(cli(project, "feedback", "list", "--json", "--tenant", "acme")).output) == []
    )

    shown = ok(cli(project, "traces", "show", trace_id)).output
    assert "says 800 cycles, not two years" in shown

    dataset = tmp_path / "regression.jsonl"
    first = ok(cli(project, "cases", "add", "--from-feedback", "kind=hallucination",
                   "--dataset", str(dataset))).output  # fmt: skip
    assert "added 1 case " in first and "0 skipped as duplicates" in first
    second = ok(cli(project, "cases", "add", "--from-feedback", "kind=hallucination",
                    "--dataset", str(dataset))).output  # fmt: skip
    assert "added 0 cases" in second and "1 skipped as duplicates" in second

    [case] = load_cases(dataset)
    assert isinstance(case, Case)
    assert case.source_trace_id == trace_id
    assert case.question == "How long is the battery warranty?"
    assert case.tenant == "default"
    assert "hallucination" in case.tags
    assert case.notes is not None and "says 800 cycles" in case.notes


def test_cases_add_one_trace_to_the_default_dataset(project: Path) -> None:
    [t] = asks(project, "--tenant", "acme")
    trace_id = str(t["trace_id"])
    shown = json.loads(ok(cli(project, "traces", "show", trace_id, "--json")).output)
    [retrieve] = [s for s in shown["spans"] if s["name"] == "ragline.retrieve"]
    doc_id = retrieve["attributes"]["ragline.hits"][0]["document_id"]
    assert "shipping" in doc_id
    out = ok(cli(project, "cases", "add", "--trace", trace_id, "--expected", "Within three days.",
                 "--gold-doc", doc_id, "--tag", "shipping", "--category", "citation_quality")
    ).output  # fmt: skip
    dataset = project / "evals" / "regression.jsonl"
    assert f"added case trace-{trace_id}" in out
    [case] = [c for c in load_cases(dataset) if c.source_trace_id == trace_id]
    assert (case.tenant, case.expected, case.category) == (
        "acme",
        ["Within three days."],
        "citation_quality",
    )
    assert case.gold_doc_ids == [doc_id]
    assert case.tags == ["regression", "shipping"]
    before = dataset.read_bytes()
    fails(cli(project, "cases", "add", "--trace", trace_id), "already in")
    assert dataset.read_bytes() == before


# -------------------------------------------------------------------- bad input


def test_unknown_trace_id_is_one_clear_line(project: Path) -> None:
    r = run_main(project, "traces", "show", "0123456789abcdef0123456789abcdef")
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        "error: no trace '0123456789abcdef0123456789abcdef' — find trace ids with "
        "`ragline traces list`"
    ]
    assert "Traceback" not in r.stderr and r.stdout == ""
    fails(cli(project, "traces", "show", "deadbeefcafe"), "no trace 'deadbeefcafe'")
    fails(cli(project, "traces", "show", "abc"), "too short")
    before = json.loads(ok(cli(project, "feedback", "list", "--json")).output)
    fails(cli(project, "feedback", "add", "deadbeefcafe", "--kind", "good"), "no trace")
    assert json.loads(ok(cli(project, "feedback", "list", "--json")).output) == before


def test_unknown_feedback_kind(project: Path) -> None:
    before = json.loads(ok(cli(project, "feedback", "list", "--json")).output)
    r = run_main(project, "feedback", "add", battery_trace(project), "--kind", "wrong")
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        "error: unknown feedback kind 'wrong' — use one of: hallucination, wrong_citation, "
        "irrelevant, good"
    ]
    fails(cli(project, "feedback", "list", "--kind", "bad"), "unknown feedback kind 'bad'")
    assert json.loads(ok(cli(project, "feedback", "list", "--json")).output) == before


@pytest.mark.parametrize("option", ["--since", "--until"])
@pytest.mark.parametrize("value", ["yesterday", "5 parsecs", "2026-13-45", ""])
def test_bad_time_filter(project: Path, option: str, value: str) -> None:
    fails(cli(project, "traces", "list", option, value), f"bad {option} value")


def test_bad_status_filter(project: Path) -> None:
    fails(cli(project, "traces", "list", "--status", "failed"), "bad --status value 'failed'")


@pytest.mark.parametrize("spec", ["hallucination", "kind:hallucination", "kind=", "type=good"])
def test_malformed_from_feedback(project: Path, tmp_path: Path, spec: str) -> None:
    dataset = tmp_path / "cases.jsonl"
    message = fails(
        cli(project, "cases", "add", "--from-feedback", spec, "--dataset", str(dataset)),
        "bad --from-feedback value",
    )
    assert "kind=KIND" in message
    assert not dataset.exists()


def test_cases_add_needs_exactly_one_source(project: Path, tmp_path: Path) -> None:
    fails(cli(project, "cases", "add"), "give either --trace ID or --from-feedback")
    trace_id = battery_trace(project)
    fails(
        cli(project, "cases", "add", "--trace", trace_id, "--from-feedback", "kind=good"),
        "give either",
    )
    fails(
        cli(project, "cases", "add", "--from-feedback", "kind=good", "--expected", "x"),
        "describe one trace",
    )


def test_unknown_gold_doc_and_unknown_trace_write_nothing(project: Path, tmp_path: Path) -> None:
    dataset = tmp_path / "cases.jsonl"
    trace_id = battery_trace(project)
    fails(
        cli(project, "cases", "add", "--trace", trace_id, "--gold-doc", "no-such-doc",
            "--dataset", str(dataset)),
        "no document 'no-such-doc' in tenant 'default'",
    )  # fmt: skip
    fails(
        cli(project, "cases", "add", "--trace", "feedfacefeedface", "--dataset", str(dataset)),
        "no trace",
    )
    assert not dataset.exists()


def test_unwritable_dataset_path(project: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    ok(cli(project, "feedback", "add", battery_trace(project), "--kind", "irrelevant"))
    r = run_main(
        project, "cases", "add", "--from-feedback", "kind=irrelevant",
        "--dataset", str(blocker / "cases.jsonl"),
    )  # fmt: skip
    assert r.returncode == 1, r.stdout
    [line] = r.stderr.strip().splitlines()
    assert line.startswith("error: cannot write dataset")
    assert "is a file, not a folder" in line
    assert "check the folder exists and is writable" in line
    assert blocker.read_text() == "x"


def test_export_to_an_unwritable_path(project: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    fails(cli(project, "traces", "export", "-o", str(blocker / "out.jsonl")), "cannot write")


def test_help_lists_the_commands() -> None:
    for group, commands in {
        "traces": ["list", "show", "export"],
        "feedback": ["add", "list"],
        "cases": ["add"],
    }.items():
        out = ok(runner.invoke(app, [group, "--help"])).output
        for command in commands:
            assert command in out
    out = ok(runner.invoke(app, ["traces", "list", "--help"])).output
    for option in ("--since", "--until", "--tenant", "--status", "--min-ms", "--search", "--json"):
        assert option in out


def test_tenant_scoping_of_show_and_feedback(project: Path) -> None:
    trace_id = battery_trace(project)  # a "default" tenant trace
    fails(cli(project, "traces", "show", trace_id, "--tenant", "acme"), "for tenant 'acme'")
    fails(
        cli(project, "feedback", "add", trace_id, "--kind", "good", "--tenant", "acme"),
        "for tenant 'acme'",
    )
    ok(cli(project, "traces", "show", trace_id, "--tenant", "default"))
    ok(cli(project, "feedback", "add", trace_id, "--kind", "good", "--note", "fine now"))
    mine = json.loads(
        ok(cli(project, "feedback", "list", "--trace", trace_id[:9], "--json")).output
    )
    assert mine and {f["trace_id"] for f in mine} == {trace_id}
    assert "fine now" in [f["note"] for f in mine]


def test_ask_prints_its_trace_id_and_traces_show_finds_it(project: Path) -> None:
    out = ok(cli(project, "ask", "Where does delivery take five days?", "--tenant", "acme")).output
    [line] = [x for x in out.splitlines() if x.startswith("trace ")]
    trace_id = line.split()[1]
    assert len(trace_id) == 32
    shown = ok(cli(project, "traces", "show", trace_id[:12], "--tenant", "acme")).output
    assert "Where does delivery take five days?" in shown
