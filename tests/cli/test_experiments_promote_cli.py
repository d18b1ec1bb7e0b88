"""``ragline experiments promote|rollback``: the winner's prompt label moves per tenant,
audited; refusals (no data, no prompt, unknown variant) leave every label as it was."""

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

V1 = """---
description: cite every claim
---
=== system ===
Rules v1. Cite passages as [n].
=== user ===
{{ context }}

Question: {{ question }}
"""
V2 = V1.replace("Rules v1", "Rules v2")


def cli(root: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["-C", str(root), *args], env={"COLUMNS": "200"})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return 1, f"error: {result.exception}"
    return result.exit_code, result.output


@pytest.fixture
def project_dir(tmp_path: Path) -> tuple[Path, str, str]:
    """Two kept versions of prompts/cite.md and an experiment of them (plus a k-only one)."""
    (tmp_path / "ragline.yaml").write_text(
        "embedder: hash\ntenants:\n  beta: {}\n", encoding="utf-8"
    )
    (tmp_path / "prompts").mkdir()
    versions = []
    for text in (V1, V2):
        (tmp_path / "prompts" / "cite.md").write_text(text, encoding="utf-8")
        code, out = cli(tmp_path, "prompts", "list", "--json")  # keeps this version
        assert code == 0, out
        versions.append(next(p for p in json.loads(out)["prompts"] if p["name"] == "cite"))
    v1, v2 = (str(v["version"]) for v in versions)
    config = {
        "embedder": "hash",
        "tenants": {"beta": {}},
        "experiments": [
            {
                "name": "cite-exp",
                "variants": [
                    {"name": "control", "prompt": f"cite@{v1}"},
                    {"name": "better", "prompt": f"cite@{v2}"},
                    {"name": "k1", "weight": 0, "retrieval": {"k": 1}},
                ],
            }
        ],
    }
    (tmp_path / "ragline.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "w.md").write_text("# Warranty\n\nThe X100 has a 2-year warranty.\n")
    with ragline.Project(tmp_path, embedder=HashEmbedder()) as project:
        project.ingest([docs], tenant="beta")
    return tmp_path, v1, v2


def _label(root: Path, tenant: str) -> object:
    code, out = cli(root, "prompts", "list", "--json", "--tenant", tenant)
    assert code == 0, out
    return next(p for p in json.loads(out)["prompts"] if p["name"] == "cite")["labels"]


def _answer_until_both(root: Path) -> None:
    with ragline.Project(root, embedder=HashEmbedder()) as project:
        seen = {
            project.ask("How long is the warranty?", tenant="beta", user=f"u{i}").variant
            for i in range(30)
        }
    assert seen == {"control", "better"}


def test_promote_moves_the_tenants_label_and_rollback_restores_it(
    project_dir: tuple[Path, str, str],
) -> None:
    root, v1, v2 = project_dir
    code, out = cli(root, "experiments", "promote", "cite-exp", "better", "--tenant", "beta")
    assert code != 0
    assert "variant 'better' of experiment 'cite-exp' has no answers in the traces yet" in out
    assert "--force" in out
    assert _label(root, "beta") == {}  # refused: nothing moved

    _answer_until_both(root)
    code, out = cli(root, "experiments", "promote", "cite-exp", "control", "-t", "beta", "--json")
    assert code == 0, out
    code, out = cli(root, "experiments", "promote", "cite-exp", "better", "-t", "beta", "--json")
    assert code == 0, out
    done = json.loads(out)
    assert (done["version"], done["previous"], done["tenant"]) == (v2, v1, "beta")
    assert done["actor"] == "experiments promote cite-exp better" and done["answers"] > 0
    assert _label(root, "beta") == {"production": v2}
    assert _label(root, "default") == {}  # only that tenant's label moved

    code, out = cli(root, "experiments", "rollback", "cite-exp", "--tenant", "beta")
    assert code == 0, out
    assert f"cite: production -> {v1} for tenant beta (rolled back from {v2})" in out
    assert _label(root, "beta") == {"production": v1}
    code, out = cli(root, "prompts", "show", "cite", "--tenant", "beta", "--json")
    moves = [(e["action"], e["actor"]) for e in json.loads(out)["label_history"]]
    assert moves == [
        ("set", "experiments promote cite-exp control"),
        ("set", "experiments promote cite-exp better"),
        ("rollback", "experiments rollback cite-exp"),
    ]


def test_rollback_refuses_to_undo_a_move_the_experiment_did_not_make(
    project_dir: tuple[Path, str, str],
) -> None:
    root, v1, _ = project_dir
    code, out = cli(root, "experiments", "promote", "cite-exp", "better", "--force")
    assert code == 0, out
    assert "for tenant default" in out and "(0 answers traced)" in out
    code, out = cli(root, "prompts", "label", f"cite@{v1}", "production")
    assert code == 0, out
    code, out = cli(root, "experiments", "rollback", "cite-exp")
    assert code != 0
    assert "was not a promotion by experiment 'cite-exp'" in out
    assert _label(root, "default") == {"production": v1}  # nothing moved


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("cite-exp", "best"), "experiment 'cite-exp' has no variant 'best'"),
        (("cite-exp", "k1", "--force"), "variant 'k1' of experiment 'cite-exp' names no prompt"),
        (("cite", "better"), "no experiment named 'cite'"),
        (("cite-exp", "better", "--tenant", "gamma", "--force"), "unknown tenant 'gamma'"),
    ],
)
def test_bad_promotions_are_one_clear_error_and_move_nothing(
    project_dir: tuple[Path, str, str], args: tuple[str, ...], error: str
) -> None:
    root, _, _ = project_dir
    code, out = cli(root, "experiments", "promote", *args)
    assert code != 0 and error in out, out
    assert _label(root, "default") == {} and _label(root, "beta") == {}
