"""The agent loop with scripted models: every stop reason, parallel tool calls, tool
errors returned to the model, citations mapped to search hits, streaming, memory, spans."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from ragline.agent import (
    Agent,
    AgentDoneEvent,
    AgentLimits,
    KnowledgeBase,
    MemoryHit,
    ToolCallEvent,
    ToolResultEvent,
    tool,
)
from ragline.answer._citations import SupportScorer
from ragline.answer._events import CitationEvent, DeltaEvent, ErrorEvent
from ragline.errors import InputError, StoreError
from ragline.models import Completion, Message, ProviderUnavailable, ToolCall, ToolSpec
from ragline.store.memory._conversations import MemoryConversationStore
from ragline.testing import FakeModel, FunctionModel, HashEmbedder, lookup_order, tool_turn
from ragline.trace import Tracer
from ragline.types import Chunk, Document, Hit

WARRANTY = (
    "The frame is covered against defects in materials and workmanship for ten years "
    "from the date of delivery."
)
RETURNS = "You can return a bike within 30 days of delivery for a full refund."
CHUNKS = [
    Chunk("w1", "warranty.md", 0, WARRANTY, "Warranty policy", source="warranty.md"),
    Chunk("r1", "returns.md", 0, RETURNS, "Returns and refunds", source="returns.md"),
]


def _search(query: str, k: int, filters: dict[str, Any] | None) -> list[Hit]:
    words = set(query.lower().split())
    scored = [(len(words & set(c.text.lower().split())), c) for c in CHUNKS]
    return [Hit(c, float(s)) for s, c in sorted(scored, key=lambda x: -x[0]) if s][:k]


def _document(doc_id: str) -> Document | None:
    for c in CHUNKS:
        if c.document_id == doc_id:
            return Document(doc_id, c.source, c.title, "h")
    return None


KB = KnowledgeBase(
    _search, _document, lambda d: [c for c in CHUNKS if c.document_id == d], default_k=2
)
SCORER = SupportScorer(HashEmbedder())


class Spans:
    def __init__(self) -> None:
        self.spans: list[Any] = []
        self.lock = threading.Lock()

    def __call__(self, span: Any) -> None:
        with self.lock:
            self.spans.append(span)

    def named(self, name: str) -> list[Any]:
        return [s for s in self.spans if s.name == name]


def agent(model: Any, **kw: Any) -> Agent:
    kw.setdefault("kb", KB)
    kw.setdefault("scorer", SCORER)
    return Agent(model, **kw)


def search(query: str) -> tuple[str, dict[str, Any]]:
    return ("search_knowledge_base", {"query": query})


# -- completed: search, cite, answer -----------------------------------------------------


def test_completed_run_cites_the_hits_the_search_returned() -> None:
    spans = Spans()
    model = FakeModel(
        [
            tool_turn(search("frame warranty defects"), ("lookup_order", {"order_id": 1042})),
            "Your frame is covered against defects for ten years from delivery [1].",
        ]
    )
    events = list(
        agent(model, tools=[lookup_order], tracer=Tracer(spans)).stream("Is my frame covered?")
    )
    types = [e.type for e in events]
    assert types[:2] == ["tool_call", "tool_call"]  # both calls announced before they run
    assert types[2:4] == ["tool_result", "tool_result"]
    assert "delta" in types and types[-1] == "done"
    done = events[-1]
    assert isinstance(done, AgentDoneEvent)
    run = done.run
    assert run.stop_reason == "completed" and run.steps == 2
    assert [r.document_id for r in run.references] == ["warranty.md"]
    assert run.text.endswith("[1].")
    citations = [e for e in events if isinstance(e, CitationEvent)]
    assert citations and citations[0].citations == [1] and citations[0].supported
    # the model saw both results, in call order, each answering its call
    second = model.calls[1].messages
    tool_messages = [m for m in second if m.role == "tool"]
    assert [m.tool_call_id for m in tool_messages] == [
        "call_0_search_knowledge_base",
        "call_1_lookup_order",
    ]
    hits = json.loads(tool_messages[0].content)["hits"]
    assert hits[0]["n"] == 1 and hits[0]["document_id"] == "warranty.md"
    assert json.loads(tool_messages[1].content)["status"] == "delivered"
    # the tools were offered with JSON schemas from their signatures
    offered = {t.name: t for t in model.calls[0].tools or []}
    assert offered["lookup_order"].parameters["properties"]["order_id"]["type"] == "integer"
    assert offered["lookup_order"].parameters["required"] == ["order_id"]
    # spans: the run, two steps, two tool calls under the first step
    (root,) = spans.named("agent")
    steps = spans.named("agent.step")
    tools = spans.named("agent.tool")
    assert root.attributes["ragline.agent.stop_reason"] == "completed"
    assert len(steps) == 2 and len(tools) == 2
    assert {t.parent_id for t in tools} == {steps[0].span_id}
    assert {s.trace_id for s in spans.spans} == {root.trace_id} == {run.trace_id}


def test_a_marker_to_no_hit_is_dropped_and_the_same_hit_keeps_its_number() -> None:
    model = FakeModel(
        [
            tool_turn(search("frame warranty")),
            tool_turn(search("frame warranty defects years")),
            "The frame is covered for ten years [1]. Returns take 30 days [7].",
        ]
    )
    run = agent(model).run("warranty?")
    assert run.stop_reason == "completed"
    assert "[7]" not in run.text
    assert [r.chunk_id for r in run.references] == ["w1"]


def test_tools_run_in_parallel() -> None:
    barrier = threading.Barrier(2, timeout=5)

    @tool
    def wait_for_the_other(name: str) -> str:
        """Waits until both calls are running at once."""
        barrier.wait()
        return name

    model = FakeModel(
        [
            tool_turn(("wait_for_the_other", {"name": "a"}), ("wait_for_the_other", {"name": "b"})),
            "ok",
        ]
    )
    run = agent(model, tools=[wait_for_the_other]).run("go")
    assert run.stop_reason == "completed"
    assert [c["ok"] for c in run.tool_calls] == [True, True]  # the barrier released both


def test_the_final_answer_streams_as_deltas() -> None:
    model = FakeModel(["The frame is covered for ten years."])
    deltas = [e.text for e in agent(model).stream("warranty?") if isinstance(e, DeltaEvent)]
    assert len(deltas) > 3 and "".join(deltas) == "The frame is covered for ten years."
    assert model.calls[0].method == "stream"


# -- tool errors go back to the model ----------------------------------------------------


def test_tool_errors_are_structured_results_and_the_model_recovers() -> None:
    @tool
    def explode() -> str:
        """Always fails."""
        raise RuntimeError("disk on fire")

    @tool
    def not_json() -> object:
        """Returns something JSON cannot hold."""
        return object()

    @tool
    def huge() -> str:
        """Returns 10 MB."""
        return "x" * 10_000_000

    model = FakeModel(
        [
            tool_turn(
                ("explode", {}),
                ("not_json", {}),
                ("huge", {}),
                ("no_such_tool", {}),
                ("lookup_order", {"order_id": "not a number"}),
                ("lookup_order", {"order_id": 9999}),
            ),
            "Sorry, I could not look that up.",
        ]
    )
    run = agent(
        model,
        tools=[explode, not_json, huge, lookup_order],
        limits=AgentLimits(max_result_chars=1000),
    ).run("x")
    assert run.stop_reason == "completed"
    calls = {(c["name"], i): c for i, c in enumerate(run.tool_calls)}
    errors = [c.get("error") for c in run.tool_calls]
    assert errors[0] == {"type": "tool_error", "message": "explode failed: disk on fire"}
    assert errors[1]["type"] == "bad_result"
    assert run.tool_calls[2]["ok"] and run.tool_calls[2]["truncated"]
    assert errors[3]["type"] == "unknown_tool" and "lookup_order" in errors[3]["message"]
    assert errors[4]["type"] == "invalid_arguments" and "order_id" in errors[4]["message"]
    assert errors[5]["type"] == "tool_error" and "no order 9999" in errors[5]["message"]
    assert len(calls) == 6
    sent = [m for m in model.calls[1].messages if m.role == "tool"]
    assert len(sent) == 6 and json.loads(sent[0].content)["error"]["type"] == "tool_error"
    assert len(sent[2].content) < 1100  # the 10 MB result was cut before the model saw it


def test_a_hanging_tool_times_out_and_the_run_goes_on() -> None:
    release = threading.Event()

    @tool(timeout_s=0.2)
    def hang() -> str:
        """Never answers in time."""
        release.wait(10)
        return "late"

    model = FakeModel([tool_turn(("hang", {})), "It did not answer."])
    try:
        run = agent(model, tools=[hang]).run("x")
    finally:
        release.set()
    assert run.stop_reason == "completed"
    assert run.tool_calls[0]["error"]["type"] == "timeout"


# -- every other stop reason -------------------------------------------------------------


def test_step_limit_stops_with_a_best_effort_answer_from_the_hits() -> None:
    model = FakeModel([tool_turn(search(f"frame warranty {i}")) for i in range(5)])
    run = agent(model, limits=AgentLimits(max_steps=3)).run("warranty?")
    assert run.stop_reason == "step_limit" and run.steps == 3
    assert "agent.max_steps" in run.detail
    assert "ten years" in run.text and run.references[0].chunk_id == "w1"


def test_tool_call_limit_is_a_step_limit_and_the_calls_do_not_run() -> None:
    model = FakeModel([tool_turn(search("a"), search("b"), search("c"))])
    run = agent(model, limits=AgentLimits(max_tool_calls=2)).run("x")
    assert run.stop_reason == "step_limit" and "max_tool_calls" in run.detail
    assert run.tool_calls == []


def test_the_same_call_again_and_again_is_a_loop() -> None:
    model = FakeModel([tool_turn(search("frame warranty"))] * 5)
    events = list(agent(model).stream("x"))
    run = events[-1].run  # type: ignore[attr-defined]
    assert run.stop_reason == "loop_detected"
    assert "3 times" in run.detail
    assert sum(isinstance(e, ToolCallEvent) for e in events) == 2  # the third never ran
    assert model.remaining == 2


def test_oscillation_between_two_calls_is_a_loop() -> None:
    a, b = ("calculator", {"expression": "1+1"}), ("calculator", {"expression": "2+2"})
    model = FakeModel([tool_turn(a), tool_turn(b), tool_turn(a), tool_turn(b), "never"])
    run = agent(model).run("x")
    assert run.stop_reason == "loop_detected" and "oscillate" in run.detail
    assert len(run.tool_calls) == 3


def test_different_calls_returning_the_same_results_is_no_progress() -> None:
    model = FakeModel([*(tool_turn(("lookup_order", {"order_id": n})) for n in (1, 2, 3)), "none"])
    run = agent(model, tools=[lookup_order]).run("x")  # every one: "no order N"… differs
    assert run.stop_reason == "completed"

    @tool
    def status(ticket: str) -> str:
        """The status of a ticket."""
        return "the ticket system is down"

    model = FakeModel([tool_turn(("status", {"ticket": t})) for t in "abcd"])
    run = agent(model, tools=[status]).run("x")
    assert run.stop_reason == "loop_detected" and "no progress" in run.detail


def test_token_budget() -> None:
    model = FakeModel([tool_turn(search(f"q{i}")) for i in range(5)])  # 60 tokens a turn
    run = agent(model, limits=AgentLimits(max_tokens=100)).run("x")
    assert run.stop_reason == "budget" and "max_tokens" in run.detail
    assert run.steps == 2


def test_cost_budget() -> None:
    from ragline.models import Price

    model = FakeModel([tool_turn(search(f"q{i}")) for i in range(5)])
    price = Price(input_per_mtok=1_000.0, output_per_mtok=1_000.0)  # 60 tokens: $0.06
    run = agent(model, price=price, limits=AgentLimits(max_cost_usd=0.1)).run("x")
    assert run.stop_reason == "budget" and "max_cost_usd" in run.detail
    assert run.cost_usd is not None and run.cost_usd >= 0.1


def test_wall_time_limit_is_a_timeout() -> None:
    now = [0.0]

    def slow(
        messages: list[Message], tools: list[ToolSpec] | None, options: dict[str, Any]
    ) -> Completion:
        now[0] += 40.0
        return tool_turn(search("frame"))

    run = agent(FunctionModel(slow), clock=lambda: now[0], limits=AgentLimits(max_wall_s=60)).run(
        "x"
    )
    assert run.stop_reason == "timeout" and "max_wall_s" in run.detail
    assert run.steps == 2


def test_handoff_ends_the_run() -> None:
    model = FakeModel(
        [
            tool_turn(
                (
                    "handoff_to_human",
                    {"reason": "wants a refund over the limit", "summary": "order 1042"},
                )
            )
        ]
    )
    spans = Spans()
    run = agent(model, tracer=Tracer(spans)).run("I want a person")
    assert run.stop_reason == "handoff"
    (root,) = spans.named("agent")
    (event,) = [e for e in root.events if e.name == "handoff"]
    assert event.attributes["reason"] == "wants a refund over the limit"
    assert root.attributes["ragline.agent.handoff_id"] == run.handoff.id  # type: ignore[union-attr]
    assert run.handoff is not None and run.handoff.reason == "wants a refund over the limit"
    assert run.handoff.id in run.text
    assert model.remaining == 0


def test_a_model_failure_is_stop_reason_error_with_an_error_event() -> None:
    model = FakeModel(
        [tool_turn(search("frame warranty")), ProviderUnavailable("down", provider="x")]
    )
    events = list(agent(model).stream("x"))
    assert [e.type for e in events][-2:] == ["error", "done"]
    assert isinstance(events[-2], ErrorEvent) and "down" in events[-2].message
    run = events[-1].run  # type: ignore[attr-defined]
    assert run.stop_reason == "error" and "ten years" in run.text


def test_a_model_that_never_stops_calling_tools_is_stopped() -> None:
    n = [0]

    def forever(
        messages: list[Message], tools: list[ToolSpec] | None, options: dict[str, Any]
    ) -> Completion:
        n[0] += 1
        return tool_turn(("calculator", {"expression": f"{n[0]} + 1"}))

    run = agent(FunctionModel(forever)).run("x")
    assert run.stop_reason == "step_limit" and run.steps == 8


def test_a_blank_message_is_refused_before_anything_runs() -> None:
    model = FakeModel([])
    with pytest.raises(InputError, match="blank"):
        agent(model).stream("   ")
    assert model.calls == []


# -- memory ------------------------------------------------------------------------------


class Memory:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.recorded: list[tuple[str, str, str]] = []

    def recall(self, *, tenant: str, user: str, question: str, k: int = 5) -> list[MemoryHit]:
        if self.fail:
            raise StoreError("memory table is locked")
        return [MemoryHit("m1", f"{user} was promised a replacement battery", 0.9, time.time())]

    def record(
        self, *, tenant: str, user: str, question: str, answer: str, conversation_id: str | None
    ) -> None:
        if self.fail:
            raise StoreError("memory table is locked")
        self.recorded.append((tenant, user, question))


def test_memory_is_shown_as_memory_and_the_exchange_recorded() -> None:
    memory = Memory()
    model = FakeModel(["We will ship the battery."])
    run = agent(model, memory=memory, tenant="acme").run("where is my battery?", user="u1")
    system = [m.content for m in model.calls[0].messages if m.role == "system"]
    assert any(
        "Memory of earlier conversations" in s and "replacement battery" in s for s in system
    )
    assert run.memories == 1
    assert memory.recorded == [("acme", "u1", "where is my battery?")]


def test_memory_unavailable_the_agent_answers_without_and_says_so() -> None:
    spans = Spans()
    model = FakeModel(["An answer."])
    run = agent(model, memory=Memory(fail=True), tracer=Tracer(spans)).run("x", user="u1")
    assert run.stop_reason == "completed" and run.text == "An answer."
    assert any("memory unavailable" in n for n in run.notes)
    (span,) = spans.named("agent.memory")
    assert "locked" in span.attributes["ragline.memory.error"]


def test_the_conversation_window_is_the_short_term_context() -> None:
    store = MemoryConversationStore()
    model = FakeModel(["Order 1042 is delivered.", "Yes, the same order."])
    first = agent(model, conversations=store).run("status of order 1042?")
    assert first.conversation_id is not None
    agent(model, conversations=store).run(
        "and is it the City bike?", conversation_id=first.conversation_id
    )
    second = [m.content for m in model.calls[1].messages]
    assert "status of order 1042?" in second and "Order 1042 is delivered." in second
    turns = store.turns("default", first.conversation_id)
    assert [t.role for t in turns] == ["user", "assistant", "user", "assistant"]


def test_an_unknown_conversation_is_refused_and_nothing_is_stored() -> None:
    from ragline.errors import NotFoundError

    store = MemoryConversationStore()
    with pytest.raises(NotFoundError):
        agent(FakeModel([]), conversations=store).stream("x", conversation_id="nope")
    assert store.list_conversations("default") == []


def test_tool_calls_in_a_stream_are_used_whole() -> None:
    from ragline.models import Delta, Usage

    model = FakeModel(
        [
            [
                Delta(tool_call=ToolCall("c1", "calculator", {"expression": "2499 * 0.2"})),
                Delta(finish_reason="tool_calls", usage=Usage(5, 5)),
            ],
            "20 % of 2499 is 499.8.",
        ]
    )
    events = list(agent(model).stream("x"))
    results = [e for e in events if isinstance(e, ToolResultEvent)]
    assert results[0].result.content == {"expression": "2499 * 0.2", "value": 499.8}


def test_a_stream_that_breaks_mid_answer_is_an_error_with_the_partial_text() -> None:
    from ragline.models import Delta, StreamInterrupted

    broken = StreamInterrupted("the connection dropped", provider="x", partial_text="The frame")
    model = FakeModel([[Delta(text="The frame"), broken]])
    events = list(agent(model).stream("warranty?"))
    types = [e.type for e in events]
    assert types[0] == "delta" and types[-2:] == ["error", "done"]
    assert set(types[1:-2]) <= {"citation"}  # the best-effort answer's sentences
    error = events[-2]
    assert isinstance(error, ErrorEvent) and error.partial_text == "The frame"
    run = events[-1].run  # type: ignore[attr-defined]
    assert run.stop_reason == "error" and "connection dropped" in run.detail
    assert run.text.startswith("The frame")  # what it had said, marked as unfinished
