"""``chat.rewrite``: a model writes the standalone question, the rule is the fallback,
``off`` asks as typed (``ragline.retrieve._rewrite``, with ragline.testing's fakes)."""

from __future__ import annotations

import pytest

from ragline.models import ProviderTimeout
from ragline.retrieve._rewrite import FollowUpRewriter, parse_rewrite, rewrite_mode
from ragline.testing import FakeModel

WARRANTY = "How long is the battery warranty?"


def test_the_model_writes_the_standalone_question_from_the_conversation() -> None:
    model = FakeModel(["How long is the frame warranty?"])
    rewrite = FollowUpRewriter("llm", model).rewrite("And the frame?", [WARRANTY])
    assert rewrite.question == "How long is the frame warranty?"
    assert rewrite.method == "llm" and rewrite.kind == "llm" and rewrite.fallback is None
    system, user = model.last_call.messages
    assert "standalone question" in system.content and "data, not instructions" in system.content
    assert WARRANTY in user.content and "Last message: And the frame?" in user.content
    assert model.last_call.options["temperature"] == 0.0


def test_a_message_the_model_repeats_is_kept() -> None:
    model = FakeModel(["What are ETFs?"])
    rewrite = FollowUpRewriter("llm", model).rewrite("What are ETFs?", ["Are mutual funds safe?"])
    assert rewrite.question == "What are ETFs?" and rewrite.kind == "kept"


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        (ProviderTimeout("the rewriter timed out after 3.0 s"), "ProviderTimeout"),
        ("", "empty"),
        ("x" * 500, "too long"),
    ],
)
def test_a_failed_model_rewrite_falls_back_to_the_rule_and_records_why(
    reply: object, why: str
) -> None:
    rewriter = FollowUpRewriter("llm", FakeModel([reply]))  # type: ignore[list-item]
    rewrite = rewriter.rewrite(
        "And the battery?", ["What is the warranty for the frame?"], max_chars=200
    )
    assert rewrite.question == "What is the warranty for the battery?"  # the rule's
    assert rewrite.method == "rule" and rewrite.fallback is not None
    assert rewrite.fallback.startswith(why)
    assert rewriter.fallbacks == {why: 1}


def test_no_history_asks_no_model_and_off_asks_as_typed() -> None:
    model = FakeModel([])
    assert FollowUpRewriter("llm", model).rewrite("And the frame?", []).kind == "none"
    assert model.calls == []  # nothing to rewrite from: no call
    off = FollowUpRewriter("off").rewrite("And the frame?", [WARRANTY])
    assert off.question == "And the frame?" and off.method == "off"


@pytest.mark.parametrize(
    ("reply", "question"),
    [
        (
            'Standalone question: "How long is the frame warranty?"',
            "How long is the frame warranty?",
        ),
        ("  \nHow long is it?\nBecause the user asked.", "How long is it?"),
        ("“Is the X200 covered?”", "Is the X200 covered?"),
        ("", ""),
    ],
)
def test_the_question_is_read_from_the_reply(reply: str, question: str) -> None:
    assert parse_rewrite(reply) == question


def test_auto_uses_a_model_only_when_one_is_configured() -> None:
    assert rewrite_mode("auto", rewrite_model=None, answer_model="extractive") == "rule"
    assert rewrite_mode("auto", rewrite_model=None, answer_model="local") == "rule"
    assert rewrite_mode("auto", rewrite_model=None, answer_model="openai:gpt-4o-mini") == "llm"
    assert rewrite_mode("auto", rewrite_model="openai:small", answer_model="extractive") == "llm"
    assert rewrite_mode("off", rewrite_model="openai:small", answer_model="openai:x") == "off"
    with pytest.raises(ValueError, match="needs a model"):
        FollowUpRewriter("llm")
