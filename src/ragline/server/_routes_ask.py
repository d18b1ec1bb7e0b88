"""``POST /v1/ask`` (JSON, or server-sent events) and ``GET /v1/search``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import anyio.to_thread
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from ragline.errors import InputError
from ragline.server._errors import ApiError
from ragline.server._openai_schemas import sse_response
from ragline.server._schemas import AnswerOut, AskRequest, SearchOut, error_responses
from ragline.server._sse import ReleasingStream, event_frames
from ragline.server._state import Caller, CallerDep, ServerState, forced_variant

if TYPE_CHECKING:
    from ragline.answer._request import AskOptions

router = APIRouter(tags=["answers"])

T = TypeVar("T")

_ERRORS = error_responses(400, 401, 413, 422, 429, 503, 504)


def json_response(data: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(data, ensure_ascii=False), status_code=status, media_type="application/json"
    )


def check_question(state: ServerState, question: str, field: str = "question") -> str:
    """The pipeline's question check, as a 422 before the request takes a slot."""
    from ragline.answer import check_question as check

    try:
        return check(question, field=field, max_chars=state.settings.server.max_question_chars)
    except InputError as e:
        raise ApiError(422, "invalid_request", e.message, hint=e.hint) from None


def check_k(state: ServerState, k: int | None) -> int | None:
    limit = state.settings.server.max_k
    if k is not None and k > limit:
        raise ApiError(
            422,
            "invalid_request",
            f"k: at most {limit} (got {k})",
            hint="ask for fewer hits or raise server.max_k",
        )
    return k


def wants_stream(request: Request, body_stream: bool) -> bool:
    return body_stream or "text/event-stream" in request.headers.get("accept", "")


async def answer_in_slot(
    caller: Caller, work: Callable[[], T], *, counts: Callable[[Exception], bool] | None = None
) -> T:
    """A non-streaming answer: ``work`` in a worker thread inside an admission slot, a 504
    past ``server.request_timeout_s`` (``/v1/ask``, ``/v1/chat``, ``/v1/chat/completions``).

    A failure counts as a failed answer in the metrics, except the server's own refusals
    (queue full, timeout: :class:`ApiError`) and what ``counts`` says is none. Counting
    the answer is the route's (``metrics.observe_answer``).
    """
    state = caller.state
    try:
        return await state.admission.run(work, timeout=state.settings.server.request_timeout_s)
    except ApiError:
        raise
    except Exception as e:
        if counts is None or counts(e):
            state.metrics.observe_error(caller.tenant)
        raise


@router.post(
    "/v1/ask",
    response_model=AnswerOut,
    responses={
        **_ERRORS,
        200: sse_response(
            "with stream: events retrieval, delta…, citation…, then done or error; a guard"
            " that acts sends a guard event (a block: guard, then done with the refusal)"
        ),
    },
    summary="Answer a question with citations (JSON, or SSE when streaming)",
)
async def ask(body: AskRequest, request: Request, caller: CallerDep) -> Response:
    state = caller.state
    question = check_question(state, body.question)
    k = check_k(state, body.k)
    project = caller.project
    options: AskOptions = {
        "tenant": caller.tenant,
        "k": k,
        "filters": body.filters,
        "user": body.user,
        "variant": forced_variant(caller, request),
    }
    if wants_stream(request, body.stream):
        events = project.ask_stream(question, **options)
        return await stream_in_slot(caller, events)
    answer = await answer_in_slot(caller, lambda: project.ask(question, **options))
    state.metrics.observe_answer(caller.tenant, answer)
    return json_response(answer.to_dict())


async def stream_in_slot(
    caller: Caller,
    events: Iterator[Any],
    *,
    encode: Callable[[Any], bytes] | None = None,
    wrap: Callable[[AsyncIterator[bytes]], AsyncIterator[bytes]] | None = None,
    first: bool = False,
) -> Response:
    r"""A streamed answer: ``events`` as SSE frames (``encode``\ d, then ``wrap``\ ped)
    inside an admission slot held until the response is over (``/v1/ask``,
    ``/v1/chat``, ``/v1/chat/completions``).

    ``first`` takes the first event before the response starts, so an error there (an
    unknown conversation) is an HTTP status, not an error frame. If the stream cannot
    start, the slot is given back and the events are closed.
    """
    state = caller.state
    await state.admission.enter()
    try:
        if first:
            head = await anyio.to_thread.run_sync(next, events)
            events = _prepend(head, events)
        frames = event_frames(
            events,
            timeout_s=state.settings.server.request_timeout_s,
            on_event=state.metrics.event_observer(caller.tenant),
            encode=encode,
        )
        return ReleasingStream(wrap(frames) if wrap else frames, state.admission.leave)
    except BaseException:
        state.admission.leave()
        close = getattr(events, "close", None)
        if close is not None:
            close()
        raise


def _prepend(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    try:
        yield first
        yield from rest
    finally:
        close = getattr(rest, "close", None)
        if close is not None:  # on disconnect: ends the model stream, marks the trace abandoned
            close()


@router.get(
    "/v1/search",
    response_model=SearchOut,
    responses=_ERRORS,
    summary="The best chunks for a query (hybrid keyword + dense by default)",
)
async def search(
    caller: CallerDep,
    q: Annotated[str, Query(min_length=1, description="the query")],
    k: Annotated[int | None, Query(ge=1, description="hits (≤ server.max_k)")] = None,
    mode: Annotated[str | None, Query(pattern="^(hybrid|keyword|dense)$")] = None,
    filter: Annotated[
        list[str] | None, Query(description="key=value, key=a|b, key>=N … (repeatable)")
    ] = None,
) -> Response:
    state = caller.state
    query = check_question(state, q, "q")
    k = check_k(state, k)
    project = caller.project
    result = await state.admission.run(
        lambda: project.retrieve(query, tenant=caller.tenant, k=k, filters=filter, mode=mode),
        timeout=state.settings.server.request_timeout_s,
    )
    return json_response(
        {
            "query": result.query,
            "tenant": result.tenant,
            "mode": result.mode,
            "hits": [h.to_dict() for h in result.hits],
            "rules_fired": list(result.rules_fired),
            "timings_ms": dict(result.timings_ms),
        }
    )
