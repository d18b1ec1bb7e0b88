"""Multi-turn chat: ``POST /v1/chat`` and ``/v1/conversations`` (list, get, delete).

``POST /v1/chat`` answers ``message`` inside a conversation (a new one unless
``conversation_id`` names one of the caller's). The earlier user turns give a short
follow-up its context (:mod:`ragline.server._followup`). The user turn is stored
before answering, so a message is never lost; the assistant turn (with its trace id
and citations) is stored once the answer is complete. If answering fails, or a
streaming client disconnects before the ``done`` event, the conversation ends with the
unanswered user turn and no assistant turn; the next message carries on from there.

Streaming sends a ``conversation`` event first (the id, also of a new conversation,
and the user turn's index), then ragline's answer events (retrieval, delta…,
citation…, done — or error), then, after the assistant turn is stored, a final
``conversation`` event with the id and the assistant turn's index.

Conversations are per tenant: another tenant's id is a 404, exactly like an unknown one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from ragline.errors import NotFoundError, RaglineError
from ragline.server._errors import ApiError, from_ragline
from ragline.server._openai_schemas import sse_response
from ragline.server._routes_ask import check_k, check_question, json_response, wants_stream
from ragline.server._schemas import AnswerOut, FilterValue, error_responses
from ragline.server._sse import ReleasingStream, event_frames
from ragline.server._state import Caller, CallerDep

if TYPE_CHECKING:
    from ragline.types import Answer

router = APIRouter(tags=["chat"])

HISTORY_TURNS = 8  # turns read back for follow-up context
TITLE_CHARS = 80
_ERRORS = error_responses(400, 401, 404, 413, 422, 429, 502, 503, 504)
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\Z")  # what a conversation id can be
ConversationId = Annotated[str, Path(min_length=1, max_length=128)]


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation_id: str | None = Field(
        None, min_length=1, max_length=128, description="continue this conversation"
    )
    message: str = Field(min_length=1, description="the user's message")
    stream: bool = Field(False, description="answer as server-sent events")
    k: int | None = Field(None, ge=1, description="hits to answer from (≤ server.max_k)")
    filters: dict[str, FilterValue] | None = Field(
        None, description="metadata the hits must have, e.g. {'doc_type': 'policy'}"
    )


class ChatOut(BaseModel):
    conversation_id: str
    turn: int = Field(description="index of the stored assistant turn")
    answer: AnswerOut


class TurnOut(BaseModel):
    index: int
    role: str
    content: str
    created_at: float
    trace_id: str | None = None
    citations: list[dict[str, Any]] = []


class ConversationOut(BaseModel):
    id: str
    title: str
    created_at: float
    updated_at: float
    turn_count: int
    metadata: dict[str, Any] = {}


class ConversationDetailOut(ConversationOut):
    turns: list[TurnOut]


class ConversationListOut(BaseModel):
    conversations: list[ConversationOut]


def conversation_dict(c: Any) -> dict[str, Any]:
    return {
        "id": c.id,
        "title": c.title,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
        "turn_count": c.turns,
        "metadata": dict(c.metadata),
    }


def turn_dict(t: Any) -> dict[str, Any]:
    return {
        "index": t.index,
        "role": t.role,
        "content": t.content,
        "created_at": t.created_at,
        "trace_id": t.trace_id,
        "citations": list(t.citations),
    }


def unknown_conversation(conversation_id: str) -> NotFoundError:
    if _ID.match(conversation_id):
        message = f"no conversation {conversation_id!r}"
    else:
        message = "no conversation with that id (not a valid conversation id)"
    return NotFoundError(
        message,
        hint="GET /v1/conversations lists yours; leave conversation_id out to start one",
    )


def existing(caller: Caller, conversation_id: str) -> Any:
    """The caller's conversation; 404 for an unknown id, another tenant's, or a malformed one."""
    if not _ID.match(conversation_id):
        raise unknown_conversation(conversation_id)
    conv = caller.project.conversations.get_conversation(caller.tenant, conversation_id)
    if conv is None:
        raise unknown_conversation(conversation_id)
    return conv


@dataclass(frozen=True, slots=True)
class Prepared:
    conversation_id: str
    user_turn: int
    question: str


def prepare(caller: Caller, body: ChatRequest, message: str) -> Prepared:
    """Find (or create) the conversation, build the question, store the user turn."""
    from ragline.server._followup import contextual_question

    store = caller.project.conversations
    tenant = caller.tenant
    if body.conversation_id is not None:
        cid = existing(caller, body.conversation_id).id
        history = store.turns(tenant, cid, last=HISTORY_TURNS)
    else:
        cid = store.create_conversation(tenant, title=message.strip()[:TITLE_CHARS]).id
        history = []
    previous = [t.content for t in history if t.role == "user"]
    limit = caller.state.settings.server.max_question_chars
    question = contextual_question(message, previous, max_chars=limit)
    turn = store.append_turn(tenant, cid, "user", message)
    return Prepared(cid, turn.index, question)


def store_answer(caller: Caller, conversation_id: str, answer: Answer) -> int:
    turn = caller.project.conversations.append_turn(
        caller.tenant,
        conversation_id,
        "assistant",
        answer.text,
        trace_id=answer.trace_id,
        citations=[r.to_dict() for r in answer.references],
    )
    return turn.index


@router.post(
    "/v1/chat",
    response_model=ChatOut,
    responses={
        **_ERRORS,
        200: sse_response(
            "events: conversation, retrieval, delta…, citation…, done (or error), conversation"
        ),
    },
    summary="Chat: answer a message in a conversation, using its history for follow-ups",
)
async def chat(body: ChatRequest, request: Request, caller: CallerDep) -> Response:
    from ragline._project import to_conditions

    state = caller.state
    message = check_question(state, body.message, "message")
    k = check_k(state, body.k)
    to_conditions(body.filters)  # a bad filter is a 400 before anything is stored
    timeout = state.settings.server.request_timeout_s
    if wants_stream(request, body.stream):
        return await _stream(caller, body, message, k, timeout)
    project = caller.project
    # the user turn is stored first (and the conversation made): an error below still
    # names the conversation, so the client can retry in it
    prep = await state.admission.run(lambda: prepare(caller, body, message), timeout=timeout)
    cid = prep.conversation_id

    def run() -> dict[str, Any]:
        answer = project.ask(prep.question, tenant=caller.tenant, k=k, filters=body.filters)
        state.metrics.observe_answer(caller.tenant, answer)
        turn = store_answer(caller, cid, answer)
        return {"conversation_id": cid, "turn": turn, "answer": answer.to_dict()}

    try:
        out = await state.admission.run(run, timeout=timeout)
    except ApiError as e:
        e.extra.setdefault("conversation_id", cid)
        raise
    except RaglineError as e:
        state.metrics.observe_error(caller.tenant)
        err = from_ragline(e)
        err.extra["conversation_id"] = cid
        raise err from e
    except Exception:
        state.metrics.observe_error(caller.tenant)
        raise
    return json_response(out)


class _Note:
    """A ``conversation`` event of the chat stream."""

    type = "conversation"

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **self.data}


def _chat_events(caller: Caller, prep: Prepared, k: int | None, filters: Any) -> Iterator[Any]:
    """The answer's events; the assistant turn is stored (in the worker thread) on ``done``."""
    from ragline.answer import DoneEvent

    cid = prep.conversation_id
    yield _Note({"conversation_id": cid, "turn": prep.user_turn})
    events = caller.project.ask_stream(prep.question, tenant=caller.tenant, k=k, filters=filters)
    try:
        for event in events:
            if not isinstance(event, DoneEvent):
                yield event
                continue
            turn = store_answer(caller, cid, event.answer)
            yield event
            yield _Note({"conversation_id": cid, "turn": turn, "stored": True})
            return
    finally:
        close = getattr(events, "close", None)
        if close is not None:  # on disconnect: ends the model stream, marks the trace abandoned
            close()


async def _stream(
    caller: Caller, body: ChatRequest, message: str, k: int | None, timeout: float
) -> Response:
    state = caller.state
    await state.admission.enter()
    try:
        prep = await anyio.to_thread.run_sync(prepare, caller, body, message)

        on_event = state.metrics.event_observer(caller.tenant)
        events = _chat_events(caller, prep, k, body.filters)
        frames = event_frames(events, timeout_s=timeout, on_event=on_event)
        return ReleasingStream(frames, state.admission.leave)
    except BaseException:
        state.admission.leave()
        raise


@router.get(
    "/v1/conversations",
    response_model=ConversationListOut,
    responses=error_responses(401, 422, 429, 503, 504),
    summary="The caller's conversations, most recently updated first",
)
async def list_conversations(
    caller: CallerDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="at most this many")] = 50,
) -> Response:
    state = caller.state
    found = await state.admission.run(
        lambda: caller.project.conversations.list_conversations(caller.tenant, limit=limit),
        timeout=state.settings.server.request_timeout_s,
    )
    return json_response({"conversations": [conversation_dict(c) for c in found]})


@router.get(
    "/v1/conversations/{conversation_id}",
    response_model=ConversationDetailOut,
    responses=error_responses(401, 404, 429, 503, 504),
    summary="One conversation with its turns",
)
async def get_conversation(conversation_id: ConversationId, caller: CallerDep) -> Response:
    state = caller.state

    def load() -> dict[str, Any]:
        conv = existing(caller, conversation_id)
        turns = caller.project.conversations.turns(caller.tenant, conversation_id)
        return {**conversation_dict(conv), "turns": [turn_dict(t) for t in turns]}

    out = await state.admission.run(load, timeout=state.settings.server.request_timeout_s)
    return json_response(out)


@router.delete(
    "/v1/conversations/{conversation_id}",
    status_code=204,
    responses=error_responses(401, 404, 429, 503, 504),
    summary="Delete a conversation and its turns",
)
async def delete_conversation(conversation_id: ConversationId, caller: CallerDep) -> Response:
    state = caller.state
    deleted = _ID.match(conversation_id) is not None and await state.admission.run(
        lambda: caller.project.conversations.delete_conversation(caller.tenant, conversation_id),
        timeout=state.settings.server.request_timeout_s,
    )
    if not deleted:
        raise unknown_conversation(conversation_id)
    return Response(status_code=204)
