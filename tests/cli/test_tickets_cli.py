"""``ragline tickets list|show|close``: the agent's hand-offs, per tenant; clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ragline._project import Project
from ragline.cli import app
from ragline.testing import FakeModel, tool_turn

runner = CliRunner()


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    (tmp_path / "ragline.yaml").write_text("embedder: hash\n", encoding="utf-8")
    with Project(tmp_path) as project:
        for tenant, reason in (("default", "wants a refund over the limit"), ("acme", "acme")):
            handoff = ("handoff_to_human", {"reason": reason, "summary": "order 1042"})
            project.agent(tenant=tenant, model=FakeModel([tool_turn(handoff)])).run(
                "a person please", user="u1"
            )
    return tmp_path


def run(project_dir: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["-C", str(project_dir), "tickets", *args])
    return result.exit_code, result.output


def only_ticket(project_dir: Path) -> dict[str, str]:
    code, out = run(project_dir, "list", "--json")
    assert code == 0, out
    (ticket,) = json.loads(out)["tickets"]
    return dict(ticket)


def test_list_show_close(project_dir: Path) -> None:
    ticket = only_ticket(project_dir)
    code, out = run(project_dir, "list")
    assert code == 0 and ticket["id"] in out and "wants a refund" in out and "open" in out
    code, out = run(project_dir, "show", ticket["id"])
    assert code == 0 and "order 1042" in out and "u1" in out
    assert f"ragline traces show {ticket['trace_id']}" in out
    code, out = run(project_dir, "close", ticket["id"], "--by", "ana", "-r", "refund approved")
    assert code == 0 and f"closed ticket {ticket['id']}" in out
    code, out = run(project_dir, "list", "--status", "open")
    assert code == 0 and "no open tickets in tenant 'default'" in out
    code, out = run(project_dir, "show", ticket["id"], "--json")
    closed = json.loads(out)
    assert (closed["status"], closed["closed_by"], closed["resolution"]) == (
        "closed",
        "ana",
        "refund approved",
    )
    code, out = run(project_dir, "close", ticket["id"], "--by", "bo")
    assert code == 0 and "already closed by ana" in out
    assert json.loads(run(project_dir, "show", ticket["id"], "--json")[1])["closed_by"] == "ana"


def test_tenants_are_apart(project_dir: Path) -> None:
    code, out = run(project_dir, "list", "--tenant", "acme", "--json")
    (acme,) = json.loads(out)["tickets"]
    assert acme["reason"] == "acme"
    ticket = only_ticket(project_dir)
    code, out = run(project_dir, "show", ticket["id"], "--tenant", "acme")
    assert code != 0


def test_the_trace_of_the_ticket_is_the_agent_run(project_dir: Path) -> None:
    ticket = only_ticket(project_dir)
    result = runner.invoke(app, ["-C", str(project_dir), "traces", "show", ticket["trace_id"]])
    assert result.exit_code == 0, result.output
    assert "agent" in result.output and "handoff_to_human" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("show", "tk_missing"), "error: no ticket 'tk_missing' in tenant 'default'"),
        (("close", "tk_missing", "--by", "ana"), "error: no ticket 'tk_missing'"),
        (("close", "{id}", "-r", "x" * 20_001), "error: the resolution has 20001 characters"),
    ],
)
def test_bad_input_is_one_clear_line_and_nothing_is_lost(
    project_dir: Path, args: tuple[str, ...], message: str
) -> None:
    before = only_ticket(project_dir)
    argv = [a.replace("{id}", before["id"]) for a in args]
    done = subprocess.run(
        [sys.executable, "-m", "ragline.cli", "-C", str(project_dir), "tickets", *argv],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), done.stderr
    assert only_ticket(project_dir) == before  # nothing lost, nothing changed
