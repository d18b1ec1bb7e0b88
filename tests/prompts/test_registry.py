"""The prompt registry: versions kept forever, labels per tenant, what answers a request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import ragline
from ragline.errors import InputError, NotFoundError
from ragline.prompts import PromptRegistry
from ragline.store.memory import MemoryPromptStore
from ragline.testing import FakeModel, HashEmbedder

V1 = """---
description: first
---
=== system ===
V1 rules. Cite passages as [n].
=== user ===
{{ context }}

Question: {{ question }}
"""
V2 = V1.replace("V1 rules", "V2 rules").replace("first", "second")


def _write(root: Path, text: str) -> None:
    (root / "prompts").mkdir(exist_ok=True)
    (root / "prompts" / "cite.md").write_text(text, encoding="utf-8")


def test_every_loaded_version_is_kept_and_labels_resolve_per_tenant(tmp_path: Path) -> None:
    store = MemoryPromptStore()
    _write(tmp_path, V1)
    first = PromptRegistry(store, tmp_path)
    v1 = first.file("cite").version
    assert first.resolve("cite", "acme").label is None  # no label: the file as it is
    _write(tmp_path, V2)
    second = PromptRegistry(store, tmp_path)  # the project reopened after an edit
    v2 = second.file("cite").version
    second.sync()
    assert [v.version for v in store.versions("cite")] == [v1, v2]
    assert "V1 rules" in second.lookup(f"cite@{v1[:6]}").text  # the old text, kept

    second.set_label("cite", v1, "production")  # no tenant: the default tenant
    second.set_label("cite", v2, "production", tenant="beta-co")
    assert (second.resolve("cite", "default").version, second.resolve("cite", "default").label) == (
        v1,
        "production",
    )
    assert second.resolve("cite", "beta-co").version == v2
    assert second.resolve("cite", "acme").version == v1  # falls back to the default tenant's
    assert second.resolve("cite", "acme", "beta").label is None  # unset label: the file
    assert second.resolve("cite", "acme", "beta").version == v2

    second.set_label("cite", v2, "production")
    assert second.resolve("cite", "acme").version == v2
    second.rollback("cite")
    assert second.resolve("cite", "acme").version == v1


def test_label_errors_leave_labels_as_they_were(tmp_path: Path) -> None:
    _write(tmp_path, V1)
    registry = PromptRegistry(MemoryPromptStore(), tmp_path)
    v1 = registry.file("cite").version
    registry.set_label("cite", v1, "production")
    with pytest.raises(NotFoundError, match="no version 'ffffff'"):
        registry.set_label("cite", "ffffff", "production")
    with pytest.raises(NotFoundError, match="no prompt named 'nope'"):
        registry.lookup("nope")
    with pytest.raises(InputError, match="no earlier version"):
        registry.rollback("cite")
    with pytest.raises(NotFoundError, match="never set"):
        registry.rollback("cite", "beta")
    assert registry.resolve("cite", "default").version == v1


# -- the answerer uses the label resolved for the request's tenant ---------------------


def _project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model: FakeModel) -> ragline.Project:
    docs = tmp_path / "docs"
    docs.mkdir(exist_ok=True)
    (docs / "warranty.md").write_text("# Warranty\n\nEvery X200 has a two-year warranty.\n")
    (tmp_path / "ragline.yaml").write_text(
        "store: sqlite:///ragline.db\nembedder: hash\nmodel: openai:test\n"
        "answer:\n  template: cite\ntenants:\n  acme: {}\n",
        encoding="utf-8",
    )

    def build(*args: Any, **kwargs: Any) -> FakeModel:
        return model

    monkeypatch.setattr("ragline.models.build_model", build)
    project = ragline.Project(tmp_path, embedder=HashEmbedder())
    project.ingest([docs])
    project.ingest([docs], tenant="acme")
    return project


def test_answers_and_traces_say_which_prompt_version_and_label_answered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path, V1)
    model = FakeModel(["Every X200 has a two-year warranty [1]."] * 10)
    project = _project(tmp_path, monkeypatch, model)
    v1 = project.parts.prompts.file("cite").version
    project.parts.prompts.set_label("cite", v1, "production", tenant="acme")
    project.close()

    _write(tmp_path, V2)  # the file moves on; acme's production label stays on v1
    project = _project(tmp_path, monkeypatch, model)
    v2 = project.parts.prompts.file("cite").version
    answer = project.ask("How long is the warranty?", tenant="acme")
    assert (answer.prompt_name, answer.prompt_version, answer.prompt_label) == (
        "cite",
        v1,
        "production",
    )
    assert "V1 rules" in model.calls[-1].messages[0].content
    root = next(s for s in project.get_trace(answer.trace_id or "") if s.parent_id is None)
    assert root.attributes["ragline.prompt.name"] == "cite"
    assert root.attributes["ragline.prompt.version"] == v1
    assert root.attributes["ragline.prompt.label"] == "production"

    other = project.ask("How long is the warranty?")  # the default tenant: no label
    assert (other.prompt_version, other.prompt_label) == (v2, None)
    assert "V2 rules" in model.calls[-1].messages[0].content
    assert other.to_dict()["prompt_name"] == "cite"
    project.close()


def test_a_prompt_with_an_unknown_variable_fails_when_the_project_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ragline.errors import ConfigError

    _write(tmp_path, V1.replace("{{ question }}", "{{ question }} {{ customer }}"))
    model = FakeModel(["x"])
    with pytest.raises(ConfigError, match=r"prompts/cite\.md.*unknown variable 'customer'"):
        project = _project(tmp_path, monkeypatch, model)
        project.ask("How long is the warranty?")
    assert model.calls == []  # never reached a request
