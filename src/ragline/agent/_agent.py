"""The agent loop: the model, its tools, the run's limits, memory, citations, spans.

Each step asks the model (streaming, with the tools' OpenAI-style schemas); its text is
streamed as ``delta`` events. When it asks for tools, the calls are checked against the
limits and the :class:`~ragline.agent._limits.LoopDetector` *before* they run, then run
in parallel (each with its timeout), and their results — errors included, as structured
``{"error": {"type", "message"}}`` results — go back to the model for the next step. A
step without tool calls is the answer: its ``[n]`` markers are checked against the hits
the searches returned (:class:`~ragline.agent._builtins.CitationBook`) like a RAG
answer's. Every run ends with a stop reason and an answer (best effort when it did not
complete). Nothing here raises once the run has started: a failing model is stop reason
``error``, a failing memory a note in the run and its trace.

Spans: ``agent`` (the run; a new trace), ``agent.memory``, one ``agent.step`` per model
turn, and one ``agent.tool`` per tool call (a child of its step). A hand-off files a
ticket in ``tickets`` (when given) with the run's user, conversation and trace id; the
root span carries it as a ``handoff`` event and ``ragline.agent.ticket_id``. With
``guards`` (:class:`~ragline.agent._guards.AgentGuards`, the tenant's ``guards:``) the
message, every tool result and the answer are checked, each check a guard span; while
output guards are on, the answer is streamed as one delta once it has been checked.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ragline.agent._builtins import (
    CitationBook,
    FileTicket,
    Handoff,
    KnowledgeBase,
    builtin_tools,
    ticket_filer,
)
from ragline.agent._events import (
    AgentDoneEvent,
    AgentEvent,
    CitationEvent,
    DeltaEvent,
    ErrorEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from ragline.agent._limits import LoopDetector, Stop
from ragline.agent._run import AgentLimits, AgentRun
from ragline.agent._tools import Tool, ToolResult, call_tools
from ragline.errors import RaglineError, StoreError
from ragline.models._base import Message, Model, ToolCall, Usage
from ragline.models._pricing import Price, cost_usd, estimate_usage
from ragline.trace._tracer import NOOP_TRACER, Tracer, iterate_in

if TYPE_CHECKING:
    from ragline.agent._guards import AgentGuards
    from ragline.agent._memory import AgentMemory
    from ragline.answer._citations import SupportScorer
    from ragline.store._conversations import ConversationStore
    from ragline.store._tickets import TicketStore
    from ragline.trace._tracer import NoopSpan, Span

SYSTEM_PROMPT = (
    "You are a customer-support agent. Answer the user's request using the tools. "
    "Search the knowledge base for facts and cite each fact with the number n of the hit "
    "it comes from, as [n]. Use the calculator for arithmetic. If the knowledge base does "
    "not hold the answer, say so. Hand off to a human when the user asks for one or the "
    "request needs a decision you cannot make. Answer briefly."
)
_LEAD = {
    "step_limit": "I could not finish within the steps this conversation allows",
    "loop_detected": "I stopped because I was repeating the same steps",
    "budget": "I reached this conversation's budget before finishing",
    "timeout": "I ran out of time before finishing",
    "error": "Something went wrong while I was answering",
}
SNIPPET_CHARS = 300


@dataclass
class _State:
    """What one run has gathered so far."""

    started: float
    book: CitationBook = field(default_factory=CitationBook)
    handoffs: list[Handoff] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    cost: float | None = None
    steps: int = 0
    calls: list[dict[str, Any]] = field(default_factory=list)
    last_text: str = ""
    notes: list[str] = field(default_factory=list)
    error: ErrorEvent | None = None  # the model's failure, sent just before done
    user: str | None = None
    conversation_id: str | None = None
    trace_id: str | None = None
    question: str = ""  # the user's message as the guards let it through


class Agent:
    """A support agent over ``model`` (any :class:`~ragline.models.Model`).

    ``kb`` gives the knowledge-base tools; ``builtins`` names the built-ins offered,
    ``tools`` adds user and MCP tools. ``scorer`` checks the answer's citations (None:
    markers are kept as the model wrote them). ``memory`` (long-term, per user) and
    ``conversations`` (short-term: a token-budgeted window of the conversation) are
    optional. ``tickets`` is where ``handoff_to_human`` files its ticket (None: the
    hand-off is only in the run and its trace). ``guards`` checks the message, the tool
    results and the answer (see :mod:`ragline.agent._guards`). Build one with
    ``Project.agent()``.
    """

    def __init__(
        self,
        model: Model,
        *,
        kb: KnowledgeBase | None = None,
        builtins: Sequence[str] = (
            "search_knowledge_base",
            "get_document",
            "calculator",
            "current_time",
            "handoff_to_human",
        ),
        tools: Sequence[Tool] = (),
        limits: AgentLimits | None = None,
        tenant: str = "default",
        tracer: Tracer = NOOP_TRACER,
        scorer: SupportScorer | None = None,
        memory: AgentMemory | None = None,
        memory_k: int = 5,
        conversations: ConversationStore | None = None,
        tickets: TicketStore | None = None,
        guards: AgentGuards | None = None,
        window_tokens: int = 1_500,
        window_turns: int = 50,
        system_prompt: str = SYSTEM_PROMPT,
        price: Price | None = None,
        min_support: float = 0.45,
        attribute_min: float = 0.55,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model = model
        self.kb = kb
        self.builtins = list(builtins)
        self.tools = list(tools)
        self.limits = limits or AgentLimits()
        self.tenant = tenant
        self.tracer = tracer
        self.scorer = scorer
        self.memory = memory
        self.memory_k = memory_k
        self.conversations = conversations
        self.tickets = tickets
        self.guards = guards
        self.window_tokens = window_tokens
        self.window_turns = window_turns
        self.system_prompt = system_prompt
        self.price = price
        self.min_support = min_support
        self.attribute_min = attribute_min
        self.clock = clock
        names = [t.name for t in self._tools(CitationBook(), [])]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            from ragline.errors import ConfigError

            raise ConfigError(f"two agent tools are called {dupes}", hint="rename one of them")

    def _tools(
        self, book: CitationBook, handoffs: list[Handoff], file_ticket: FileTicket | None = None
    ) -> list[Tool]:
        builtins = builtin_tools(self.builtins, self.kb, book, handoffs, file_ticket=file_ticket)
        return [*builtins, *self.tools]

    def _ticket_filer(self, state: _State) -> FileTicket | None:
        """How this run's hand-off files its ticket, or None without a ticket store."""
        if self.tickets is None:
            return None
        return ticket_filer(
            self.tickets,
            self.tenant,
            user=state.user,
            conversation_id=state.conversation_id,
            trace_id=state.trace_id,
        )

    # -- entry points ----------------------------------------------------------------

    def run(
        self, message: str, *, user: str | None = None, conversation_id: str | None = None
    ) -> AgentRun:
        """Run to the end and return the :class:`AgentRun`."""
        done: AgentRun | None = None
        for event in self.stream(message, user=user, conversation_id=conversation_id):
            if isinstance(event, AgentDoneEvent):
                done = event.run
        assert done is not None  # a run always ends with done
        return done

    def stream(
        self, message: str, *, user: str | None = None, conversation_id: str | None = None
    ) -> Iterator[AgentEvent]:
        """The run's events (see :mod:`ragline.agent._events`). A blank message or an
        unknown conversation raises here, before anything runs or is stored."""
        from ragline.answer._request import check_question

        check_question(message, field="message", max_chars=100_000)
        if conversation_id is not None and self.conversations is not None:
            from ragline.answer._chat import unknown_conversation

            if self.conversations.get_conversation(self.tenant, conversation_id) is None:
                raise unknown_conversation(conversation_id)
        root = self.tracer.start_span(
            "agent",
            "agent",
            tenant=self.tenant,
            root=True,
            attributes={
                "ragline.question": message,
                "ragline.tenant": self.tenant,
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.request.model": self.model.name,
            },
        )
        return iterate_in(root, self._events(root, message, user, conversation_id))

    # -- the loop ----------------------------------------------------------------------

    def _events(
        self, root: Span | NoopSpan, message: str, user: str | None, conversation_id: str | None
    ) -> Iterator[AgentEvent]:
        state = _State(self.clock(), user=user, trace_id=getattr(root, "trace_id", None))
        try:
            message, refused = self._guard_message(root, message)
            state.question = message
            if refused is not None:
                run = self._refused(state, refused, conversation_id, root)
            else:
                messages, conversation_id, memories = self._context(
                    root, state, message, user, conversation_id
                )
                state.conversation_id = conversation_id
                stop = yield from self._loop(root, state, messages)
                run = self._finish(state, stop, conversation_id, memories, root)
            if self._holding:
                yield DeltaEvent(run.text)
            for i, sentence in enumerate(run.sentences):
                yield CitationEvent(
                    i, sentence.citations, sentence.support, sentence.text, sentence.supported
                )
            self._remember(root, state, run, message, user)
            root.update(
                {
                    "ragline.agent.stop_reason": run.stop_reason,
                    "ragline.agent.steps": run.steps,
                    "ragline.agent.tool_calls": len(run.tool_calls),
                    "ragline.answer": run.text,
                    "gen_ai.usage.input_tokens": run.usage.prompt_tokens,
                    "gen_ai.usage.output_tokens": run.usage.completion_tokens,
                }
            )
            if state.error is not None:
                root.set_status("error", run.detail)
                yield state.error
            yield AgentDoneEvent(run)
        except BaseException as e:
            if isinstance(e, GeneratorExit):
                root.set("ragline.stream.abandoned", True)
            else:
                root.record_exception(e)
            raise
        finally:
            root.end()

    @property
    def _holding(self) -> bool:
        """Whether the answer is held back until the output guards have checked it."""
        return self.guards is not None and self.guards.holds_output

    def _guard_message(self, root: Span | NoopSpan, message: str) -> tuple[str, Stop | None]:
        """The message as the input guards let it through, and a stop if they block it."""
        return (message, None) if self.guards is None else self.guards.check_message(root, message)

    def _refused(
        self, state: _State, stop: Stop, conversation_id: str | None, root: Span | NoopSpan
    ) -> AgentRun:
        """The run of a blocked message: the refusal; nothing stored, no model asked."""
        from ragline.guards._policy import REFUSAL_TEXT

        return AgentRun(
            text=REFUSAL_TEXT,
            stop_reason=stop.reason,
            detail=stop.detail,
            elapsed_ms=(self.clock() - state.started) * 1000,
            trace_id=getattr(root, "trace_id", None),
            conversation_id=conversation_id,
        )

    def _context(
        self,
        root: Span | NoopSpan,
        state: _State,
        message: str,
        user: str | None,
        conversation_id: str | None,
    ) -> tuple[list[Message], str | None, int]:
        """System prompt, memory, the conversation window and the message; the user turn
        is stored before the model is asked (a message is never lost)."""
        messages = [Message("system", self.system_prompt)]
        memories = 0
        if self.memory is not None and user:
            from ragline.agent._memory import render_memories

            with self.tracer.start_span("agent.memory", parent=root) as span:
                try:
                    hits = self.memory.recall(
                        tenant=self.tenant, user=user, question=message, k=self.memory_k
                    )
                except StoreError as e:
                    hits = []
                    note = f"memory unavailable, answered without it: {e}"
                    state.notes.append(note)
                    span.set("ragline.memory.error", str(e))
                span.set("ragline.memory.recalled", len(hits))
            if hits:
                memories = len(hits)
                messages.append(Message("system", render_memories(hits)))
        if self.conversations is not None:
            from ragline.agent._memory_window import conversation_window

            store = self.conversations
            if conversation_id is None:
                conversation_id = store.create_conversation(
                    self.tenant, title=message.strip()[:80]
                ).id
            else:
                window = conversation_window(
                    store,
                    self.tenant,
                    conversation_id,
                    token_budget=self.window_tokens,
                    max_turns=self.window_turns,
                )
                messages += window.messages()
                state.notes += window.notes
            store.append_turn(self.tenant, conversation_id, "user", message)
            root.set("ragline.conversation_id", conversation_id)
        messages.append(Message("user", message))
        return messages, conversation_id, memories

    def _loop(
        self, root: Span | NoopSpan, state: _State, messages: list[Message]
    ) -> Generator[AgentEvent, None, Stop]:
        limits = self.limits
        tools = {
            t.name: t for t in self._tools(state.book, state.handoffs, self._ticket_filer(state))
        }
        specs = [t.spec for t in tools.values()] or None
        detector = LoopDetector(repeat_limit=limits.repeat_limit)
        deadline = state.started + limits.max_wall_s
        while True:
            stop = self._over_limit(state)
            if stop is not None:
                return stop
            state.steps += 1
            step = state.steps
            span = self.tracer.start_span(
                "agent.step",
                "llm",
                parent=root,
                attributes={"ragline.agent.step": step, "gen_ai.request.model": self.model.name},
            )
            try:
                text, calls, usage = yield from self._ask(span, messages, specs)
            except RaglineError as e:
                span.record_exception(e)
                span.end()
                partial = getattr(e, "partial_text", "") or ""
                if partial.strip():
                    state.last_text = partial
                state.error = ErrorEvent(str(e), partial_text=partial)
                return Stop("error", f"the model failed: {e}")
            self._count(state, messages, text, calls, usage)
            span.update(
                {
                    "ragline.answer": text,
                    "ragline.agent.tool_calls": [c.name for c in calls],
                    "gen_ai.usage.input_tokens": usage.prompt_tokens,
                    "gen_ai.usage.output_tokens": usage.completion_tokens,
                }
            )
            if text.strip():
                state.last_text = text
            if not calls:
                span.end()
                return Stop("completed")
            stop = self._check_calls(state, detector, calls)
            if stop is not None:
                span.set("ragline.agent.stopped", stop.detail)
                span.end()
                return stop
            for call in calls:
                yield ToolCallEvent(step, call.id, call.name, dict(call.arguments))
            results = self._call(span, calls, tools, deadline)
            if self.guards is not None:
                guards = self.guards
                results = [guards.tool_result(span, r, state.question) for r in results]
            span.end()
            messages.append(Message("assistant", text, tool_calls=tuple(calls)))
            for result in results:
                state.calls.append({"step": step, **result.to_dict()})
                messages.append(result.message())
                yield ToolResultEvent(step, result)
            ended = [r for r in results if r.ok and tools[r.call.name].ends_run]
            if ended and state.handoffs:
                handoff = state.handoffs[-1]
                root.event("handoff", **handoff.to_dict())
                root.set("ragline.agent.handoff_id", handoff.id)
                if handoff.ticket_id is not None:
                    root.set("ragline.agent.ticket_id", handoff.ticket_id)
                return Stop("handoff", handoff.reason)
            stop = detector.check_results([r.text for r in results])
            if stop is not None:
                return stop

    def _ask(
        self, span: Span | NoopSpan, messages: list[Message], specs: Any
    ) -> Generator[AgentEvent, None, tuple[str, list[ToolCall], Usage]]:
        """One model turn, streamed: yields deltas, returns (text, calls, usage)."""
        text: list[str] = []
        calls: list[ToolCall] = []
        usage: Usage | None = None
        for delta in self.model.stream(messages, tools=specs):
            if delta.text:
                text.append(delta.text)
                if not self._holding:
                    yield DeltaEvent(delta.text)
            if delta.tool_call is not None:
                calls.append(delta.tool_call)
            if delta.usage is not None:
                usage = delta.usage
        joined = "".join(text)
        if usage is None:
            usage = estimate_usage(messages, joined, calls)
        seen: set[str] = set()
        unique: list[ToolCall] = []
        for i, call in enumerate(calls):  # a provider that reuses ids would confuse results
            call_id = call.id if call.id and call.id not in seen else f"call_{len(messages)}_{i}"
            seen.add(call_id)
            unique.append(
                call if call_id == call.id else ToolCall(call_id, call.name, call.arguments)
            )
        return joined, unique, usage

    def _count(
        self, state: _State, messages: list[Message], text: str, calls: list[ToolCall], usage: Usage
    ) -> None:
        state.usage.prompt_tokens += usage.prompt_tokens
        state.usage.completion_tokens += usage.completion_tokens
        state.usage.estimated = state.usage.estimated or usage.estimated
        cost = cost_usd(usage, self.price)
        if cost is not None:
            state.cost = (state.cost or 0.0) + cost

    def _over_limit(self, state: _State) -> Stop | None:
        limits = self.limits
        elapsed = self.clock() - state.started
        if elapsed >= limits.max_wall_s:
            return Stop(
                "timeout", f"the run took {elapsed:.1f} s (agent.max_wall_s: {limits.max_wall_s:g})"
            )
        if state.usage.total_tokens >= limits.max_tokens:
            return Stop(
                "budget",
                f"{state.usage.total_tokens} tokens used (agent.max_tokens: {limits.max_tokens})",
            )
        if limits.max_cost_usd is not None and (state.cost or 0.0) >= limits.max_cost_usd:
            return Stop(
                "budget", f"${state.cost:.4f} spent (agent.max_cost_usd: {limits.max_cost_usd:g})"
            )
        if state.steps >= limits.max_steps:
            return Stop(
                "step_limit", f"{state.steps} model turns (agent.max_steps: {limits.max_steps})"
            )
        return None

    def _check_calls(
        self, state: _State, detector: LoopDetector, calls: list[ToolCall]
    ) -> Stop | None:
        limit = self.limits.max_tool_calls
        if len(state.calls) + len(calls) > limit:
            return Stop(
                "step_limit",
                f"{len(calls)} more tool call(s) would pass agent.max_tool_calls ({limit})",
            )
        return detector.check_calls(calls)

    def _call(
        self, step: Span | NoopSpan, calls: list[ToolCall], tools: dict[str, Tool], deadline: float
    ) -> list[ToolResult]:
        spans = [
            self.tracer.start_span(
                "agent.tool",
                "tool",
                parent=step,
                attributes={
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": c.name,
                    "gen_ai.tool.call.id": c.id,
                    "ragline.tool.arguments": c.arguments,
                },
            )
            for c in calls
        ]
        # the wall-time deadline is on self.clock; call_tools waits on time.monotonic
        left = deadline - self.clock()
        results = call_tools(
            calls,
            tools,
            timeout_s=self.limits.tool_timeout_s,
            max_chars=self.limits.max_result_chars,
            deadline=time.monotonic() + max(0.0, left),
            spans=spans,
        )
        for span, result in zip(spans, results, strict=True):
            span.update({"ragline.tool.ok": result.ok, "ragline.tool.result": result.text})
            if not result.ok and result.error is not None:
                span.set_status("error", result.error["message"])
                span.set("error.type", result.error["type"])
            span.end()
        return results

    # -- the end of a run ------------------------------------------------------------

    def _finish(
        self,
        state: _State,
        stop: Stop,
        conversation_id: str | None,
        memories: int,
        root: Span | NoopSpan,
    ) -> AgentRun:
        handoff = state.handoffs[-1] if state.handoffs else None
        if stop.reason == "completed":
            text = state.last_text
        elif stop.reason == "handoff" and handoff is not None:
            text = state.last_text.strip() or (
                "I have handed this conversation to a human colleague "
                f"({handoff.ticket_id or handoff.id}): {handoff.reason}"
            )
        else:
            text = self._best_effort(stop, state)
        text, stop = self._guard_answer(root, state, text, stop)
        run = AgentRun(
            text=text,
            stop_reason=stop.reason,
            detail=stop.detail,
            steps=state.steps,
            tool_calls=state.calls,
            usage=state.usage,
            cost_usd=state.cost,
            elapsed_ms=(self.clock() - state.started) * 1000,
            trace_id=getattr(root, "trace_id", None),
            conversation_id=conversation_id,
            handoff=handoff,
            memories=memories,
            notes=state.notes,
        )
        if self.scorer is not None:
            from ragline.answer._citations import verify_citations

            cited = verify_citations(
                text,
                state.book.hits,
                self.scorer,
                min_support=self.min_support,
                attribute_min=self.attribute_min,
            )
            run.text, run.references, run.sentences = cited.text, cited.references, cited.sentences
        if self.conversations is not None and conversation_id is not None:
            try:
                self.conversations.append_turn(
                    self.tenant,
                    conversation_id,
                    "assistant",
                    run.text,
                    trace_id=run.trace_id,
                    citations=[r.to_dict() for r in run.references],
                )
            except StoreError as e:
                run.notes.append(f"the answer was not stored in the conversation: {e}")
        return run

    def _guard_answer(
        self, root: Span | NoopSpan, state: _State, text: str, stop: Stop
    ) -> tuple[str, Stop]:
        """The answer as the output guards let it through (the refusal when blocked)."""
        if self.guards is None:
            return text, stop
        passages = tuple(h.chunk.text for h in state.book.hits)
        return self.guards.check_answer(root, text, state.question, passages, stop)

    def _best_effort(self, stop: Stop, state: _State) -> str:
        lead = _LEAD.get(stop.reason, "I could not finish")
        said = state.last_text.strip()
        if said:
            return f"{said}\n\n({lead}: {stop.detail}.)"
        if state.book.hits:
            snippet = " ".join(state.book.hits[0].chunk.text.split())[:SNIPPET_CHARS]
            return f"{lead} ({stop.detail}). The most relevant passage I found: “{snippet}” [1]"
        return f"{lead} ({stop.detail}), and found nothing to answer from. A human can help."

    def _remember(
        self, root: Span | NoopSpan, state: _State, run: AgentRun, message: str, user: str | None
    ) -> None:
        if self.memory is None or not user or run.stop_reason not in ("completed", "handoff"):
            return
        try:
            self.memory.record(
                tenant=self.tenant,
                user=user,
                question=message,
                answer=run.text,
                conversation_id=run.conversation_id,
            )
        except StoreError as e:
            run.notes.append(f"memory unavailable, this exchange was not remembered: {e}")
            root.set("ragline.memory.error", str(e))


__all__ = ["SYSTEM_PROMPT", "Agent"]
