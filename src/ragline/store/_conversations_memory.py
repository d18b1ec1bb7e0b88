"""``MemoryConversationStore``: the reference :class:`ConversationStore`, in memory.

It defines the behaviour the SQLite and PostgreSQL backends match (all three pass
``ragline.testing.ConversationStoreConformance``). The input checks every backend
shares live here too, so a bad title, turn or id is the same clear ``InputError``
whichever store is configured, raised before anything is written.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ragline.errors import InputError, NotFoundError, StoreError
from ragline.store._conversations import Conversation, Role, Turn

ROLES: tuple[Role, ...] = ("user", "assistant")
MAX_ID_CHARS = 128
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*\Z")

Clock = Callable[[], float]


def new_conversation_id() -> str:
    """32 random lowercase hex characters."""
    return uuid.uuid4().hex


def check_text(value: Any, what: str) -> str:
    """``value`` if it is a string every backend can store exactly; else ``InputError``."""
    if not isinstance(value, str):
        raise InputError(f"{what} must be a string, not {type(value).__name__}")
    if "\x00" in value:
        raise InputError(
            f"{what} contains a NUL character (\\x00)",
            hint="remove the NUL characters; PostgreSQL cannot store them in text",
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InputError(
            f"{what} is not valid Unicode ({e.reason} at position {e.start})",
            hint="decode the text with the right encoding; lone surrogates cannot be stored",
        ) from None
    return value


def check_tenant(tenant: Any) -> str:
    if not isinstance(tenant, str) or not tenant.strip():
        raise InputError("tenant must be a non-empty string", hint="e.g. tenant='default'")
    return check_text(tenant, "tenant")


def check_new_id(conversation_id: Any) -> str:
    """A caller-chosen conversation id: 1-128 of ``A-Z a-z 0-9 . _ : -``, not
    starting with punctuation."""
    if not isinstance(conversation_id, str) or not conversation_id:
        raise InputError(
            "conversation id must be a non-empty string",
            hint="leave conversation_id out to get a random one",
        )
    if len(conversation_id) > MAX_ID_CHARS or not _ID.match(conversation_id):
        raise InputError(
            f"invalid conversation id {conversation_id[:80]!r}",
            hint=f"use 1-{MAX_ID_CHARS} letters, digits, '.', '_', ':' or '-' "
            "(starting with a letter or digit), or leave it out to get a random one",
        )
    return conversation_id


def dump_json(value: Any, what: str) -> str:
    """Compact JSON of ``value``; ``InputError`` if it is not JSON every backend keeps."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as e:
        raise InputError(
            f"{what} is not JSON-serialisable: {e}",
            hint="use only str, int, float (finite), bool, None, lists and string-keyed dicts",
        ) from None
    if "\\u0000" in text:
        raise InputError(
            f"{what} contains a NUL character (\\u0000)",
            hint="remove it; PostgreSQL cannot store it in JSON",
        )
    return check_text(text, what)


def check_metadata(metadata: Any) -> tuple[dict[str, Any], str]:
    """A private copy of the metadata and its JSON."""
    if metadata is None:
        return {}, "{}"
    if not isinstance(metadata, dict):
        raise InputError(f"metadata must be a dict, not {type(metadata).__name__}")
    text = dump_json(metadata, "metadata")
    copy: dict[str, Any] = json.loads(text)
    if set(copy) != set(metadata):  # non-string keys were converted
        raise InputError("metadata keys must be strings", hint="e.g. {'channel': 'web'}")
    return copy, text


def check_turn(
    role: Any,
    content: Any,
    trace_id: Any,
    citations: Any,
) -> tuple[list[dict[str, Any]], str]:
    """Validate one turn; a private copy of the citations and their JSON."""
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}", hint="use 'user' or 'assistant'")
    check_text(content, "turn content")
    if trace_id is not None:
        check_text(trace_id, "trace_id")
    if citations is None:
        return [], "[]"
    if not isinstance(citations, list) or not all(isinstance(c, dict) for c in citations):
        raise InputError(
            "citations must be a list of JSON objects (dicts)",
            hint="e.g. [{'chunk_id': 'doc#0', 'document_id': 'doc'}]",
        )
    text = dump_json(citations, "citations")
    copy: list[dict[str, Any]] = json.loads(text)
    return copy, text


def check_last(last: Any) -> int | None:
    if last is None:
        return None
    if isinstance(last, bool) or not isinstance(last, int) or last < 0:
        raise InputError(f"last must be a whole number >= 0, not {last!r}")
    return last


def unknown(conversation_id: str) -> NotFoundError:
    return NotFoundError(
        f"no conversation {conversation_id[:80]!r}",
        hint="create the conversation first (or check the tenant: ids are per tenant)",
    )


def duplicate(conversation_id: str) -> StoreError:
    return StoreError(
        f"conversation {conversation_id!r} already exists",
        hint="choose another id, or leave conversation_id out to get a random one",
    )


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
