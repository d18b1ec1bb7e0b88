"""The offline follow-up rule: only messages that cannot stand alone are rewritten, and
a rewrite keeps the new message's topic (``ragline.retrieve._followup``)."""

from __future__ import annotations

import pytest

from ragline.retrieve._followup import contextual_question, is_follow_up, rewrite_follow_up

WARRANTY = "How long is the battery warranty?"
FRAME_WARRANTY = "What is the warranty for the frame?"


@pytest.mark.parametrize(
    ("message", "previous", "asked"),
    [
        # a pronoun with nothing before it: the previous topic's key noun phrase
        ("When was it founded?", ["Who founded Apple Inc.?"], "When was Apple Inc founded?"),
        ("What is its capacity?", ["Tell me about the X200 battery."], None),
        ("Does it cover tyres?", [WARRANTY], "Does the battery warranty cover tyres?"),
        # the message names its own topic too: the pronoun gets the compound's head
        (
            "And how long is it for the frame?",
            [WARRANTY],
            "How long is the warranty for the frame?",
        ),
        # a fragment names the new topic: it replaces the old one, the predicate stays
        ("And the battery?", [FRAME_WARRANTY], "What is the warranty for the battery?"),
        ("And the frame?", [WARRANTY], "How long is the frame warranty?"),
        ("What about the motor?", ["Is the X200 covered?"], "Is the X200 motor covered?"),
        ("And the X300?", ["How much does the X200 cost?"], "How much does the X300 cost?"),
        # a prepositional fragment is added; one with no noun phrase follows the question
        ("In Spanish?", [WARRANTY], "How long is the battery warranty in Spanish?"),
        ("Why?", [WARRANTY], f"{WARRANTY} Why?"),
    ],
)
def test_a_follow_up_is_rewritten_and_keeps_its_own_topic(
    message: str, previous: list[str], asked: str | None
) -> None:
    rewrite = rewrite_follow_up(message, previous)
    assert rewrite.rewritten and rewrite.method == "rule"
    assert rewrite.question != message and rewrite.reason
    if asked is not None:
        assert rewrite.question == asked
    else:
        assert "X200 battery" in rewrite.question and "its" not in rewrite.question.split()
    assert is_follow_up(message)


@pytest.mark.parametrize(
    ("message", "previous"),
    [
        ("What are ETFs?", ["Should I only invest in mutual funds?"]),  # short, but whole
        ("And who is the CFO?", [WARRANTY]),  # led by "and", but a question of its own
        (
            "What about Penn State Nittany Lions football?",
            ["What court case desegregated schools in the United States and why did it matter?"],
        ),
        ("How long does it take to charge the battery?", [WARRANTY]),  # "it" refers to nothing
        ("Is it possible to ride in the rain?", [WARRANTY]),
        ("Who were the dadaists and what did they do?", [WARRANTY]),  # "they": its own phrase
        ("How do I return a bike?", [WARRANTY]),
        ("Tell me about the frame.", [WARRANTY]),
    ],
)
def test_a_message_that_stands_alone_is_asked_as_written(message: str, previous: list[str]) -> None:
    rewrite = rewrite_follow_up(message, previous)
    assert rewrite.question == message
    assert rewrite.kind == "kept" and not rewrite.rewritten
    assert not is_follow_up(message) or rewrite.kind == "kept"


def test_a_follow_up_of_a_follow_up_refers_to_what_the_first_meant() -> None:
    history = ["Who founded Apple Inc.?", "When was it founded?"]
    assert contextual_question("Where is it based?", history) == "Where is Apple Inc based?"
    # the frame, the new topic of the second turn, is what "it" means in the third
    history = [WARRANTY, "And the frame?"]
    assert rewrite_follow_up("Is it transferable?", history).question == (
        "Is the frame warranty transferable?"
    )


def test_no_history_or_too_long_a_rewrite_asks_the_message_alone() -> None:
    assert rewrite_follow_up("And for the frame?", []).kind == "none"
    assert contextual_question("And for the frame?", []) == "And for the frame?"
    # never longer than the limit: then the message is asked alone, uncut
    limited = rewrite_follow_up("And the frame?", [WARRANTY], max_chars=20)
    assert limited.question == "And the frame?" and "20 characters" in limited.reason
    assert rewrite_follow_up("  ", [WARRANTY]).question == ""


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("And how long is it for the frame?", True),
        ("What about the motor?", True),
        ("In Spanish?", True),
        ("Does it cover tyres?", True),
        ("How long is the warranty for the frame?", False),
        ("Where do I find the frame number on my bike?", False),
        ("What are ETFs?", False),
        ("", False),
    ],
)
def test_which_messages_need_the_turn_before(message: str, expected: bool) -> None:
    assert is_follow_up(message) is expected
