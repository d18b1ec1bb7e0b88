"""LLM sentences below answer.min_support: marked ``supported: false`` or dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

import ragline
from ragline.answer import GroundedAnswerer
from ragline.errors import ConfigError
from ragline.testing import FakeModel, HashEmbedder

DOC = "# Warranty\n\nEvery X200 comes with a two-year warranty. The warranty covers the motor.\n"
GOOD = "Every X200 comes with a two-year warranty [1]."
BAD = "Penguins juggle violet accordions underwater [1]."
QUESTION = "How long is the X200 warranty?"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> ragline.Project:
    root = tmp_path_factory.mktemp("unsupported")
    (root / "docs").mkdir()
    (root / "docs" / "warranty.md").write_text(DOC, encoding="utf-8")
    (root / "ragline.yaml").write_text("embedder: hash\n", encoding="utf-8")
    p = ragline.Project(root, embedder=HashEmbedder())
    p.ingest([root / "docs"])
    return p


def _answer(project: ragline.Project, reply: str, unsupported: str = "mark") -> ragline.Answer:
    model = FakeModel([reply], name="openai:test")
    project.parts.view().answerer = GroundedAnswerer(
        model, project.embedder, unsupported=unsupported
    )
    return project.ask(QUESTION)


def test_a_sentence_no_passage_supports_is_marked(project: ragline.Project) -> None:
    answer = _answer(project, f"{GOOD} {BAD}")
    good, bad = answer.sentences
    assert good.supported and good.support >= 0.45
    assert not bad.supported and bad.support < 0.45
    assert bad.citations == [1]  # the marker stays; the flag says it is not supported
    assert answer.to_dict()["sentences"][1]["supported"] is False
    assert "Penguins" in answer.text


def test_drop_leaves_the_sentence_out_and_keeps_the_rest(project: ragline.Project) -> None:
    answer = _answer(project, f"{GOOD} {BAD}", unsupported="drop")
    assert [s.text for s in answer.sentences] == [GOOD.replace(" [1]", "")]
    assert "Penguins" not in answer.text and "[1]" in answer.text
    assert [r.number for r in answer.references] == [1]
    assert answer.support == answer.sentences[0].support


def test_drop_with_nothing_supported_is_the_abstention(project: ragline.Project) -> None:
    answer = _answer(project, BAD, unsupported="drop")
    assert answer.abstained and answer.sentences == [] and answer.references == []


def test_an_unknown_policy_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'mark' or 'drop'"):
        GroundedAnswerer(FakeModel(["x"]), HashEmbedder(), unsupported="hide")
    (tmp_path / "ragline.yaml").write_text("answer:\n  unsupported: hide\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unsupported"):
        ragline.Project(tmp_path, embedder=HashEmbedder()).settings  # noqa: B018
