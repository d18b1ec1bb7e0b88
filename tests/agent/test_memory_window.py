"""Short-term memory: a conversation's newest turns within a token budget; older ones
summarised by a model, or left out and counted."""

from __future__ import annotations

import pytest

from ragline.agent import conversation_window
from ragline.errors import InputError, ProviderError
from ragline.store.memory._conversations import MemoryConversationStore
from ragline.testing import FakeModel


def conversation(turns: int, chars: int = 40) -> tuple[MemoryConversationStore, str]:
    store = MemoryConversationStore()
    c = store.create_conversation("acme")
    for i in range(turns):
        role = "user" if i % 2 == 0 else "assistant"
        store.append_turn("acme", c.id, role, f"turn {i:02d} " + "x" * (chars - 8))  # type: ignore[arg-type]
    return store, c.id


def test_a_short_conversation_is_shown_whole() -> None:
    store, cid = conversation(4)
    window = conversation_window(store, "acme", cid, token_budget=1_000)
    assert [t.index for t in window.turns] == [0, 1, 2, 3]
    assert window.summary is None and window.omitted == 0 and window.tokens == 4 * 10
    assert [m.role for m in window.messages()] == ["user", "assistant", "user", "assistant"]


def test_without_a_model_older_turns_are_left_out_and_counted() -> None:
    store, cid = conversation(20)  # 10 tokens a turn
    window = conversation_window(store, "acme", cid, token_budget=55)
    assert [t.index for t in window.turns] == [15, 16, 17, 18, 19]
    assert window.omitted == 15 and window.summary is None
    assert window.tokens <= 55
    assert "15 older turn(s) left out" in window.notes[0]


def test_with_a_model_older_turns_are_summarised_within_the_budget() -> None:
    store, cid = conversation(20)
    model = FakeModel(
        ["The user reported a cracked frame on order 1042; a replacement was promised."]
    )
    window = conversation_window(store, "acme", cid, token_budget=80, summarizer=model)
    assert window.summary is not None and "order 1042" in window.summary
    assert window.omitted == 0 and window.summarized == 20 - len(window.turns)
    assert window.tokens <= 80
    assert [t.index for t in window.turns] == list(range(14, 20))  # 3/4 of 80 = 60 tokens
    sent = model.calls[0].messages[1].content
    assert "turn 00" in sent and "turn 13" in sent and "turn 14" not in sent
    assert model.calls[0].options["max_tokens"] == 20
    first = window.messages()[0]
    assert first.role == "system" and "Summary of the earlier conversation" in first.content


def test_a_failing_model_falls_back_to_leaving_turns_out() -> None:
    store, cid = conversation(20)
    window = conversation_window(
        store, "acme", cid, token_budget=55, summarizer=FakeModel([ProviderError("down")])
    )
    assert window.summary is None and window.omitted == 15
    assert "failed (ProviderError)" in window.notes[0]


def test_the_newest_turn_is_kept_even_when_it_alone_is_over_budget() -> None:
    store, cid = conversation(3, chars=4_000)
    window = conversation_window(store, "acme", cid, token_budget=100)
    assert [t.index for t in window.turns] == [2]
    assert len(window.turns[0].content) == 400 and window.turns[0].content.startswith("turn 02")
    assert window.omitted == 2


def test_an_unknown_or_foreign_conversation_is_empty() -> None:
    store, cid = conversation(3)
    assert conversation_window(store, "other", cid, token_budget=100).turns == []
    assert conversation_window(store, "acme", "nope", token_budget=100).turns == []


def test_bad_budgets_are_refused() -> None:
    store, cid = conversation(3)
    with pytest.raises(InputError, match="token_budget"):
        conversation_window(store, "acme", cid, token_budget=0)
    with pytest.raises(InputError, match="max_turns"):
        conversation_window(store, "acme", cid, token_budget=100, max_turns=0)
