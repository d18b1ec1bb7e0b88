"""``MemoryTicketStore``: the reference :class:`~ragline.store._tickets.TicketStore`.

It defines the behaviour the SQLite and PostgreSQL stores match (all three pass
``ragline.testing.TicketStoreConformance``). Nothing survives the process.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from ragline.errors import StoreError
from ragline.store._tickets import (
    Ticket,
    TicketStatus,
    check_resolution,
    check_status,
    duplicate_ticket,
)


class MemoryTicketStore:
    """Tickets in memory, per tenant. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tickets: dict[tuple[str, str], Ticket] = {}
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the in-memory ticket store is closed", hint="open a new store")

    def create(self, ticket: Ticket) -> Ticket:
        with self._lock:
            self._check_open()
            key = (ticket.tenant, ticket.id)
            if key in self._tickets:
                raise duplicate_ticket(ticket.id)
            self._tickets[key] = ticket
            return ticket

    def get(self, tenant: str, ticket_id: str) -> Ticket | None:
        with self._lock:
            self._check_open()
            return self._tickets.get((tenant, ticket_id))

    def tickets(
        self,
        tenant: str,
        *,
        status: TicketStatus | None = None,
        user: str | None = None,
        limit: int = 100,
    ) -> list[Ticket]:
        check_status(status)
        with self._lock:
            self._check_open()
            found = [
                t
                for (owner, _), t in self._tickets.items()
                if owner == tenant
                and (status is None or t.status == status)
                and (user is None or t.user == user)
            ]
        found.sort(key=lambda t: (t.created_at, t.id), reverse=True)
        return found[: max(0, int(limit))]

    def close_ticket(
        self, tenant: str, ticket_id: str, *, by: str, resolution: str = "", now: float
    ) -> Ticket | None:
        check_resolution(resolution)
        with self._lock:
            self._check_open()
            found = self._tickets.get((tenant, ticket_id))
            if found is None or found.status == "closed":
                return found
            closed = replace(
                found, status="closed", closed_at=now, closed_by=by, resolution=resolution
            )
            self._tickets[(tenant, ticket_id)] = closed
            return closed

    def close(self) -> None:
        with self._lock:
            self._closed = True
