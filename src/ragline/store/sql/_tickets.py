"""``SQLTicketStore``: hand-off tickets in SQL, for SQLite and PostgreSQL alike.

One table, ``tickets`` from migration ``0016_tickets`` of each backend, keyed by
``(tenant, id)``, with the index ``tickets_recent`` on ``(tenant, created_at, id)`` for
listing. Closing reads and updates the row in one transaction and only an open row is
updated, so two people closing at once cannot overwrite each other: the first close
wins. On PostgreSQL every call runs with its tenant set, so row-level security keeps a
query to that tenant's rows even without its ``WHERE tenant``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ragline.store._rows import Layout
from ragline.store._tickets import (
    Ticket,
    TicketStatus,
    check_resolution,
    check_status,
    duplicate_ticket,
)
from ragline.store.sql._dialect import Dialect, Statements


def _float(v: Any) -> float | None:
    return None if v is None else float(v)


TICKET: Layout[Ticket] = Layout(
    Ticket,
    "id tenant reason summary priority created_at status user conversation_id trace_id "
    "closed_at closed_by resolution",
    columns={"user": "user_id"},
    read={"created_at": float, "closed_at": _float},
)


class SQLTicketStore:
    """The shared part of :class:`~ragline.store._tickets.TicketStore` on SQL."""

    def __init__(self, sql: Dialect) -> None:
        self._sql = sql
        self._insert = sql.insert_new("tickets", TICKET.columns, ("tenant", "id"))

    def create(self, ticket: Ticket) -> Ticket:
        clean = replace(
            ticket,
            reason=self._sql.clean(ticket.reason),
            summary=self._sql.clean(ticket.summary),
            resolution=self._sql.clean(ticket.resolution),
        )
        if not self._sql.storable(ticket.tenant, ticket.id, ticket.user or ""):
            from ragline.errors import InputError

            raise InputError("a ticket's tenant, id and user cannot hold NUL characters")
        values = tuple(getattr(clean, f) for f in TICKET.fields)
        created = self._sql.run(
            ticket.tenant,
            lambda db: db.execute(self._insert, values).rowcount == 1,
            idempotent=False,  # a retry would find its own first attempt
        )
        if not created:
            raise duplicate_ticket(ticket.id)
        return clean

    def _select(self) -> str:
        m = self._sql.mark
        return f"SELECT {TICKET.select()} FROM tickets WHERE tenant = {m} AND id = {m}"

    def get(self, tenant: str, ticket_id: str) -> Ticket | None:
        if not self._sql.storable(tenant, ticket_id):
            return None
        rows = self._sql.fetch(tenant, self._select(), (tenant, ticket_id))
        return TICKET.decode(rows[0]) if rows else None

    def tickets(
        self,
        tenant: str,
        *,
        status: TicketStatus | None = None,
        user: str | None = None,
        limit: int = 100,
    ) -> list[Ticket]:
        check_status(status)
        if not self._sql.storable(tenant, user or ""):
            return []
        m = self._sql.mark
        where = [f"tenant = {m}"]
        params: list[Any] = [tenant]
        if status is not None:
            where.append(f"status = {m}")
            params.append(status)
        if user is not None:
            where.append(f"user_id = {m}")
            params.append(user)
        sql = (
            f"SELECT {TICKET.select()} FROM tickets WHERE {' AND '.join(where)} "
            f"ORDER BY created_at DESC, id DESC LIMIT {m}"
        )
        params.append(max(0, int(limit)))
        return [TICKET.decode(r) for r in self._sql.fetch(tenant, sql, params)]

    def close_ticket(
        self, tenant: str, ticket_id: str, *, by: str, resolution: str = "", now: float
    ) -> Ticket | None:
        check_resolution(resolution)
        if not self._sql.storable(tenant, ticket_id):
            return None
        m = self._sql.mark
        by, resolution = self._sql.clean(by), self._sql.clean(resolution)

        def close(db: Statements) -> Ticket | None:
            db.execute(
                f"UPDATE tickets SET status = 'closed', closed_at = {m}, closed_by = {m}, "
                f"resolution = {m} WHERE tenant = {m} AND id = {m} AND status = 'open'",
                (now, by, resolution, tenant, ticket_id),
            )
            row = db.execute(self._select(), (tenant, ticket_id)).fetchone()
            return None if row is None else TICKET.decode(row)

        return self._sql.run(tenant, close)

    def close(self) -> None:
        self._sql.close()
