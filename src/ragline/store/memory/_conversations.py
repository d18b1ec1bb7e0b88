"""``MemoryConversationStore``: the reference :class:`ConversationStore`, in memory.

It defines the behaviour the SQLite and PostgreSQL backends match (all three pass
``ragline.testing.ConversationStoreConformance``); the checked calls they share are
:class:`~ragline.store._conversation_rows.BaseConversationStore`'s.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field, replace

from ragline.errors import StoreError
from ragline.store._conversation_rows import BaseConversationStore, Clock, duplicate, unknown
from ragline.store._conversations import Conversation, Turn


@dataclass(slots=True)
class _State:
    conversation: Conversation
    turns: list[Turn] = field(default_factory=list)


def _copy(conversation: Conversation) -> Conversation:
    return replace(conversation, metadata=json.loads(json.dumps(conversation.metadata)))


def _copy_turn(turn: Turn) -> Turn:
    return replace(turn, citations=json.loads(json.dumps(turn.citations)))


class MemoryConversationStore(BaseConversationStore):
    """Conversations in a dictionary; nothing survives the process. Thread-safe.

    ``clock`` (default ``time.time``) stamps ``created_at``/``updated_at``; tests pass
    a fake one.

    >>> store = MemoryConversationStore()
    >>> c = store.create_conversation("default", title="warranty")
    >>> store.append_turn("default", c.id, "user", "How long is the warranty?").index
    0
    """

    def __init__(self, *, clock: Clock | None = None) -> None:
        self._clock: Clock = clock or time.time
        self._data: dict[tuple[str, str], _State] = {}
        self._lock = threading.Lock()
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the in-memory conversation store is closed")

    def _create(self, draft: Conversation, metadata_json: str) -> Conversation:
        with self._lock:
            self._check_open()
            if (draft.tenant, draft.id) in self._data:
                raise duplicate(draft.id)
            now = self._clock()
            conversation = replace(draft, created_at=now, updated_at=now)
            self._data[(draft.tenant, draft.id)] = _State(conversation)
            return _copy(conversation)

    def get_conversation(self, tenant: str, conversation_id: str) -> Conversation | None:
        with self._lock:
            self._check_open()
            state = self._data.get((tenant, conversation_id))
            return _copy(state.conversation) if state else None

    def list_conversations(self, tenant: str, *, limit: int = 50) -> list[Conversation]:
        with self._lock:
            self._check_open()
            mine = [s.conversation for (t, _), s in self._data.items() if t == tenant]
        mine.sort(key=lambda c: (c.updated_at, c.id), reverse=True)
        return [_copy(c) for c in mine[: max(0, int(limit))]]

    def _append(self, tenant: str, draft: Turn, citations_json: str) -> Turn:
        with self._lock:
            self._check_open()
            state = self._data.get((tenant, draft.conversation_id))
            if state is None:
                raise unknown(draft.conversation_id)
            now = self._clock()
            turn = replace(draft, index=len(state.turns), created_at=now)
            state.turns.append(turn)
            state.conversation = replace(state.conversation, updated_at=now, turns=len(state.turns))
            return _copy_turn(turn)

    def _turns(self, tenant: str, conversation_id: str, last: int | None) -> list[Turn]:
        with self._lock:
            self._check_open()
            state = self._data.get((tenant, conversation_id))
            if state is None or last == 0:
                return []
            chosen = state.turns if last is None else state.turns[-last:]
            return [_copy_turn(t) for t in chosen]

    def delete_conversation(self, tenant: str, conversation_id: str) -> bool:
        with self._lock:
            self._check_open()
            return self._data.pop((tenant, conversation_id), None) is not None

    def close(self) -> None:
        with self._lock:
            self._closed = True
