"""``MemoryConversationStore``: the reference :class:`ConversationStore`, in memory.

It defines the behaviour the SQLite and PostgreSQL backends match (all three pass
``ragline.testing.ConversationStoreConformance``); the input checks they share are in
:mod:`ragline.store._conversation_rows`.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

from ragline.errors import StoreError
from ragline.store._conversation_rows import (
    Clock,
    check_last,
    check_metadata,
    check_new_id,
    check_tenant,
    check_text,
    check_turn,
    duplicate,
    new_conversation_id,
    unknown,
)
from ragline.store._conversations import Conversation, Role, Turn


@dataclass(slots=True)
class _State:
    conversation: Conversation
    turns: list[Turn] = field(default_factory=list)


def _copy(conversation: Conversation) -> Conversation:
    return replace(conversation, metadata=json.loads(json.dumps(conversation.metadata)))


def _copy_turn(turn: Turn) -> Turn:
    return replace(turn, citations=json.loads(json.dumps(turn.citations)))


class MemoryConversationStore:
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

    def create_conversation(
        self,
        tenant: str,
        *,
        conversation_id: str | None = None,
        title: str = "",
        metadata: dict[str, Any] | None = None,
    ) -> Conversation:
        check_tenant(tenant)
        cid = new_conversation_id() if conversation_id is None else check_new_id(conversation_id)
        check_text(title, "title")
        meta, _ = check_metadata(metadata)
        with self._lock:
            self._check_open()
            if (tenant, cid) in self._data:
                raise duplicate(cid)
            now = self._clock()
            conversation = Conversation(
                id=cid, tenant=tenant, created_at=now, updated_at=now, title=title, metadata=meta
            )
            self._data[(tenant, cid)] = _State(conversation)
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

    def append_turn(
        self,
        tenant: str,
        conversation_id: str,
        role: Role,
        content: str,
        *,
        trace_id: str | None = None,
        citations: list[dict[str, Any]] | None = None,
    ) -> Turn:
        cites, _ = check_turn(role, content, trace_id, citations)
        with self._lock:
            self._check_open()
            state = self._data.get((tenant, conversation_id))
            if state is None:
                raise unknown(conversation_id)
            now = self._clock()
            turn = Turn(
                conversation_id=conversation_id,
                index=len(state.turns),
                role=role,
                content=content,
                created_at=now,
                trace_id=trace_id,
                citations=cites,
            )
            state.turns.append(turn)
            state.conversation = replace(state.conversation, updated_at=now, turns=len(state.turns))
            return _copy_turn(turn)

    def turns(self, tenant: str, conversation_id: str, *, last: int | None = None) -> list[Turn]:
        n = check_last(last)
        with self._lock:
            self._check_open()
            state = self._data.get((tenant, conversation_id))
            if state is None or n == 0:
                return []
            chosen = state.turns if n is None else state.turns[-n:]
            return [_copy_turn(t) for t in chosen]

    def delete_conversation(self, tenant: str, conversation_id: str) -> bool:
        with self._lock:
            self._check_open()
            return self._data.pop((tenant, conversation_id), None) is not None

    def close(self) -> None:
        with self._lock:
            self._closed = True
