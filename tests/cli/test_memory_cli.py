"""``ragline memory list|forget``: one user's memories, per tenant; clear errors."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ragline._project import Project
from ragline.agent import Fact
from ragline.cli import app

runner = CliRunner()


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    (tmp_path / "ragline.yaml").write_text("embedder: hash\n", encoding="utf-8")
    with Project(tmp_path) as project:
        memory = project.memory
        memory.remember(
            tenant="default",
            user="u1",
            facts=[Fact("user said: my order 1042 arrived cracked", "order")],
        )
        memory.remember(
            tenant="default", user="u1", facts=[Fact("user said: I prefer email", "preference")]
        )
        memory.remember(
            tenant="acme", user="u1", facts=[Fact("user said: acme tenant fact", "profile")]
        )
    return tmp_path


def run(project_dir: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["-C", str(project_dir), "memory", *args])
    return result.exit_code, result.output


def test_list_shows_the_users_memories(project_dir: Path) -> None:
    code, out = run(project_dir, "list", "--user", "u1")
    assert code == 0, out
    assert "my order 1042 arrived cracked" in out and "I prefer email" in out
    assert "acme tenant fact" not in out
    code, out = run(project_dir, "list", "--user", "u1", "--tenant", "acme", "--json")
    data = json.loads(out)
    assert [i["text"] for i in data["items"]] == ["user said: acme tenant fact"]
    assert data["next_cursor"] is None
    code, out = run(project_dir, "list", "--user", "nobody")
    assert code == 0 and "no memories of user 'nobody'" in out


def test_forget_one_then_all(project_dir: Path) -> None:
    _, out = run(project_dir, "list", "--user", "u1", "--json")
    first = json.loads(out)["items"][0]["id"]
    code, out = run(project_dir, "forget", "--user", "u1", "--id", first)
    assert code == 0 and "forgot 1 memory" in out
    code, out = run(project_dir, "forget", "--user", "u1")
    assert code == 0 and "forgot 1 memory of user 'u1'" in out
    code, out = run(project_dir, "list", "--user", "u1", "--json")
    assert json.loads(out)["items"] == []
    with sqlite3.connect(project_dir / "ragline.db") as conn:
        rows = conn.execute("SELECT tenant, user_id, text FROM memory_items").fetchall()
    assert rows == [("acme", "u1", "user said: acme tenant fact")]  # the other tenant's


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("forget", "--user", "u1", "--id", "0" * 32), "error: user 'u1' has no memory"),
        (("list", "--user", "u1", "--cursor", "nope"), "error: invalid memory cursor 'nope'"),
        (("list", "--user", " "), "error: user must be a non-empty string"),
    ],
)
def test_bad_input_is_one_clear_line_and_nothing_is_lost(
    project_dir: Path, args: tuple[str, ...], message: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ragline.cli", "-C", str(project_dir), "memory", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), done.stderr
    _, out = run(project_dir, "list", "--user", "u1", "--json")
    assert len(json.loads(out)["items"]) == 2  # nothing lost
