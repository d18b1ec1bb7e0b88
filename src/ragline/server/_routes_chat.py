"""Multi-turn chat: ``POST /v1/chat`` and ``/v1/conversations`` (list, get, delete).

``POST /v1/chat`` answers ``message`` inside a conversation (a new one unless
``conversation_id`` names one of the caller's) with ``Project.chat_stream``: the user
turn is stored before answering, the assistant turn once the answer is complete, and
earlier user turns give a follow-up its context (see :mod:`ragline.answer._chat`).
An answer that fails still names the conversation its user turn was stored in.

Streaming sends the chat's events as they come: ``conversation`` (the id and the user
turn's index), the answer's events (retrieval, delta…, citation…, done — or error),
then ``conversation`` with the stored assistant turn's index.

Conversations are per tenant: another tenant's id is a 404, exactly like an unknown one.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from ragline.answer import ConversationEvent, DoneEvent
from ragline.answer._chat import is_conversation_id, unknown_conversation
from ragline.errors import RaglineError
from ragline.server._errors import ApiError, from_ragline
from ragline.server._openai_schemas import sse_response
from ragline.server._routes_ask import (
    answer_in_slot,
    check_k,
    check_question,
    json_response,
    stream_in_slot,
    wants_stream,
)
from ragline.server._schemas import AnswerOut, FilterValue, error_responses
from ragline.server._state import Caller, CallerDep

if TYPE_CHECKING:
    from ragline.store._conversations import Turn

router = APIRouter(tags=["chat"])

_ERRORS = error_responses(400, 401, 404, 413, 422, 429, 502, 503, 504)
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


def turn_dict(t: Turn) -> dict[str, Any]:
    """A turn's fields but its conversation's id (the one asked for)."""
    out = asdict(t)
    del out["conversation_id"]
    return out


def existing(caller: Caller, conversation_id: str) -> Any:
    """The caller's conversation; 404 for an unknown id, another tenant's, or a malformed one."""
    return caller.project.parts.chat.existing(caller.tenant, conversation_id)


@router.post(
    "/v1/chat",
    response_model=ChatOut,
    responses={
        **_ERRORS,
        200: sse_response(
            "events: conversation, retrieval, delta…, citation…, done (or error), conversation;"
            " guard when a guard acts (a block: guard, then done with the refusal)"
        ),
    },
    summary="Chat: answer a message in a conversation, using its history for follow-ups",
)
async def chat(body: ChatRequest, request: Request, caller: CallerDep) -> Response:
    state = caller.state
    message = check_question(state, body.message, "message")
    k = check_k(state, body.k)
    stream = wants_stream(request, body.stream)
    events = caller.project.chat_stream(
        body.conversation_id,
        message,
        tenant=caller.tenant,
        k=k,
        filters=body.filters,  # a bad filter is a 400 here, before anything is stored
        stream=stream,
    )
    if stream:
        return await stream_in_slot(caller, events, first=True)
    cid: list[str] = []

    def run() -> dict[str, Any]:
        done: DoneEvent | None = None
        for event in events:
            if isinstance(event, ConversationEvent):
                cid.append(event.conversation_id)
                if event.stored and done is not None:
                    answer = done.answer
                    state.metrics.observe_answer(caller.tenant, answer)
                    return {
                        "conversation_id": cid[0],
                        "turn": event.turn,
                        "answer": answer.to_dict(),
                    }
            elif isinstance(event, DoneEvent):
                done = event
        raise AssertionError("the chat ended without an answer")  # pragma: no cover

    # Once the user turn is stored (cid), an error names its conversation, so the client
    # can retry there; a ragline error before it (an unknown conversation) is no failed
    # answer.
    try:
        out = await answer_in_slot(
            caller, run, counts=lambda e: bool(cid) or not isinstance(e, RaglineError)
        )
    except ApiError as e:
        if cid:
            e.extra.setdefault("conversation_id", cid[0])
        raise
    except RaglineError as e:
        err = from_ragline(e)
        if cid:
            err.extra["conversation_id"] = cid[0]
        raise err from e
    return json_response(out)


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
    deleted = is_conversation_id(conversation_id) and await state.admission.run(
        lambda: caller.project.conversations.delete_conversation(caller.tenant, conversation_id),
        timeout=state.settings.server.request_timeout_s,
    )
    if not deleted:
        raise unknown_conversation(conversation_id)
    return Response(status_code=204)
