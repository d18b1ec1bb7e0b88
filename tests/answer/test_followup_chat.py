"""Follow-ups in a chat, end to end: the rewrite keeps the new message's topic, a
message that stands alone is asked as written, and the trace says what was done."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import ragline
from ragline.testing import HashEmbedder

DOCS = {
    "battery.md": "# Battery warranty\n\nThe battery warranty lasts two years from delivery.\n",
    "frame.md": "# Frame warranty\n\nThe frame warranty lasts ten years from delivery.\n",
    "funds.md": "# Mutual funds\n\nMutual funds pool the money of many investors and are "
    "priced once a day.\n",
    "etfs.md": "# ETFs\n\nETFs are exchange-traded funds: baskets of securities that trade "
    "on an exchange like a share.\n",
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ragline.Project]:
    root = tmp_path_factory.mktemp("followups")
    docs = root / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    (root / "ragline.yaml").write_text("embedder: hash\n", encoding="utf-8")
    with ragline.Project(root, embedder=HashEmbedder()) as p:
        p.ingest([docs])
        yield p


def analysis_span(project: ragline.Project, trace_id: str | None) -> Any:
    assert trace_id
    return next(s for s in project.get_trace(trace_id) if s.name == "ragline.query_analysis")


def test_and_the_battery_after_a_frame_question_answers_about_the_battery(
    project: ragline.Project,
) -> None:
    first = project.chat(None, "What is the warranty for the frame?")
    assert "ten years" in first.answer.text
    follow = project.chat(first.conversation_id, "And the battery?")
    assert follow.answer.question == "What is the warranty for the battery?"
    assert "two years" in follow.answer.text and "ten years" not in follow.answer.text
    assert follow.answer.references[0].title == "Battery warranty"
    span = analysis_span(project, follow.answer.trace_id)
    assert span.attributes["ragline.rewrite.method"] == "rule"
    assert span.attributes["ragline.rewrite.kind"] == "topic"
    assert "replaces the previous question's topic" in span.attributes["ragline.rewrite.reason"]
    assert span.attributes["ragline.message"] == "And the battery?"
    assert span.attributes["ragline.question"] == follow.answer.question


def test_a_short_question_of_its_own_is_asked_as_written(project: ragline.Project) -> None:
    first = project.chat(None, "Should I only invest in mutual funds?")
    follow = project.chat(first.conversation_id, "What are ETFs?")
    assert follow.answer.question == "What are ETFs?"  # not glued onto the funds question
    assert "exchange-traded" in follow.answer.text
    span = analysis_span(project, follow.answer.trace_id)
    assert span.attributes["ragline.rewrite.kind"] == "kept"
    assert "asked as written" in span.attributes["ragline.rewrite.reason"]
    # the root span names no rewrite: what was asked is what was typed
    root = next(s for s in project.get_trace(follow.answer.trace_id) if s.parent_id is None)
    assert "ragline.message" not in root.attributes


def test_a_pronoun_follow_up_is_resolved_with_the_previous_topic(
    project: ragline.Project,
) -> None:
    first = project.chat(None, "How long is the frame warranty?")
    follow = project.chat(first.conversation_id, "Does it start at delivery?")
    assert follow.answer.question == "Does the frame warranty start at delivery?"
    assert "ten years" in follow.answer.text
    span = analysis_span(project, follow.answer.trace_id)
    assert span.attributes["ragline.rewrite.kind"] == "pronoun"


def test_with_content_tracing_off_the_message_and_rewrite_are_not_kept(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "battery.md").write_text(DOCS["battery.md"], encoding="utf-8")
    (tmp_path / "ragline.yaml").write_text(
        "embedder: hash\ntracing:\n  content: off\n", encoding="utf-8"
    )
    with ragline.Project(tmp_path, embedder=HashEmbedder()) as p:
        p.ingest([docs])
        first = p.chat(None, "How long is the battery warranty?")
        follow = p.chat(first.conversation_id, "Does it start at delivery?")
        assert follow.answer.question == "Does the battery warranty start at delivery?"
        spans = p.get_trace(follow.answer.trace_id or "")
        root = next(s for s in spans if s.parent_id is None)
        analysis = next(s for s in spans if s.name == "ragline.query_analysis")
        for attributes in (root.attributes, analysis.attributes):
            for key in ("ragline.message", "ragline.question"):
                assert attributes[key].startswith("[redacted: content tracing off")
        assert analysis.attributes["ragline.rewrite.kind"] == "pronoun"  # not content
