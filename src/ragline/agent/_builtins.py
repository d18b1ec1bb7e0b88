"""The built-in tools, made per run: knowledge-base search and documents, a calculator,
the clock, and the hand-off to a human.

``search_knowledge_base`` runs the tenant's pipeline search (routing, filters, fusion,
reranking — the same as ``ragline search``). Its hits are numbered for the whole run in
a :class:`CitationBook`: the first hit ever returned is [1], a hit seen again keeps its
number, so the final answer's ``[n]`` markers map to the hits the model saw and are
checked like a RAG answer's (:func:`ragline.answer._citations.verify_citations`).

``handoff_to_human`` ends the run with stop reason ``handoff``; the hand-off (reason,
summary, priority) is the run's :class:`Handoff` and a ``handoff`` event in its trace.
With a ticket store it first files a ticket there (``file_ticket``: reason, summary,
priority → the ticket id); a ticket that cannot be stored is a tool error, so the run
does not end on a hand-off nobody will see.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from ragline.agent._calculator import calculate
from ragline.agent._tools import Tool, tool
from ragline.errors import NotFoundError, ToolError
from ragline.types import Hit

if TYPE_CHECKING:
    from ragline.store._tickets import TicketStore

MAX_DOCUMENT_CHARS = 6_000
Search = Callable[[str, int, dict[str, Any] | None], list[Hit]]
FileTicket = Callable[[str, str, str], str]  # (reason, summary, priority) → ticket id
FilterValue = str | int | float | bool | list[str | int | float | bool]


@dataclass
class CitationBook:
    """Every hit the run's searches returned, numbered by first appearance ([1] first)."""

    hits: list[Hit] = field(default_factory=list)
    _numbers: dict[str, int] = field(default_factory=dict)

    def number(self, hit: Hit) -> int:
        n = self._numbers.get(hit.chunk.id)
        if n is None:
            self.hits.append(hit)
            n = self._numbers[hit.chunk.id] = len(self.hits)
        return n


@dataclass(frozen=True)
class Handoff:
    """A hand-off to a human: why, what to tell them, and how urgent."""

    id: str
    reason: str
    summary: str
    priority: str
    created_at: float
    ticket_id: str | None = None  # the ticket filed in the store (``ragline tickets``)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "reason": self.reason,
            "summary": self.summary,
            "priority": self.priority,
            "created_at": self.created_at,
            "ticket_id": self.ticket_id,
        }


@dataclass
class KnowledgeBase:
    """What the knowledge-base tools read: a search, and the tenant's documents."""

    search: Search
    get_document: Callable[[str], Any]  # id → Document | None
    document_chunks: Callable[[str], list[Any]]  # id → its chunks, in order
    default_k: int = 5


def ticket_filer(
    store: TicketStore,
    tenant: str,
    *,
    user: str | None,
    conversation_id: str | None,
    trace_id: str | None,
) -> FileTicket:
    """The hand-off's :data:`FileTicket`: a new ticket of the run in ``store``."""

    def file_ticket(reason: str, summary: str, priority: str) -> str:
        from ragline.store._tickets import new_ticket

        ticket = new_ticket(
            tenant,
            reason=reason,
            summary=summary,
            priority=priority,
            user=user,
            conversation_id=conversation_id,
            trace_id=trace_id,
        )
        return store.create(ticket).id

    return file_ticket


def builtin_tools(
    names: Sequence[str],
    kb: KnowledgeBase | None,
    book: CitationBook,
    handoffs: list[Handoff],
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    file_ticket: FileTicket | None = None,
) -> list[Tool]:
    """The built-ins called ``names`` (the knowledge-base ones only when ``kb`` is given;
    ``handoff_to_human`` files a ticket through ``file_ticket`` when it is given)."""
    made: dict[str, Tool] = {}

    if kb is not None:

        @tool
        def search_knowledge_base(
            query: str, filters: dict[str, FilterValue] | None = None, k: int | None = None
        ) -> dict[str, Any]:
            """Search the knowledge base. Each hit has a citation number n: cite it in the
            answer as [n].

            Args:
                query: what to look for, in the user's words or better ones
                filters: metadata the hits must have, e.g. {"doc_type": "warranty"}
                k: how many hits (default 5, at most 20)
            """
            count = kb.default_k if k is None else k
            if not 1 <= count <= 20:
                raise ToolError(f"k must be between 1 and 20, not {count}")
            if not query.strip():
                raise ToolError("query is blank: say what to search for")
            hits = kb.search(query, count, dict(filters) if filters else None)
            return {
                "query": query,
                "hits": [
                    {
                        "n": book.number(h),
                        "document_id": h.chunk.document_id,
                        "title": h.chunk.title,
                        "section": h.chunk.section,
                        "text": h.chunk.text,
                    }
                    for h in hits
                ],
            }

        @tool
        def get_document(document_id: str) -> dict[str, Any]:
            """Read one document of the knowledge base by its document_id (from a search hit).

            Args:
                document_id: the document_id of a search hit
            """
            doc = kb.get_document(document_id)
            if doc is None:
                raise NotFoundError(
                    f"no document {document_id!r}", hint="use a document_id from a search hit"
                )
            text = "\n\n".join(c.text for c in kb.document_chunks(document_id))
            return {
                "document_id": doc.id,
                "title": doc.title,
                "text": text[:MAX_DOCUMENT_CHARS],
                "truncated": len(text) > MAX_DOCUMENT_CHARS,
            }

        made["search_knowledge_base"] = search_knowledge_base
        made["get_document"] = get_document

    @tool
    def calculator(expression: str) -> dict[str, Any]:
        """Evaluate arithmetic exactly: numbers, + - * / // % ** ( ), abs, round, min,
        max, sqrt. Use it for any sum, difference, percentage or date-free arithmetic.

        Args:
            expression: e.g. "(1299 - 1040) / 1299 * 100"
        """
        return {"expression": expression, "value": calculate(expression)}

    @tool
    def current_time() -> dict[str, Any]:
        """The current date and time (UTC)."""
        t = now()
        return {"utc": t.isoformat(timespec="seconds"), "weekday": t.strftime("%A")}

    @tool(ends_run=True)
    def handoff_to_human(
        reason: str, summary: str, priority: Literal["low", "normal", "high"] = "normal"
    ) -> dict[str, Any]:
        """Hand the conversation to a human support agent and end this run. Use it when the
        user asks for a person, or the request needs a decision you cannot make.

        Args:
            reason: why a human is needed
            summary: what the human needs to know (order numbers, what was tried)
            priority: low, normal or high
        """
        ticket_id = None if file_ticket is None else file_ticket(reason, summary, priority)
        handoff = Handoff(
            f"ho_{uuid.uuid4().hex[:12]}",
            reason,
            summary,
            priority,
            now().timestamp(),
            ticket_id=ticket_id,
        )
        handoffs.append(handoff)
        result = {"handoff_id": handoff.id, "status": "a human agent will take over"}
        if ticket_id is not None:
            result["ticket_id"] = ticket_id
        return result

    made["calculator"] = calculator
    made["current_time"] = current_time
    made["handoff_to_human"] = handoff_to_human
    return [made[n] for n in names if n in made]


__all__ = ["CitationBook", "Handoff", "KnowledgeBase", "builtin_tools"]
