"""The agent as an evaluation target (``ragline eval run --agent``).

Each case runs the project's agent (``Project.agent``, built once per tenant: its tools, limits,
guards and memory) on its question and records the run in ``CaseOutput.agent``: stop
reason, steps, tokens, memories recalled and every tool call with its arguments and
outcome, which the agent metrics (:mod:`ragline.evals._metrics._agent`) score. The
results go to the same eval store as answer runs, so ``ragline eval compare`` works
on them.

A case's ``agent.earlier`` messages are sent first, by the same ``agent.user``, each in
a conversation of its own (earlier sessions: what long-term memory must carry over);
the question is then asked in a new conversation. ``agent.fail_once`` names user tools
(``agent.tools`` or ``tools=``) whose first call in the case raises a
:class:`~ragline.errors.ToolError`, so recovery from a tool error is measured. A case
without an agent block runs as a plain agent task (nothing expected but the answer).
"""

from __future__ import annotations

import copy
import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ragline._time import elapsed_ms
from ragline.errors import InputError, RaglineError, ToolError
from ragline.evals._types import Case, CaseOutput, CitedSentence

if TYPE_CHECKING:
    from ragline._project import Project
    from ragline.agent import Agent, AgentRun, Tool
    from ragline.models import Model


def fail_once(t: Tool) -> Tool:
    """``t`` whose first call raises a ToolError (an injected fault); later calls run."""
    lock = threading.Lock()
    failed = [False]
    fn = t.fn

    def flaky(**arguments: Any) -> Any:
        with lock:
            first = not failed[0]
            failed[0] = True
        if first:
            raise ToolError(f"{t.name} is temporarily unavailable", hint="try again")
        return fn(**arguments)

    return dataclasses.replace(t, fn=flaky)


class AgentTarget:
    """Runs every case through ``project.agent(...)``; see the module docstring.

    ``model``: the agent's model (default ``agent.model``, else ``model:``), e.g. the
    scripted :func:`ragline.testing.reference_policy`. ``tools``: user tools added to
    ``agent.tools``. ``memory``: long-term memory on (when ``memory.enabled``) or off.
    """

    def __init__(
        self,
        project: Project,
        *,
        model: Model | str | None = None,
        tools: Sequence[Tool | Callable[..., Any]] = (),
        memory: bool = True,
    ) -> None:
        self.project = project
        self.model = model
        self.tools = list(tools)
        self.memory = memory
        self.name = "agent"
        self._agents: dict[str | None, Agent] = {}
        self._lock = threading.Lock()

    def fingerprint(self, cases: Sequence[Case]) -> dict[str, Any]:
        from ragline.evals._fingerprint import project_fingerprint

        tenants = {self.project.tenant_or_default(c.tenant) for c in cases}
        fp = project_fingerprint(self.project, tenants)
        fp["target"] = self.name
        agent = self.project.settings.agent
        fp["agent"] = agent.model_dump(mode="json")
        fp["agent_memory"] = self.memory and self.project.settings.memory.enabled
        if self.model is not None:
            fp["agent_model"] = self.model if isinstance(self.model, str) else self.model.name
        fp["agent_tools"] = sorted(getattr(t, "name", repr(t)) for t in self.tools)
        return fp

    def agent_for(self, tenant: str | None) -> Agent:
        """The tenant's agent, built once per target (its MCP sessions too); raises the
        :class:`~ragline.errors.ConfigError` of a bad ``agent:`` configuration."""
        with self._lock:
            agent = self._agents.get(tenant)
            if agent is None:
                agent = self.project.agent(
                    tenant=tenant, model=self.model, tools=self.tools, memory=self.memory
                )
                self._agents[tenant] = agent
            return agent

    def _case_agent(self, case: Case) -> Agent:
        """The agent for ``case``: a copy whose ``fail_once`` tools fail on their first call."""
        agent = self.agent_for(case.tenant)
        flaky = set(case.agent.fail_once) if case.agent else set()
        if flaky:
            names = {t.name for t in agent.tools}
            unknown = sorted(flaky - names)
            if unknown:
                raise InputError(
                    f"case {case.id}: fail_once names {unknown}, not user tools of the agent",
                    hint=f"name one of {sorted(names)} (built-in tools cannot be failed)",
                )
            agent = copy.copy(agent)
            agent.tools = [fail_once(t) if t.name in flaky else t for t in agent.tools]
        return agent

    def run_case(self, case: Case) -> CaseOutput:
        t0 = time.perf_counter()
        try:
            agent = self._case_agent(case)
            user = case.agent.user if case.agent else None
            for message in case.agent.earlier if case.agent else ():
                agent.run(message, user=user)
            run, calls = _run_recorded(agent, case.question, user)
        except Exception as e:  # a broken case is its error, never the run's end
            text = str(e) if isinstance(e, RaglineError) else f"{type(e).__name__}: {e}"
            return CaseOutput(answer="", latency_ms=elapsed_ms(t0), error=text)
        return output_from_run(run, calls, latency_ms=elapsed_ms(t0))


def _run_recorded(
    agent: Agent, message: str, user: str | None
) -> tuple[AgentRun, list[dict[str, Any]]]:
    """The run, and its tool calls as asked (with arguments) and how each ended."""
    from ragline.agent import AgentDoneEvent, ToolCallEvent, ToolResultEvent

    calls: dict[tuple[int, str], dict[str, Any]] = {}
    done: AgentRun | None = None
    for event in agent.stream(message, user=user):
        if isinstance(event, ToolCallEvent):
            calls[(event.step, event.id)] = {
                "name": event.name,
                "arguments": dict(event.arguments),
                "ok": None,  # never ran (refused by a limit or loop detection)
            }
        elif isinstance(event, ToolResultEvent):
            call = calls.get((event.step, event.result.call.id))
            if call is not None:
                call["ok"] = event.result.ok
                if event.result.error:
                    call["error"] = event.result.error.get("type")
        elif isinstance(event, AgentDoneEvent):
            done = event.run
    assert done is not None  # a run always ends with done
    return done, list(calls.values())


def output_from_run(run: AgentRun, calls: list[dict[str, Any]], *, latency_ms: float) -> CaseOutput:
    """An :class:`~ragline.agent.AgentRun` as a :class:`CaseOutput` (``agent`` set)."""
    by_number = {r.number: r.chunk_id for r in run.references}
    sentences = tuple(
        CitedSentence(s.text, tuple(by_number[n] for n in s.citations if n in by_number))
        for s in run.sentences
    )
    return CaseOutput(
        answer=run.text,
        sentences=sentences,
        latency_ms=latency_ms,
        cost_usd=float(run.cost_usd or 0.0),
        trace_id=run.trace_id,
        agent={
            "stop_reason": run.stop_reason,
            "detail": run.detail,
            "steps": run.steps,
            "tokens": run.usage.total_tokens,
            "memories": run.memories,
            "tool_calls": calls,
        },
    )


__all__ = ["AgentTarget", "fail_once", "output_from_run"]
