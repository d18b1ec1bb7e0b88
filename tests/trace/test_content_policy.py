"""Per-tenant content policy: full text by default, redacted, or off."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ragline.config import Settings
from ragline.errors import ConfigError
from ragline.trace import SpanProcessor, SpanRecord
from ragline.trace._policy import off_marker

from .helpers import by_name, make_project, use_model

TENANTS = "tenants:\n  private: {trace_content: 'off'}\n  careful: {trace_content: redact}\n"
QUESTION = "My email is jane@example.com and card 4111 1111 1111 1111: how long is the warranty?"
REPLY = "Every X200 comes with a two-year warranty [1]. Mail jane@example.com [1]."


def _all_text(spans: list[SpanRecord]) -> str:
    return json.dumps([(s.attributes, [e.attributes for e in s.events]) for s in spans])


def _ask(tmp_path: Path, tenant: str) -> tuple[Any, list[SpanRecord]]:
    project = make_project(tmp_path, TENANTS, ingest=False)
    project.ingest([tmp_path / "docs"], tenant=tenant)
    use_model(project, [REPLY])
    answer = project.ask(QUESTION, tenant=tenant)
    spans = project.get_trace(answer.trace_id or "")
    project.close()
    return answer, spans


def test_full_content_is_the_default(tmp_path: Path) -> None:
    _answer, spans = _ask(tmp_path, "default")
    s = by_name(spans)
    assert s["ragline.ask"].attributes["ragline.question"] == QUESTION
    assert "jane@example.com" in s["ragline.prompt"].attributes["ragline.prompt"]
    assert "ragline.content" not in s["ragline.ask"].attributes


def test_off_replaces_text_but_keeps_ids_scores_and_usage(tmp_path: Path) -> None:
    answer, spans = _ask(tmp_path, "private")
    text = _all_text(spans)
    assert "jane@example.com" not in text and "two-year" not in text and "X200" not in text
    s = by_name(spans)
    root = s["ragline.ask"].attributes
    assert root["ragline.question"] == off_marker(QUESTION)
    assert root["ragline.content"] == "off"
    assert root["ragline.retrieved.chunk_ids"] == [h.chunk.id for h in answer.hits]
    hit = s["ragline.retrieve"].attributes["ragline.hits"][0]
    assert hit["chunk_id"] == answer.hits[0].chunk.id and hit["score"] > 0
    assert hit["text"].startswith("[redacted: content tracing off")
    assert s["ragline.prompt"].attributes["ragline.prompt"].startswith("[redacted")
    gen = s["ragline.generate"].attributes
    assert gen["gen_ai.completion"].startswith("[redacted")
    assert gen["gen_ai.usage.output_tokens"] >= 1
    sentence = s["ragline.citations"].attributes["ragline.sentences"][0]
    assert sentence["citations"] == [1] and sentence["text"].startswith("[redacted")
    # the answer itself is untouched: the policy is about traces only
    assert "two-year" in answer.text


def test_redact_masks_pii_and_keeps_the_rest(tmp_path: Path) -> None:
    _, spans = _ask(tmp_path, "careful")
    text = _all_text(spans)
    assert "jane@example.com" not in text and "4111 1111 1111 1111" not in text
    s = by_name(spans)
    assert s["ragline.ask"].attributes["ragline.question"] == (
        "My email is [email] and card [card]: how long is the warranty?"
    )
    assert "two-year warranty" in s["ragline.generate"].attributes["gen_ai.completion"]
    assert s["ragline.ask"].attributes["ragline.content"] == "redact"


def test_the_project_default_applies_to_tenants_without_their_own(tmp_path: Path) -> None:
    project = make_project(tmp_path, "tracing: {content: redact}\n")
    answer = project.ask("Write to jane@example.com: how long is the warranty?")
    root = by_name(project.get_trace(answer.trace_id or ""))["ragline.ask"]
    assert root.attributes["ragline.question"] == "Write to [email]: how long is the warranty?"
    project.close()


def test_an_unknown_policy_is_a_config_error() -> None:
    with pytest.raises(ValueError):
        Settings.model_validate({"tenants": {"a": {"trace_content": "hidden"}}})
    from ragline.config import load_settings

    with pytest.raises(ConfigError, match=r"tracing\.content"):
        load_settings(".", overrides={"tracing.content": "nope"}, environ={})


def test_the_processor_leaves_non_content_attributes_alone() -> None:
    record = SpanRecord(
        "a" * 32,
        "b" * 16,
        None,
        "x",
        "ask",
        "t",
        0.0,
        1.0,
        attributes={"ragline.question": "jane@example.com", "error.type": "jane@example.com"},
    )
    out = SpanProcessor(mode_for=lambda t: "off")(record)
    assert out.attributes["ragline.question"].startswith("[redacted")
    assert out.attributes["error.type"] == "jane@example.com"
