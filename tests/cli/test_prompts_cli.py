"""``ragline prompts list|show|diff|label|rollback``: versions kept, labels per tenant."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ragline.cli import app

runner = CliRunner()

V1 = """---
description: cite every claim
model: chat
---
=== system ===
Rules v1. Cite passages as [n].
=== user ===
{{ context }}

Question: {{ question }}
"""
V2 = V1.replace("Rules v1", "Rules v2")


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    (tmp_path / "ragline.yaml").write_text(
        "embedder: hash\ntenants:\n  acme: {}\n", encoding="utf-8"
    )
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "cite.md").write_text(V1, encoding="utf-8")
    return tmp_path


def run(project_dir: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["-C", str(project_dir), "prompts", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return 1, f"error: {result.exception}"
    return result.exit_code, result.output


def _listed(project_dir: Path, *args: str) -> dict[str, dict[str, object]]:
    code, out = run(project_dir, "list", "--json", *args)
    assert code == 0, out
    return {p["name"]: p for p in json.loads(out)["prompts"]}


def test_edit_label_diff_and_roll_back(project_dir: Path) -> None:
    listed = _listed(project_dir)
    assert {"cite", "grounded_v1", "grounded_v2"} <= set(listed)
    v1 = str(listed["cite"]["version"])
    assert listed["cite"]["source"] == "prompts/cite.md"
    assert listed["cite"]["description"] == "cite every claim"

    (project_dir / "prompts" / "cite.md").write_text(V2, encoding="utf-8")
    v2 = str(_listed(project_dir)["cite"]["version"])
    assert v2 != v1

    code, out = run(project_dir, "show", "cite")
    assert code == 0 and "Rules v2" in out and v1 in out and v2 in out  # both versions kept
    code, out = run(project_dir, "show", f"cite@{v1[:7]}")
    assert code == 0 and "Rules v1" in out and "Rules v2" not in out

    code, out = run(project_dir, "diff", f"cite@{v1}", "cite")
    assert code == 0
    assert f"--- cite@{v1}" in out and "-Rules v1." in out and "+Rules v2." in out

    code, out = run(project_dir, "label", f"cite@{v1}", "production")
    assert code == 0 and f"production -> {v1} for tenant default" in out
    code, out = run(project_dir, "label", f"cite@{v2}", "production", "--tenant", "acme")
    assert code == 0 and "for tenant acme" in out
    assert _listed(project_dir)["cite"]["labels"] == {"production": v1}
    assert _listed(project_dir, "--tenant", "acme")["cite"]["labels"] == {"production": v2}

    code, out = run(project_dir, "label", f"cite@{v2}", "production")
    assert code == 0 and f"(was {v1})" in out
    code, out = run(project_dir, "rollback", "cite")
    assert code == 0 and f"production -> {v1}" in out
    assert _listed(project_dir)["cite"]["labels"] == {"production": v1}
    assert _listed(project_dir, "--tenant", "acme")["cite"]["labels"] == {"production": v2}

    code, out = run(project_dir, "show", "cite", "--json")
    moves = [(e["action"], e["version"]) for e in json.loads(out)["label_history"]]
    assert moves == [("set", v1), ("set", v2), ("rollback", v1)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("label", "cite", "production"), "error: 'cite' names no version"),
        (("label", "cite@ffffff", "production"), "error: prompt 'cite' has no version 'ffffff'"),
        (("label", "cite@{v1}", "production", "--tenant", "nope"), "error: unknown tenant 'nope'"),
        (("label", "cite@{v1}", "bad label"), "error: label 'bad label' is not valid"),
        (
            ("rollback", "cite"),
            "error: label 'production' of prompt 'cite' (tenant 'default') has no earlier",
        ),
        (("rollback", "cite", "--label", "beta"), "error: label 'beta' of prompt 'cite' was never"),
        (("show", "missing"), "error: no prompt named 'missing'"),
        (("show", "cite@zz"), "error: prompt version 'zz' is not valid"),
    ],
)
def test_bad_input_is_a_clear_error_and_labels_stay(
    project_dir: Path, args: tuple[str, ...], message: str
) -> None:
    v1 = str(_listed(project_dir)["cite"]["version"])
    assert run(project_dir, "label", f"cite@{v1}", "production")[0] == 0
    code, out = run(project_dir, *(a.replace("{v1}", v1) for a in args))
    assert code == 1 and out.startswith(message), out
    assert _listed(project_dir)["cite"]["labels"] == {"production": v1}  # nothing lost


def test_a_bad_prompt_file_is_one_line_naming_the_file_and_variable(project_dir: Path) -> None:
    bad = V1.replace("{{ question }}", "{{ question }} {{ account_id }}")
    (project_dir / "prompts" / "cite.md").write_text(bad, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "ragline.cli", "-C", str(project_dir), "prompts", "list"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(
        "error: prompts/cite.md: section 'user' uses the unknown variable 'account_id'"
    )
