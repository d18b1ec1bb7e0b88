"""MemoryConversationStore passes the conversation-store conformance suite."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ragline.errors import StoreError
from ragline.store._conversations import ConversationStore
from ragline.store.memory import MemoryBackend
from ragline.store.memory._conversations import MemoryConversationStore
from ragline.store.memory._documents import MemoryStore
from ragline.testing import ConversationStoreConformance


class TestMemoryConversationStore(ConversationStoreConformance):
    def make_store(self, clock: Callable[[], float]) -> ConversationStore:
        return MemoryConversationStore(clock=clock)


def test_closed_store_says_so() -> None:
    store = MemoryConversationStore()
    c = store.create_conversation("acme")
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.append_turn("acme", c.id, "user", "hello?")


def test_memory_document_store_gets_a_memory_conversation_store() -> None:
    conversations = MemoryBackend(MemoryStore()).conversations
    assert isinstance(conversations, MemoryConversationStore)
    conversations.close()
