"""``POST /v1/agent``: one run of the support agent (``Project.agent``) for the caller's
tenant.

The run happens inside an admission slot like an answer. JSON: the whole run (answer,
references, stop reason, tool calls, usage, trace id). With ``stream`` (or ``Accept:
text/event-stream``) the run's events as server-sent events, as they happen:
``tool_call``, ``tool_result``, ``delta``, ``citation``, then ``done`` with the stop
reason — an ``error`` event just before ``done`` when the model failed. A run is stored
in a conversation (``conversation_id`` carries one on; another tenant's id is a 404);
``user`` turns on that user's long-term memory (``/v1/memory``).

The agent of a tenant is built once (its model, tools and MCP sessions) and shared by
that tenant's requests: a run keeps its state to itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from ragline.server._openai_schemas import sse_response
from ragline.server._routes_ask import answer_in_slot, check_question, json_response, wants_stream
from ragline.server._schemas import error_responses
from ragline.server._sse import ReleasingStream, event_frames
from ragline.server._state import Caller, CallerDep

if TYPE_CHECKING:
    from ragline.agent import Agent, AgentEvent, AgentRun

router = APIRouter(tags=["agent"])
_agents: dict[tuple[int, str], Agent] = {}
_lock = threading.Lock()


class AgentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(min_length=1, description="the user's message")
    conversation_id: str | None = Field(
        None, min_length=1, max_length=128, description="continue this conversation"
    )
    user: str | None = Field(
        None, min_length=1, max_length=256, description="the end user (their long-term memory)"
    )
    stream: bool = Field(False, description="send the run's events as server-sent events")


class AgentRunOut(BaseModel):
    text: str
    stop_reason: str = Field(
        description=(
            "completed, step_limit, loop_detected, budget, timeout, handoff, error or blocked"
        )
    )
    detail: str
    steps: int
    tool_calls: list[dict[str, Any]]
    references: list[dict[str, Any]]
    sentences: list[dict[str, Any]]
    usage: dict[str, Any]
    cost_usd: float | None
    elapsed_ms: float
    trace_id: str | None
    conversation_id: str | None
    handoff: dict[str, Any] | None
    memories: int
    notes: list[str]


def agent_for(caller: Caller) -> Agent:
    key = (id(caller.project), caller.tenant)
    with _lock:
        agent = _agents.get(key)
        if agent is None:
            agent = _agents[key] = caller.project.agent(tenant=caller.tenant)
        return agent


@router.post(
    "/v1/agent",
    response_model=AgentRunOut,
    responses={
        **error_responses(400, 401, 404, 413, 422, 429, 500, 503, 504),
        200: sse_response(
            "with stream: events tool_call, tool_result, delta…, citation…, then done (with "
            "the stop reason); error just before done when the model failed"
        ),
    },
    summary="Run the support agent: tools, limits, loop detection, memory, cited answer",
)
async def run_agent(body: AgentRequest, request: Request, caller: CallerDep) -> Response:
    import anyio.to_thread

    state = caller.state
    message = check_question(state, body.message, "message")
    agent = await anyio.to_thread.run_sync(agent_for, caller)
    if not wants_stream(request, body.stream):
        run = await answer_in_slot(
            caller,
            lambda: agent.run(message, user=body.user, conversation_id=body.conversation_id),
        )
        state.metrics.observe_agent_run(caller.tenant, run)
        return json_response(run.to_dict())
    # an unknown conversation is a 404 here, before the stream starts
    events = _observed(
        agent.stream(message, user=body.user, conversation_id=body.conversation_id),
        lambda run: state.metrics.observe_agent_run(caller.tenant, run),
    )
    await state.admission.enter()
    try:
        frames = event_frames(events, timeout_s=state.settings.server.request_timeout_s)
        return ReleasingStream(frames, state.admission.leave)
    except BaseException:
        state.admission.leave()
        close = getattr(events, "close", None)
        if close is not None:
            close()
        raise


def _observed(
    events: Iterator[AgentEvent], observe: Callable[[AgentRun], None]
) -> Iterator[AgentEvent]:
    """The events as they are; the run of the ``done`` event goes to ``observe`` (the
    agent's metrics). Closing this closes the run's stream at once."""
    from ragline.agent import AgentDoneEvent

    try:
        for event in events:
            if isinstance(event, AgentDoneEvent):
                observe(event.run)
            yield event
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()


__all__ = ["router"]
