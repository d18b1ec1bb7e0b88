"""Conversations: the multi-turn history behind ``POST /v1/chat`` — records and contract.

Every backend (memory, SQLite, PostgreSQL) stores the same records and passes
``ragline.testing.ConversationStoreConformance``. Every call is scoped by tenant: a
conversation id of another tenant behaves exactly like an unknown id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

Role = Literal["user", "assistant"]


@dataclass(frozen=True, slots=True)
class Conversation:
    id: str  # 32 lowercase hex chars unless the caller chose one
    tenant: str
    created_at: float  # Unix epoch seconds
    updated_at: float
    title: str = ""
    turns: int = 0  # number of turns stored
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Turn:
    conversation_id: str
    index: int  # 0, 1, 2, … in the order appended
    role: Role
    content: str
    created_at: float
    trace_id: str | None = None  # the ask that produced an assistant turn
    citations: list[dict[str, Any]] = field(default_factory=list)  # JSON objects


@runtime_checkable
class ConversationStore(Protocol):
    def create_conversation(
        self,
        tenant: str,
        *,
        conversation_id: str | None = None,
        title: str = "",
        metadata: dict[str, Any] | None = None,
    ) -> Conversation:
        """A new conversation (a fresh random id unless one is given).

        Raises ``StoreError`` if ``conversation_id`` already exists for this tenant.
        """
        ...

    def get_conversation(self, tenant: str, conversation_id: str) -> Conversation | None: ...

    def list_conversations(self, tenant: str, *, limit: int = 50) -> list[Conversation]:
        """Most recently updated first."""
        ...

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
        """Append one turn atomically (two writers never get the same index).

        Raises ``NotFoundError`` for an unknown conversation (or another tenant's).
        """
        ...

    def turns(self, tenant: str, conversation_id: str, *, last: int | None = None) -> list[Turn]:
        """The conversation's turns in order (only the ``last`` n if given); ``[]`` if unknown."""
        ...

    def delete_conversation(self, tenant: str, conversation_id: str) -> bool: ...

    def close(self) -> None: ...
