"""The hand-off files a ticket: with the run's user, conversation and trace; visible
from the trace; a ticket store that fails is a tool error and the run goes on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ragline import Project
from ragline.agent import Agent
from ragline.errors import StoreError
from ragline.store import MemoryStore, Ticket
from ragline.store.memory._conversations import MemoryConversationStore
from ragline.store.memory._tickets import MemoryTicketStore
from ragline.testing import FakeModel, HashEmbedder, tool_turn
from ragline.trace import Tracer

HANDOFF = (
    "handoff_to_human",
    {"reason": "wants a refund over the limit", "summary": "order 1042", "priority": "high"},
)


class Spans:
    def __init__(self) -> None:
        self.spans: list[Any] = []

    def __call__(self, span: Any) -> None:
        self.spans.append(span)

    def named(self, name: str) -> list[Any]:
        return [s for s in self.spans if s.name == name]


class BrokenTickets(MemoryTicketStore):
    def create(self, ticket: Ticket) -> Ticket:
        raise StoreError("database is locked", hint="try again")


def test_a_handoff_files_a_ticket_with_the_user_conversation_and_trace() -> None:
    tickets = MemoryTicketStore()
    spans = Spans()
    model = FakeModel([tool_turn(HANDOFF)])
    agent = Agent(
        model,
        tenant="acme",
        tickets=tickets,
        conversations=MemoryConversationStore(),
        tracer=Tracer(spans),
    )
    run = agent.run("I want a person", user="u7")
    assert run.stop_reason == "handoff" and run.handoff is not None
    (ticket,) = tickets.tickets("acme")
    assert run.handoff.ticket_id == ticket.id and ticket.id in run.text
    assert (ticket.reason, ticket.summary, ticket.priority) == (
        "wants a refund over the limit",
        "order 1042",
        "high",
    )
    assert ticket.status == "open" and ticket.user == "u7"
    assert ticket.conversation_id == run.conversation_id is not None
    assert ticket.trace_id == run.trace_id is not None
    (root,) = spans.named("agent")
    assert root.attributes["ragline.agent.ticket_id"] == ticket.id
    (event,) = [e for e in root.events if e.name == "handoff"]
    assert event.attributes["ticket_id"] == ticket.id
    result = run.tool_calls[0]["content"]
    assert result["ticket_id"] == ticket.id
    assert run.to_dict()["handoff"]["ticket_id"] == ticket.id


def test_a_ticket_that_cannot_be_stored_is_a_tool_error_and_the_run_goes_on() -> None:
    model = FakeModel([tool_turn(HANDOFF), "I could not reach a colleague; please call support."])
    run = Agent(model, tickets=BrokenTickets()).run("I want a person")
    assert run.stop_reason == "completed" and run.handoff is None
    (call,) = run.tool_calls
    assert call["ok"] is False and "database is locked" in call["error"]["message"]
    tool_message = next(m for m in model.calls[1].messages if m.role == "tool")
    assert "database is locked" in tool_message.content  # the model was told


def test_without_a_ticket_store_the_handoff_is_only_in_the_run() -> None:
    run = Agent(FakeModel([tool_turn(HANDOFF)])).run("I want a person")
    assert run.stop_reason == "handoff" and run.handoff is not None
    assert run.handoff.ticket_id is None


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return Project(tmp_path_factory.mktemp("tickets"), store=MemoryStore(), embedder=HashEmbedder())


def test_project_agent_files_tickets_per_tenant(project: Project) -> None:
    run = project.agent(tenant="acme", model=FakeModel([tool_turn(HANDOFF)])).run(
        "a person please", user="u1"
    )
    (ticket,) = project.tickets.tickets("acme")
    assert run.handoff is not None and run.handoff.ticket_id == ticket.id
    assert project.tickets.tickets("globex") == []
    spans = project.get_trace(ticket.trace_id or "", tenant="acme")
    (root,) = [s for s in spans if s.name == "agent"]
    assert root.attributes["ragline.agent.ticket_id"] == ticket.id


def test_sqlite_project_keeps_tickets_across_processes(tmp_path: Path) -> None:
    (tmp_path / "ragline.yaml").write_text("embedder: hash\n", encoding="utf-8")
    with Project(tmp_path) as project:
        run = project.agent(model=FakeModel([tool_turn(HANDOFF)])).run("a person", user="u1")
    with Project(tmp_path) as again:
        (ticket,) = again.tickets.tickets("default")
    assert run.handoff is not None and ticket.id == run.handoff.ticket_id
