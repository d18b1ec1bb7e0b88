"""``TicketStoreConformance``: the shared suite every ``TicketStore`` passes.

Subclass it in a backend's test module and implement ``make_store`` (a fresh, empty
store; the suite closes it after each test)::

    class TestMyTicketStore(TicketStoreConformance):
        def make_store(self) -> TicketStore:
            return MyTicketStore(...)

For fixtures (a temporary folder, a server), override the ``ticket_store`` fixture
instead and yield the store.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from ragline.errors import InputError, StoreError
from ragline.store._tickets import MAX_TEXT_CHARS, Ticket, TicketStore, new_ticket
from ragline.testing._conversation_conformance import UNICODE_TEXTS

T0 = 1_750_000_000.0


def ticket(tenant: str = "acme", *, at: float = T0, user: str | None = "u1", **kw: str) -> Ticket:
    """A new ticket of ``tenant`` created at ``at`` (reason and summary may be given)."""
    return new_ticket(
        tenant,
        reason=kw.get("reason", "wants a refund over the limit"),
        summary=kw.get("summary", "order 1042, cracked frame, asked twice"),
        priority=kw.get("priority", "normal"),
        user=user,
        conversation_id=kw.get("conversation_id"),
        trace_id=kw.get("trace_id"),
        now=at,
    )


class TicketStoreConformance:
    """Behaviour every ``TicketStore`` must have. Subclasses implement ``make_store``."""

    def make_store(self) -> TicketStore:  # pragma: no cover
        raise NotImplementedError("subclasses return a fresh, empty TicketStore")

    @pytest.fixture
    def ticket_store(self) -> Iterator[TicketStore]:
        store = self.make_store()
        try:
            yield store
        finally:
            store.close()

    def test_is_a_ticket_store(self, ticket_store: TicketStore) -> None:
        assert isinstance(ticket_store, TicketStore)

    def test_create_then_get_returns_every_field(self, ticket_store: TicketStore) -> None:
        t = ticket(priority="high", conversation_id="c1", trace_id="a" * 32)
        assert ticket_store.create(t) == t
        got = ticket_store.get("acme", t.id)
        assert got == t
        assert got is not None and got.status == "open" and got.closed_at is None
        assert (got.user, got.conversation_id, got.trace_id) == ("u1", "c1", "a" * 32)

    def test_unknown_ticket_is_none(self, ticket_store: TicketStore) -> None:
        assert ticket_store.get("acme", "tk_missing") is None
        assert ticket_store.close_ticket("acme", "tk_missing", by="ana", now=T0) is None

    def test_a_duplicate_id_is_refused_and_the_first_kept(self, ticket_store: TicketStore) -> None:
        from dataclasses import replace

        t = ticket_store.create(ticket())
        with pytest.raises(StoreError, match="already exists"):
            ticket_store.create(replace(t, reason="another reason"))
        assert ticket_store.get("acme", t.id) == t

    def test_list_is_newest_first_and_filters(self, ticket_store: TicketStore) -> None:
        a = ticket_store.create(ticket(at=T0 + 1, user="u1"))
        b = ticket_store.create(ticket(at=T0 + 2, user="u2"))
        c = ticket_store.create(ticket(at=T0 + 3, user="u1"))
        ticket_store.close_ticket("acme", b.id, by="ana", now=T0 + 10)
        assert [t.id for t in ticket_store.tickets("acme")] == [c.id, b.id, a.id]
        assert [t.id for t in ticket_store.tickets("acme", status="open")] == [c.id, a.id]
        assert [t.id for t in ticket_store.tickets("acme", status="closed")] == [b.id]
        assert [t.id for t in ticket_store.tickets("acme", user="u1")] == [c.id, a.id]
        assert [t.id for t in ticket_store.tickets("acme", limit=1)] == [c.id]
        with pytest.raises(InputError, match="unknown ticket status"):
            ticket_store.tickets("acme", status="pending")  # type: ignore[arg-type]

    def test_close_records_who_when_and_how(self, ticket_store: TicketStore) -> None:
        t = ticket_store.create(ticket())
        closed = ticket_store.close_ticket(
            "acme", t.id, by="ana", resolution="refund approved", now=T0 + 60
        )
        assert closed is not None and closed.status == "closed"
        assert (closed.closed_by, closed.closed_at, closed.resolution) == (
            "ana",
            T0 + 60,
            "refund approved",
        )
        assert ticket_store.get("acme", t.id) == closed
        assert (closed.reason, closed.summary) == (t.reason, t.summary)  # nothing lost

    def test_the_first_close_wins(self, ticket_store: TicketStore) -> None:
        t = ticket_store.create(ticket())
        first = ticket_store.close_ticket("acme", t.id, by="ana", resolution="done", now=T0 + 1)
        again = ticket_store.close_ticket("acme", t.id, by="bo", resolution="redo", now=T0 + 2)
        assert again == first and ticket_store.get("acme", t.id) == first

    def test_concurrent_closes_leave_one_closer(self, ticket_store: TicketStore) -> None:
        t = ticket_store.create(ticket())
        results: list[Ticket | None] = []

        def close(who: str) -> None:
            results.append(ticket_store.close_ticket("acme", t.id, by=who, now=T0 + 5))

        threads = [threading.Thread(target=close, args=(f"p{i}",)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stored = ticket_store.get("acme", t.id)
        assert stored is not None and stored.status == "closed"
        assert {r.closed_by for r in results if r is not None} == {stored.closed_by}

    def test_an_overlong_resolution_is_refused_and_the_ticket_stays_open(
        self, ticket_store: TicketStore
    ) -> None:
        t = ticket_store.create(ticket())
        with pytest.raises(InputError, match="resolution"):
            ticket_store.close_ticket("acme", t.id, by="ana", resolution="x" * 20_001, now=T0)
        assert ticket_store.get("acme", t.id) == t

    def test_tenants_never_see_each_other(self, ticket_store: TicketStore) -> None:
        a = ticket_store.create(ticket("a"))
        b = ticket_store.create(ticket("b"))
        assert [t.id for t in ticket_store.tickets("a")] == [a.id]
        assert ticket_store.get("b", a.id) is None
        assert ticket_store.close_ticket("b", a.id, by="mallory", now=T0) is None
        assert ticket_store.get("a", a.id) == a  # still open
        assert ticket_store.get("b", b.id) == b

    def test_unicode_and_long_texts_round_trip(self, ticket_store: TicketStore) -> None:
        made = [
            ticket_store.create(ticket(at=T0 + i, reason=f"r{i} {text}", summary=text))
            for i, text in enumerate(UNICODE_TEXTS)
        ]
        long = ticket_store.create(ticket(at=T0 + 99, summary="s" * MAX_TEXT_CHARS))
        for t in [*made, long]:
            assert ticket_store.get("acme", t.id) == t

    def test_closed_store_raises(self) -> None:
        store = self.make_store()
        store.close()
        with pytest.raises(StoreError):
            store.tickets("acme")
