"""Chat: answer a message inside a stored conversation, through the pipeline.

The user turn is stored before answering, so a message is never lost; the assistant
turn (with its trace id and citations) is stored once the answer is complete. If
answering fails, or the consumer stops before the ``done`` event, the conversation
ends with the unanswered user turn and no assistant turn; the next message carries
on from there. The earlier user turns give a short follow-up its context (the
pipeline's analysis stage, :mod:`ragline.retrieve._followup`).

The stream is a ``conversation`` event (the id, also of a new conversation, and the
user turn's index), the answer's events (retrieval, delta…, citation…, done — or
error), then, after the assistant turn is stored, a last ``conversation`` event with
that turn's index. ``ragline chat``, ``Project.chat`` and ``POST /v1/chat`` all run it.

Conversations are per tenant: another tenant's id is a :class:`NotFoundError`, exactly
like an unknown one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ragline.answer._events import ConversationEvent, DoneEvent, ErrorEvent, Event
from ragline.answer._request import AskRequest, check_question
from ragline.errors import NotFoundError, ProviderError

if TYPE_CHECKING:
    from ragline.answer._pipeline import Pipeline
    from ragline.store._conversations import Conversation, ConversationStore
    from ragline.types import Answer

HISTORY_TURNS = 8  #: turns read back for follow-up context
TITLE_CHARS = 80  #: a new conversation's title: the start of its first message
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\Z")  # what a conversation id can be


@dataclass(frozen=True, slots=True)
class ChatReply:
    """A chat answer: the conversation, the stored assistant turn's index, the answer."""

    conversation_id: str
    turn: int
    answer: Answer


def is_conversation_id(text: str) -> bool:
    """Whether ``text`` can be a conversation id (1-128 of ``A-Za-z0-9._:-``)."""
    return _ID.match(text) is not None


def unknown_conversation(conversation_id: str) -> NotFoundError:
    if is_conversation_id(conversation_id):
        message = f"no conversation {conversation_id!r}"
    else:
        message = "no conversation with that id (not a valid conversation id)"
    return NotFoundError(
        message,
        hint="check the id and the tenant (ids are per tenant), or leave the id out to start "
        "a new conversation",
    )


class Chat:
    """Conversations in ``conversations``, answered by a tenant's pipeline."""

    def __init__(self, conversations: ConversationStore, *, max_question_chars: int) -> None:
        self.conversations = conversations
        self.max_question_chars = max_question_chars

    def existing(self, tenant: str, conversation_id: str) -> Conversation:
        """The tenant's conversation; :class:`NotFoundError` for an unknown, another
        tenant's or a malformed id."""
        if not is_conversation_id(conversation_id):
            raise unknown_conversation(conversation_id)
        found = self.conversations.get_conversation(tenant, conversation_id)
        if found is None:
            raise unknown_conversation(conversation_id)
        return found

    def stream(
        self, pipeline: Pipeline, request: AskRequest, conversation_id: str | None = None
    ) -> Iterator[Event]:
        """The chat's events (see the module docstring) for the message ``request.question``."""
        message = check_question(
            request.question, field="message", max_chars=self.max_question_chars
        )
        store, tenant = self.conversations, request.tenant
        if conversation_id is not None:
            cid = self.existing(tenant, conversation_id).id
            history = store.turns(tenant, cid, last=HISTORY_TURNS)
        else:
            cid = store.create_conversation(tenant, title=message.strip()[:TITLE_CHARS]).id
            history = []
        previous = tuple(t.content for t in history if t.role == "user")
        user = store.append_turn(tenant, cid, "user", message)
        yield ConversationEvent(cid, user.index)
        events = pipeline.stream(replace(request, history=previous))
        try:
            for event in events:
                if isinstance(event, DoneEvent):
                    answer = event.answer
                    turn = store.append_turn(
                        tenant,
                        cid,
                        "assistant",
                        answer.text,
                        trace_id=answer.trace_id,
                        citations=[r.to_dict() for r in answer.references],
                    )
                    yield event
                    yield ConversationEvent(cid, turn.index, stored=True)
                    return
                yield event
        finally:
            close = getattr(events, "close", None)
            if close is not None:  # on an early stop: ends the model stream, marks the trace
                close()

    def answer(
        self, pipeline: Pipeline, request: AskRequest, conversation_id: str | None = None
    ) -> ChatReply:
        """The answer, its assistant turn stored (the model asked in one call)."""
        cid, done = "", None
        for event in self.stream(pipeline, replace(request, stream=False), conversation_id):
            if isinstance(event, ConversationEvent):
                cid = event.conversation_id
                if event.stored and done is not None:
                    return ChatReply(cid, event.turn, done.answer)
            elif isinstance(event, DoneEvent):
                done = event
            elif isinstance(event, ErrorEvent):
                raise ProviderError(event.message)
        raise AssertionError("the chat ended without an answer")  # pragma: no cover


__all__ = [
    "HISTORY_TURNS",
    "TITLE_CHARS",
    "Chat",
    "ChatReply",
    "is_conversation_id",
    "unknown_conversation",
]
