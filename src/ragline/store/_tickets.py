"""Hand-off tickets: what the agent leaves for a human when it hands a conversation over.

A :class:`Ticket` is written when the agent's ``handoff_to_human`` tool runs: why a
human is needed, what they need to know, how urgent, and where to look (the user, the
conversation and the agent run's trace id). A person lists and reads the open tickets
(``ragline tickets list``/``show``) and closes one with a resolution (``ragline tickets
close``); a closed ticket keeps its record — who closed it, when and how — and closing it
again changes nothing (the first close wins).

Tickets are per tenant like conversations: every call names its tenant and never sees
another's (PostgreSQL also enforces it with row-level security). Every backend passes
``ragline.testing.TicketStoreConformance``.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from ragline.errors import InputError, StoreError

TicketStatus = Literal["open", "closed"]
TicketPriority = Literal["low", "normal", "high"]
STATUSES: tuple[TicketStatus, ...] = ("open", "closed")
PRIORITIES: tuple[TicketPriority, ...] = ("low", "normal", "high")
MAX_TEXT_CHARS = 20_000  # reason, summary and resolution, each


@dataclass(frozen=True, slots=True)
class Ticket:
    """One hand-off to a human (times: Unix epoch seconds)."""

    id: str
    tenant: str
    reason: str
    summary: str
    priority: TicketPriority
    created_at: float
    status: TicketStatus = "open"
    user: str | None = None
    conversation_id: str | None = None
    trace_id: str | None = None
    closed_at: float | None = None
    closed_by: str | None = None
    resolution: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def new_ticket(
    tenant: str,
    *,
    reason: str,
    summary: str,
    priority: str = "normal",
    user: str | None = None,
    conversation_id: str | None = None,
    trace_id: str | None = None,
    now: float | None = None,
) -> Ticket:
    """A new open ticket with a fresh id (``tk_`` and 16 hex digits), checked: a blank
    reason, an unknown priority or a text over :data:`MAX_TEXT_CHARS` is an InputError."""
    if not reason.strip():
        raise InputError("a ticket needs a reason", hint="say why a human is needed")
    if priority not in PRIORITIES:
        raise InputError(
            f"unknown ticket priority {priority!r}", hint=f"use one of {list(PRIORITIES)}"
        )
    for name, text in (("reason", reason), ("summary", summary)):
        if len(text) > MAX_TEXT_CHARS:
            raise InputError(
                f"the ticket's {name} has {len(text)} characters",
                hint=f"at most {MAX_TEXT_CHARS}: shorten it",
            )
    return Ticket(
        id=f"tk_{uuid.uuid4().hex[:16]}",
        tenant=tenant,
        reason=reason,
        summary=summary,
        priority=priority,  # type: ignore[arg-type]  # checked above
        created_at=time.time() if now is None else now,
        user=user,
        conversation_id=conversation_id,
        trace_id=trace_id,
    )


def check_resolution(resolution: str) -> None:
    if len(resolution) > MAX_TEXT_CHARS:
        raise InputError(
            f"the resolution has {len(resolution)} characters",
            hint=f"at most {MAX_TEXT_CHARS}: shorten it",
        )


def check_status(status: str | None) -> None:
    if status is not None and status not in STATUSES:
        raise InputError(f"unknown ticket status {status!r}", hint=f"use one of {list(STATUSES)}")


def duplicate_ticket(ticket_id: str) -> StoreError:
    return StoreError(
        f"a ticket with id {ticket_id!r} already exists", hint="ticket ids are unique"
    )


@runtime_checkable
class TicketStore(Protocol):
    """Hand-off tickets per tenant (see the module docstring)."""

    def create(self, ticket: Ticket) -> Ticket:
        """Store a new ticket (its id unique in its tenant, else StoreError); returns it
        as stored."""
        ...

    def get(self, tenant: str, ticket_id: str) -> Ticket | None:
        """The ticket, or ``None`` if ``tenant`` has none with that id."""
        ...

    def tickets(
        self,
        tenant: str,
        *,
        status: TicketStatus | None = None,
        user: str | None = None,
        limit: int = 100,
    ) -> list[Ticket]:
        """The tenant's tickets, newest first (optionally only ``status``, of ``user``)."""
        ...

    def close_ticket(
        self, tenant: str, ticket_id: str, *, by: str, resolution: str = "", now: float
    ) -> Ticket | None:
        """Close an open ticket (``closed_at`` = ``now``); ``None`` if unknown. A closed
        ticket comes back as it is: the first close wins."""
        ...

    def close(self) -> None: ...


__all__ = [
    "PRIORITIES",
    "STATUSES",
    "Ticket",
    "TicketPriority",
    "TicketStatus",
    "TicketStore",
    "check_resolution",
    "check_status",
    "duplicate_ticket",
    "new_ticket",
]
