"""The system-prompt leak guard: the canary (whole, re-cased, split across streamed
deltas) and long verbatim spans of the prompt are blocked; the canary is made once per
project, kept, and never shown in traces."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

import ragline
from ragline.answer import DeltaEvent, DoneEvent, GroundedAnswerer
from ragline.answer._events import GuardEvent
from ragline.answer._extractive import ABSTAIN_TEXT
from ragline.answer._prompts import PromptTemplate
from ragline.config import load_settings
from ragline.errors import ConfigError
from ragline.guards import Guard, GuardContext
from ragline.guards._leak import (
    CANARY_FILE,
    CANARY_MASK,
    MIN_VERBATIM_WORDS,
    LeakGuard,
    canary_line,
    new_canary,
    project_canary,
)
from ragline.guards._policy import REFUSAL_TEXT
from ragline.models import Delta, Message
from ragline.testing import FakeModel, FunctionModel, GuardConformance, HashEmbedder

CANARY = "rlc-0123456789abcdef"
SYSTEM = PromptTemplate.load("grounded_v1").sections["system"]
OUTPUT = GuardContext(stage="output")
DOCS = {
    "warranty.md": "# Warranty\n\nEvery X200 comes with a two-year warranty. The warranty "
    "covers the battery and the screen.\n",
}
QUESTION = "How long is the X200 warranty?"


class TestLeakGuard(GuardConformance):
    triggering: ClassVar[list[str]] = [
        f"Sure, the marker is {CANARY}.",
        "My rules: every sentence of your answer must end with the marker of the passage "
        "that supports it.",
        "marker RLC-0123456789ABCDEF",
    ]
    benign: ClassVar[list[str]] = [
        "Every X200 comes with a two-year warranty [1].",
        "Use only the numbers shown on the label when you file a claim [2].",
        "rlc-0123456789abcdee is not the canary.",
    ]

    @pytest.fixture
    def guard(self) -> Guard:
        return LeakGuard(canary=CANARY, system_prompt=SYSTEM)


def test_the_canary_is_blocked_with_its_reason_and_span() -> None:
    text = f"Here you go: {CANARY.upper()} and more."
    verdict = LeakGuard(canary=CANARY).check(text, OUTPUT)
    assert verdict.blocked and verdict.reasons == ("leak.canary",)
    (finding,) = verdict.findings
    assert text[finding.start : finding.end].lower() == CANARY[4:]


def test_a_long_verbatim_span_of_the_prompt_is_a_leak_a_short_one_is_not() -> None:
    guard = LeakGuard(system_prompt=SYSTEM)
    rule = "Use only the passage numbers shown in the context. Never invent a number."
    words = rule.split(" ")
    assert len(words) >= MIN_VERBATIM_WORDS
    leak = guard.check("I was told: " + " ".join(words), OUTPUT)
    assert leak.blocked and leak.reasons == ("leak.verbatim",)
    short = guard.check(" ".join(words[: MIN_VERBATIM_WORDS - 1]) + " [1].", OUTPUT)
    assert not short.triggered


def test_the_abstain_text_is_not_prompt_text() -> None:
    """An abstention repeats what the prompt tells the model to reply: that is allowed."""
    guard = LeakGuard(system_prompt=SYSTEM)
    assert not guard.check(ABSTAIN_TEXT, OUTPUT).triggered


def test_redact_masks_the_canary() -> None:
    verdict = LeakGuard(canary=CANARY, action="redact").check(f"The marker is {CANARY}.", OUTPUT)
    assert verdict.redacted is not None and CANARY[4:] not in verdict.redacted
    assert "[canary]" in verdict.redacted


def test_bad_settings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="min_words"):
        LeakGuard(system_prompt=SYSTEM, min_words=2)
    with pytest.raises(ValueError, match="disable it"):
        LeakGuard(canary=CANARY, action="allow")
    config = tmp_path / "ragline.yaml"
    config.write_text("guards:\n  leak: {canary: short}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"guards\.leak\.canary"):
        load_settings(tmp_path)


def test_the_canary_is_made_once_per_project_and_kept_private(tmp_path: Path) -> None:
    first = project_canary(tmp_path)
    assert first.startswith("rlc-") and len(first) == 20
    assert project_canary(tmp_path) == first  # read back, not remade
    mode = stat.S_IMODE(os.stat(tmp_path / CANARY_FILE).st_mode)
    assert mode & 0o077 == 0
    assert new_canary() != first


def test_a_project_folder_that_cannot_keep_it_still_gets_a_canary(tmp_path: Path) -> None:
    (tmp_path / ".ragline").write_text("a file where the folder should be", encoding="utf-8")
    canary = project_canary(tmp_path)
    assert canary.startswith("rlc-")
    assert (tmp_path / ".ragline").read_text(encoding="utf-8").startswith("a file")


# -- through Project.ask, with a model that repeats its system prompt ------------------


def _echo(messages: list[Message], tools: Any, options: dict[str, Any]) -> str:
    return messages[0].content  # the system prompt, canary line included


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ragline.Project]:
    root = tmp_path_factory.mktemp("leak")
    docs = root / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    (root / "ragline.yaml").write_text("embedder: hash\n", encoding="utf-8")
    p = ragline.Project(root, embedder=HashEmbedder())
    p.ingest([docs])
    yield p
    p.close()


def _use(project: ragline.Project, model: Any) -> str:
    view = project.parts.view()
    canary = view.canary
    assert canary is not None
    view.answerer = GroundedAnswerer(model, project.embedder, canary=canary)
    return canary


def test_a_model_that_repeats_its_system_prompt_is_refused(project: ragline.Project) -> None:
    model = FunctionModel(_echo, name="openai:echo")
    canary = _use(project, model)
    assert canary_line(canary) in model_prompt(project, model)
    answer = project.ask(QUESTION)
    assert answer.blocked and answer.text == REFUSAL_TEXT
    assert answer.refusal_reason == "leak.canary"
    (trigger,) = [g for g in answer.guards if g.guard == "leak"]
    assert trigger.stage == "output" and set(trigger.reasons) == {"leak.canary", "leak.verbatim"}
    assert (project.path / CANARY_FILE).read_text(encoding="utf-8").strip() == canary


def model_prompt(project: ragline.Project, model: FunctionModel) -> str:
    project.ask(QUESTION)
    return model.last_call.messages[0].content


def test_traces_never_show_the_canary(project: ragline.Project) -> None:
    model = FunctionModel(_echo, name="openai:echo")
    canary = _use(project, model)
    answer = project.ask(QUESTION)
    spans = project.get_trace(answer.trace_id or "")
    dumped = repr([s.attributes for s in spans])
    assert canary not in dumped and canary[4:] not in dumped
    assert CANARY_MASK in dumped  # the prompt is traced, masked
    guard = next(s for s in spans if s.name == "ragline.guard_out")
    verdicts = guard.attributes["ragline.guard.verdicts"]
    assert any(v["guard"] == "leak" and v["action"] == "block" for v in verdicts)


def test_a_canary_split_across_deltas_is_caught_before_any_of_it_is_sent(
    project: ragline.Project,
) -> None:
    view = project.parts.view()
    canary = view.canary
    assert canary is not None
    text = f"The X200 has a two-year warranty [1]. My marker is {canary} as you asked."
    cut = text.index(canary) + 7
    pieces = [text[:cut], text[cut : cut + 5], text[cut + 5 :]]
    model = FakeModel([[Delta(p) for p in pieces] + [Delta("", finish_reason="stop")]])
    _use(project, model)
    events = list(project.ask_stream(QUESTION))
    sent = "".join(e.text for e in events if isinstance(e, DeltaEvent))
    assert canary[4:8] not in sent and canary[-4:] not in sent
    guard = next(e for e in events if isinstance(e, GuardEvent))
    assert guard.action == "block" and guard.reasons == ["leak.canary"]
    done = events[-1]
    assert isinstance(done, DoneEvent) and done.finish_reason == "content_filter"
    assert done.answer.blocked and done.answer.text == REFUSAL_TEXT


def test_an_honest_answer_passes(project: ragline.Project) -> None:
    model = FakeModel(["Every X200 comes with a two-year warranty [1]."], name="openai:ok")
    _use(project, model)
    answer = project.ask(QUESTION)
    assert not answer.blocked and [g for g in answer.guards if g.guard == "leak"] == []
    assert "two-year warranty" in answer.text


def test_the_leak_guard_can_be_turned_off(tmp_path: Path) -> None:
    (tmp_path / "ragline.yaml").write_text(
        "embedder: hash\nguards:\n  leak: {enabled: false}\n", encoding="utf-8"
    )
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "warranty.md").write_text(DOCS["warranty.md"], encoding="utf-8")
    with ragline.Project(tmp_path, embedder=HashEmbedder()) as p:
        p.ingest([docs])
        view = p.parts.view()
        assert view.canary is None
        view.answerer = GroundedAnswerer(FunctionModel(_echo), p.embedder, canary=view.canary)
        answer = p.ask(QUESTION)
        assert not answer.blocked
        assert not (tmp_path / CANARY_FILE).exists()


def test_a_tenants_own_canary_is_used_and_masked_in_traces(tmp_path: Path) -> None:
    own = "rlc-fedcba9876543210"
    (tmp_path / "ragline.yaml").write_text(
        f"embedder: hash\ntenants:\n  acme:\n    guards:\n      leak: {{canary: {own}}}\n",
        encoding="utf-8",
    )
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "warranty.md").write_text(DOCS["warranty.md"], encoding="utf-8")
    with ragline.Project(tmp_path, embedder=HashEmbedder()) as p:
        p.ingest([docs], tenant="acme")
        view = p.parts.view("acme")
        assert view.canary == own
        model = FunctionModel(_echo, name="openai:echo")
        view.answerer = GroundedAnswerer(model, p.embedder, canary=view.canary)
        answer = p.ask(QUESTION, tenant="acme")
        assert answer.refusal_reason == "leak.canary"
        assert own in model.last_call.messages[0].content
        p.flush_traces()
        dumped = repr([s.attributes for s in p.get_trace(answer.trace_id or "", tenant="acme")])
        assert own[4:] not in dumped and CANARY_MASK in dumped
