"""Long-term memory with the bundled MiniLM embedder (loads the model once)."""

from __future__ import annotations

from typing import Any

import pytest

from ragline.agent import LongTermMemory
from ragline.store.memory._user_memory import MemoryUserMemoryStore

DAY = 86_400.0


@pytest.fixture(scope="module")
def embedder() -> Any:
    from ragline.embed import MiniLMEmbedder

    return MiniLMEmbedder()


def test_last_weeks_promise_is_recalled_for_a_follow_up(embedder: Any) -> None:
    now = [1_764_000_000.0]
    store = MemoryUserMemoryStore(clock=lambda: now[0])
    memory = LongTermMemory(store, embedder, clock=lambda: now[0])
    exchanges = [
        (
            "My e-bike battery stopped holding a charge, order 5521.",
            "Sorry about that. We'll ship a replacement battery for order 5521 this week.",
        ),
        ("I prefer to be contacted by email, not phone.", "Noted, we'll use email."),
        ("I live in Lyon.", "Thanks."),
    ]
    for q, a in exchanges:
        memory.record(tenant="acme", user="u1", question=q, answer=a, conversation_id="c1")
    now[0] += 7 * DAY
    hits = memory.recall(
        tenant="acme", user="u1", question="Has my new battery been sent yet?", k=2
    )
    assert hits and "replacement battery" in hits[0].text
    # another user asking the same thing gets nothing of u1's
    assert memory.recall(tenant="acme", user="u2", question="Has my battery shipped?") == []
    # an unrelated question recalls nothing
    assert memory.recall(tenant="acme", user="u1", question="What is pi to three digits?") == []
