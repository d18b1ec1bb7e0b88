"""``POST /v1/feedback``, ``GET /v1/traces`` and ``GET /v1/traces/{trace_id}``.

The HTTP side of ``ragline feedback add``, ``ragline traces list`` and ``ragline
traces show --json``, scoped to the caller's tenant: a trace of another tenant is
404, exactly like a trace that does not exist. Trace ids may be a unique prefix of
at least 8 characters, as in the CLI.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import AliasChoices, BaseModel, Field

from ragline.errors import InputError, NotFoundError
from ragline.server._routes_ask import json_response
from ragline.server._schemas import _In, error_responses
from ragline.server._state import Caller, CallerDep
from ragline.trace._feedback import MAX_NOTE_CHARS

router = APIRouter(tags=["traces"])

FeedbackKind = Literal["hallucination", "wrong_citation", "irrelevant", "good"]


class FeedbackIn(_In):
    trace_id: str = Field(
        min_length=1, max_length=128, description="the answer's trace_id (or 8+ chars of it)"
    )
    kind: FeedbackKind
    comment: str | None = Field(
        None,
        max_length=MAX_NOTE_CHARS,
        validation_alias=AliasChoices("comment", "note"),
        description="what was wrong (or right); 'note' is accepted too",
    )


class FeedbackOut(BaseModel):
    id: str
    trace_id: str
    tenant: str
    kind: str
    note: str | None = None
    created_at: float


class TraceSummaryOut(BaseModel):
    trace_id: str
    tenant: str
    name: str
    start: float
    time: str
    duration_ms: float
    status: str
    spans: int
    question: str | None = None


class TraceListOut(BaseModel):
    traces: list[TraceSummaryOut]


class SpanOut(BaseModel):
    trace_id: str
    span_id: str
    parent_id: str | None = None
    name: str
    kind: str
    tenant: str
    start: float
    end: float
    duration_ms: float
    status: str
    attributes: dict[str, Any]
    events: list[dict[str, Any]]


class TraceOut(BaseModel):
    trace_id: str
    spans: list[SpanOut]
    feedback: list[FeedbackOut]


def _timeout(caller: Caller) -> float:
    return caller.state.settings.server.request_timeout_s


def _flush(caller: Caller) -> None:
    project = caller.project
    project.flush_traces(project.settings.tracing.flush_timeout_s)


def _not_found(e: InputError, trace_id: str) -> InputError | NotFoundError:
    # no such trace (for this tenant) is a TraceNotFoundError; over HTTP that is a 404
    if isinstance(e, NotFoundError):
        return NotFoundError(
            f"no trace {trace_id!r}", hint="GET /v1/traces lists your recent traces"
        )
    return e


@router.post(
    "/v1/feedback",
    status_code=201,
    response_model=FeedbackOut,
    responses=error_responses(400, 401, 404, 413, 422, 429, 503),
    summary="Record feedback on an answer (by its trace_id)",
)
async def add_feedback(body: FeedbackIn, caller: CallerDep) -> Response:
    from ragline.trace._feedback import add_feedback as add
    from ragline.trace._render import feedback_to_dict

    tenant = caller.tenant
    store = caller.project.trace_store

    def record() -> dict[str, Any]:
        _flush(caller)
        try:
            fb = add(store, body.trace_id, body.kind, body.comment, tenant=tenant)
        except InputError as e:
            raise _not_found(e, body.trace_id) from None
        return feedback_to_dict(fb)

    out = await caller.state.admission.run(record, timeout=_timeout(caller))
    return json_response(out, status=201)


@router.get(
    "/v1/traces",
    response_model=TraceListOut,
    responses=error_responses(400, 401, 422, 429, 503),
    summary="The caller's recent traces, newest first",
)
async def list_traces(
    caller: CallerDep,
    since: Annotated[
        str | None, Query(max_length=64, description="30m, 2h, 7d, or 2026-11-25T10:00")
    ] = None,
    until: Annotated[str | None, Query(max_length=64, description="as since")] = None,
    status: Annotated[Literal["ok", "error"] | None, Query()] = None,
    min_latency_ms: Annotated[float | None, Query(ge=0, le=1e12)] = None,
    text: Annotated[
        str | None, Query(max_length=1000, description="text in the question or answer")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> Response:
    from ragline._time import parse_when
    from ragline.trace._render import summary_to_dict

    start = parse_when(since, option="since") if since is not None else None
    end = parse_when(until, option="until") if until is not None else None
    project, tenant = caller.project, caller.tenant
    if text is not None and "\x00" in text:
        raise InputError("text: contains a NUL character")

    def find() -> list[dict[str, Any]]:
        found = project.list_traces(
            tenant=tenant,
            since=start,
            until=end,
            status=status,
            min_latency_ms=min_latency_ms,
            text=text or None,
            limit=limit,
        )
        return [summary_to_dict(t) for t in found]

    traces = await caller.state.admission.run(find, timeout=_timeout(caller))
    return json_response({"traces": traces})


@router.get(
    "/v1/traces/{trace_id}",
    response_model=TraceOut,
    responses=error_responses(400, 401, 404, 429, 503),
    summary="One trace: its spans (prompt, hits, output…) and feedback",
)
async def get_trace(
    trace_id: Annotated[str, Path(max_length=128, description="full id or 8+ chars of it")],
    caller: CallerDep,
) -> Response:
    from ragline.trace._feedback import find_trace, root_span
    from ragline.trace._render import trace_to_dict

    tenant = caller.tenant
    store = caller.project.trace_store

    def load() -> dict[str, Any]:
        _flush(caller)
        try:
            spans = find_trace(store, trace_id, tenant=tenant)
        except InputError as e:
            raise _not_found(e, trace_id) from None
        root = root_span(spans)
        feedback = store.list_feedback(trace_id=root.trace_id, tenant=tenant)
        return trace_to_dict(root.trace_id, spans, feedback)

    out = await caller.state.admission.run(load, timeout=_timeout(caller))
    return json_response(out)
