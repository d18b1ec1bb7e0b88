"""OpenAI-compatible ``GET /v1/models`` and ``POST /v1/chat/completions``.

Point any OpenAI client at ``<server>/v1`` with a ragline API key. Each knowledge base
is a model: ``ragline`` answers from the caller's whole knowledge base and
``ragline:<doc_type>`` only from documents of that type. The question is the last
user message; earlier user messages give a short follow-up its context (the
pipeline's analysis stage, :mod:`ragline.retrieve._followup`). System messages,
temperature and the like are accepted and ignored: the answer is ragline's cited
answer, ``[n]`` markers in the text and the references in ``citations`` (on the
response and on the message), with ``ragline.trace_id`` naming the trace.

Streaming sends ``chat.completion.chunk`` frames: the role, the text deltas, a final
chunk with ``finish_reason`` and the citations, then ``data: [DONE]``.

An answer a guard blocked is a 200 with ``finish_reason: "content_filter"`` (as OpenAI
clients expect): the refusal is the message's ``content`` (and ``refusal``), and
``ragline.blocked``, ``ragline.refusal_reason`` and ``ragline.guards`` say which guard
stopped it and why. Streamed, a question blocked before any text sends the refusal as
the one content delta; an answer stopped part-way by the output guard sends no more
text, and its last chunk has ``finish_reason: "content_filter"``. A model failure
mid-answer sends ``data: {"error": {...}}`` (the OpenAI client raises ``APIError``)
and then ``[DONE]``. A client that disconnects closes the answer stream (the model
request ends and the trace is marked abandoned).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ragline.server._errors import ApiError
from ragline.server._openai_schemas import (
    ChatCompletionOut,
    ChatCompletionRequest,
    ChatMessage,
    ModelList,
    openai_error_responses,
    sse_response,
)
from ragline.server._routes_ask import (
    answer_in_slot,
    check_k,
    check_question,
    json_response,
    stream_in_slot,
)
from ragline.server._state import Caller, CallerDep, ServerState

if TYPE_CHECKING:
    from ragline.models._base import Usage
    from ragline.types import Answer

router = APIRouter(tags=["openai"])

BASE_MODEL = "ragline"
_ERRORS = openai_error_responses(400, 401, 404, 413, 422, 429, 502, 503, 504)


# ---------------------------------------------------------------- models


def _doc_types(caller: Caller) -> dict[str | None, float]:
    """doc_type → latest ``updated_at`` of the caller's documents (``None``: untyped)."""
    latest: dict[str | None, float] = {}
    for doc in caller.project.store.list_documents(caller.tenant):
        latest[doc.doc_type] = max(latest.get(doc.doc_type, 0.0), doc.updated_at)
    return latest


def model_list(caller: Caller) -> list[dict[str, Any]]:
    types = _doc_types(caller)
    newest = int(max(types.values(), default=0.0))
    models = [{"id": BASE_MODEL, "object": "model", "created": newest, "owned_by": "ragline"}]
    for doc_type in sorted(t for t in types if t):
        models.append(
            {
                "id": f"{BASE_MODEL}:{doc_type}",
                "object": "model",
                "created": int(types[doc_type]),
                "owned_by": "ragline",
            }
        )
    return models


@router.get(
    "/v1/models",
    response_model=ModelList,
    responses=openai_error_responses(401, 429, 503, 504),
    summary="The knowledge bases, as OpenAI models ('ragline', 'ragline:<doc_type>')",
)
async def list_models(caller: CallerDep) -> Response:
    state = caller.state
    data = await state.admission.run(
        model_list, caller, timeout=state.settings.server.request_timeout_s
    )
    return json_response({"object": "list", "data": data})


def unknown_model(model: str) -> ApiError:
    return ApiError(
        404,
        "not_found",
        f"The model {model!r} does not exist",
        hint="GET /v1/models lists them: 'ragline' or 'ragline:<doc_type>'",
        extra={"code": "model_not_found", "param": "model"},
    )


def resolve_model(caller: Caller, model: str) -> str | None:
    """The doc_type a model id answers from (``None``: all); 404 if there is no such model."""
    if model == BASE_MODEL:
        return None
    prefix = BASE_MODEL + ":"
    if not model.startswith(prefix) or not model[len(prefix) :]:
        raise unknown_model(model)
    doc_type = model[len(prefix) :]
    if doc_type not in _doc_types(caller):
        raise unknown_model(model)
    return doc_type


# ---------------------------------------------------------------- messages


def message_text(message: ChatMessage, index: int) -> str:
    content = message.content
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for part in content:
        if part.type != "text" or part.text is None:
            raise ApiError(
                422,
                "invalid_request",
                f"messages.{index}.content: only text parts are supported (got {part.type!r})",
                extra={"param": f"messages.{index}.content"},
            )
        parts.append(part.text)
    return "\n".join(parts)


def question_from(state: ServerState, messages: list[ChatMessage]) -> tuple[str, list[str]]:
    """The last user message, and the earlier ones (the pipeline's follow-up context)."""
    users = [(i, m) for i, m in enumerate(messages) if m.role == "user"]
    if not users:
        raise ApiError(
            422,
            "invalid_request",
            "messages: there is no user message",
            hint="the question is the last message with role 'user'",
            extra={"param": "messages"},
        )
    last_i, last = users[-1]
    text = check_question(state, message_text(last, last_i), f"messages.{last_i}.content")
    return text, [message_text(m, i) for i, m in users[:-1]]


def check_options(body: ChatCompletionRequest) -> None:
    fmt = (body.response_format or {}).get("type", "text")
    if fmt != "text":
        raise ApiError(
            422,
            "invalid_request",
            f"response_format: only 'text' is supported (got {fmt!r})",
            hint="ragline answers in text with [n] citation markers",
            extra={"param": "response_format"},
        )


# ---------------------------------------------------------------- responses


def citations(answer: Answer) -> list[dict[str, Any]]:
    return [
        {
            "number": r.number,
            "title": r.title,
            "source": r.source,
            "chunk_id": r.chunk_id,
            "document_id": r.document_id,
            "section": r.section,
            "page": r.page,
        }
        for r in answer.references
    ]


def _counts(usage: Usage | Mapping[str, Any] | None) -> tuple[int, int, bool]:
    if usage is None:
        return 0, 0, False
    if isinstance(usage, Mapping):
        return (
            int(usage.get("prompt_tokens") or 0),
            int(usage.get("completion_tokens") or 0),
            bool(usage.get("estimated")),
        )
    return usage.prompt_tokens, usage.completion_tokens, usage.estimated


def usage_of(answer: Answer, usage: Usage | None = None) -> dict[str, Any]:
    """Token counts; estimated (~4 chars/token) when the answerer reports none."""
    from ragline.models._pricing import estimate_tokens

    prompt, completion, estimated = _counts(usage if usage is not None else answer.usage)
    if not prompt and not completion:  # the extractive answerer: what a model would have read
        context = "\n".join(h.chunk.text for h in answer.hits)
        prompt = estimate_tokens(answer.question + "\n" + context)
        completion = estimate_tokens(answer.text)
        estimated = True
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "estimated": estimated,
    }


def ragline_info(answer: Answer) -> dict[str, Any]:
    return {
        "trace_id": answer.trace_id,
        "abstained": answer.abstained,
        "question": answer.question,
        "support": answer.support,
        # sentences below answer.min_support (marked, not dropped): index, text, support
        "unsupported_sentences": [
            {"index": i, "text": s.text, "support": s.support}
            for i, s in enumerate(answer.sentences)
            if not s.supported
        ],
        "blocked": answer.blocked,
        "refusal_reason": answer.refusal_reason,
        "guards": [g.to_dict() for g in answer.guards],
    }


def finish_reason(answer: Answer, reason: str = "stop") -> str:
    """``content_filter`` for an answer a guard blocked (what OpenAI clients expect)."""
    return "content_filter" if answer.blocked else reason


def completion(answer: Answer, model: str) -> dict[str, Any]:
    cites = citations(answer)
    return {
        "id": "chatcmpl-" + uuid.uuid4().hex,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": answer.text,
                    "refusal": answer.text if answer.blocked else None,
                    "citations": cites,
                },
                "finish_reason": finish_reason(answer),
                "logprobs": None,
            }
        ],
        "usage": usage_of(answer),
        "citations": cites,
        "ragline": ragline_info(answer),
        "system_fingerprint": None,
    }


def _data(obj: Any) -> bytes:
    return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n".encode()


def chunk_encoder(model: str, include_usage: bool) -> Callable[[Any], bytes]:
    """Encode ragline answer events as ``chat.completion.chunk`` frames."""
    cid = "chatcmpl-" + uuid.uuid4().hex
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
        out = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
            **extra,
        }
        if include_usage:
            out["usage"] = None
        return out

    sent_text = False

    def encode(event: Any) -> bytes:
        nonlocal sent_text
        kind = getattr(event, "type", None)
        if kind == "start":
            return _data(chunk({"role": "assistant", "content": ""}))
        if kind == "delta":
            sent_text = sent_text or bool(event.text)
            return _data(chunk({"content": event.text}))
        if kind == "done":
            answer = event.answer
            cites = citations(answer)
            info = {**ragline_info(answer), "text": answer.text}
            out = b""
            if answer.blocked and not sent_text:  # blocked before any text: the refusal
                out += _data(chunk({"content": answer.text, "refusal": answer.text}))
            reason = finish_reason(answer, event.finish_reason)
            out += _data(chunk({}, reason, citations=cites, ragline=info))
            if include_usage:
                usage = usage_of(answer, event.usage)
                out += _data({**chunk({}), "choices": [], "usage": usage})
            return out
        if kind == "error":
            return _data(
                {
                    "error": {
                        "message": event.message,
                        "type": "model_error",
                        "code": "stream_failed",
                        "partial_text": event.partial_text,
                        "retryable": event.retryable,
                    }
                }
            )
        return b""  # retrieval and citation events: the final chunk carries the citations

    return encode


class _Start:
    type = "start"


async def _with_done(start: bytes, frames: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    try:
        yield start
        async for f in frames:
            if f:
                yield f
        yield b"data: [DONE]\n\n"
    finally:
        aclose = getattr(frames, "aclose", None)
        if aclose is not None:  # also when the client went away: closes the answer stream
            await aclose()


@router.post(
    "/v1/chat/completions",
    response_model=ChatCompletionOut,
    responses={
        **_ERRORS,
        200: sse_response("chat.completion.chunk frames (data only), then data: [DONE]"),
    },
    summary="OpenAI Chat Completions: a cited answer from the knowledge base",
)
async def chat_completions(
    body: ChatCompletionRequest, request: Request, caller: CallerDep
) -> Response:
    from ragline.store._filters import to_conditions

    state = caller.state
    check_options(body)
    question, history = question_from(state, body.messages)
    k = check_k(state, body.k)
    to_conditions(body.filters)  # a bad filter is a 400 now, not a failed stream
    timeout = state.settings.server.request_timeout_s
    doc_type = await state.admission.run(resolve_model, caller, body.model, timeout=timeout)
    filters: dict[str, Any] | None = dict(body.filters or {})
    if doc_type is not None:
        filters = {**(filters or {}), "doc_type": doc_type}
    filters = filters or None
    project, tenant = caller.project, caller.tenant
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        events = project.ask_stream(question, tenant=tenant, k=k, filters=filters, history=history)
        encode = chunk_encoder(body.model, include_usage)

        def frames(f: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
            return _with_done(encode(_Start()), f)

        return await stream_in_slot(caller, events, encode=encode, wrap=frames)
    answer = await answer_in_slot(
        caller, lambda: project.ask(question, tenant=tenant, k=k, filters=filters, history=history)
    )
    state.metrics.observe_answer(caller.tenant, answer)
    return json_response(completion(answer, body.model))
