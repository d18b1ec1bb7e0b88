"""What every conversation backend shares: the checked calls and the row layout.

A bad title, turn or id is the same clear ``InputError`` whichever store is
configured, raised before anything is written: every backend is a
:class:`BaseConversationStore`, which checks the input once and then calls the
backend. The SQL backends read rows with the :data:`CONVERSATION` and :data:`TURN`
layouts.
"""

from __future__ import annotations

import json
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from ragline.errors import InputError, NotFoundError, StoreError
from ragline.store._conversations import Conversation, Role, Turn
from ragline.store._rows import Layout, json_dict, json_list

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


def turn_role(value: Any) -> Role:
    return "assistant" if value == "assistant" else "user"


#: ``conversations`` rows, in the order of :class:`Conversation`'s fields
CONVERSATION: Layout[Conversation] = Layout(
    Conversation,
    "id tenant created_at updated_at title turns metadata",
    read={"created_at": float, "updated_at": float, "turns": int, "metadata": json_dict},
)

#: ``conversation_turns`` rows (without their tenant), in the order of :class:`Turn`'s fields
TURN: Layout[Turn] = Layout(
    Turn,
    "conversation_id index role content created_at trace_id citations",
    columns={"index": "idx"},
    read={"index": int, "role": turn_role, "created_at": float, "citations": json_list},
)


class BaseConversationStore(ABC):
    """The calls every conversation backend shares: the input is checked here, once,
    before the backend's hook runs, so nothing bad is ever written.

    A backend implements :meth:`_create`, :meth:`_append` and :meth:`_turns`, and the
    plain reads of :class:`ConversationStore`.
    """

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
        meta, meta_json = check_metadata(metadata)
        draft = Conversation(cid, tenant, 0.0, 0.0, title=title, metadata=meta)
        return self._create(draft, meta_json)

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
        cites, cites_json = check_turn(role, content, trace_id, citations)
        draft = Turn(conversation_id, 0, role, content, 0.0, trace_id=trace_id, citations=cites)
        return self._append(tenant, draft, cites_json)

    def turns(self, tenant: str, conversation_id: str, *, last: int | None = None) -> list[Turn]:
        return self._turns(tenant, conversation_id, check_last(last))

    @abstractmethod
    def _create(self, draft: Conversation, metadata_json: str) -> Conversation:
        """Store the checked ``draft``, stamped now; raise :func:`duplicate` if its id
        is taken in its tenant. ``metadata_json`` is its metadata as JSON."""

    @abstractmethod
    def _append(self, tenant: str, draft: Turn, citations_json: str) -> Turn:
        """Store the checked ``draft`` at the conversation's next index, stamped now, in
        one atomic step; raise :func:`unknown` for an unknown conversation."""

    @abstractmethod
    def _turns(self, tenant: str, conversation_id: str, last: int | None) -> list[Turn]:
        """The turns in order (only the checked ``last`` n if given); ``[]`` if unknown."""
