"""The README's two set-up commands stay true: CI runs the same test command, and the
main command's questions are ones the sample knowledge base answers."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def setup_commands() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", readme, re.S)
    assert block, "the README must open with a bash block of set-up commands"
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def test_readme_starts_with_exactly_two_commands() -> None:
    commands = setup_commands()
    assert len(commands) == 2
    main, tests = commands
    assert "ragline ingest examples/sample-kb" in main and "ragline ask" in main
    assert tests.endswith("pytest")


def test_ci_runs_the_readme_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert setup_commands()[1] in ci.splitlines()


def test_sample_kb_exists_with_every_format() -> None:
    kb = REPO / "examples" / "sample-kb"
    suffixes = {p.suffix for p in kb.iterdir()}
    assert {".md", ".html", ".pdf", ".docx"} <= suffixes


def test_every_install_uses_the_constraints_file() -> None:
    """A fresh machine gets the pinned versions (constraints.txt), not whatever PyPI
    released last night: the README's set-up commands and every install in CI."""
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    installs = [
        line
        for line in [*setup_commands(), *ci]
        if "pip install" in line and not line.lstrip().startswith("#")
    ]
    assert len(installs) >= 3
    for line in installs:
        assert re.search(r"pip install -c constraints\.txt ", line), line
    assert (REPO / "constraints.txt").is_file()


def test_commands_table_lists_every_command() -> None:
    import typer.main

    from ragline.cli import app

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("### Commands", 1)[1].split("\n\n", 2)[1]
    listed = set(re.findall(r"^\| `ragline ([a-z-]+)", table, re.M))
    commands = set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    assert commands <= listed, f"missing from the README's commands table: {commands - listed}"
