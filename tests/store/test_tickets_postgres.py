"""PostgresTicketStore: conformance and row-level security."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ragline.store import TicketStore
from ragline.store.postgres import PostgresBackend
from ragline.store.postgres._tickets import PostgresTicketStore
from ragline.testing import TicketStoreConformance
from ragline.testing._ticket_conformance import ticket


class TestPostgresTicketStore(TicketStoreConformance):
    @pytest.fixture
    def ticket_store(self, pg_url: str) -> Iterator[TicketStore]:
        store = PostgresTicketStore(pg_url, max_connections=2)
        yield store
        store.close()

    @pytest.fixture(autouse=True)
    def _url(self, pg_url: str) -> None:
        self.url = pg_url

    def make_store(self) -> TicketStore:
        return PostgresTicketStore(self.url, max_connections=1)


def test_tickets_table_has_row_level_security(pg_url: str) -> None:
    import psycopg

    store = PostgresTicketStore(pg_url)
    for tenant in ("a", "b"):
        store.create(ticket(tenant, reason=f"reason of {tenant}"))
    with psycopg.connect(pg_url, autocommit=True) as conn:
        # a query that sets no tenant sees nothing, even without a WHERE clause
        assert conn.execute("SELECT count(*) FROM tickets").fetchone() == (0,)
        with conn.transaction():
            conn.execute("SELECT set_config('ragline.tenant', 'b', true)")
            rows = conn.execute("SELECT tenant, reason FROM tickets").fetchall()
            assert rows == [("b", "reason of b")]
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(
                    "INSERT INTO tickets (tenant, id, reason, summary, priority, created_at) "
                    "VALUES ('a', 'forged', 'r', 's', 'low', 0)"
                )
    assert [t.reason for t in store.tickets("a")] == ["reason of a"]
    store.close()


def test_nul_in_text_is_stored_as_a_replacement_character(pg_url: str) -> None:
    store = PostgresTicketStore(pg_url)
    t = store.create(ticket(summary="before\x00after"))
    got = store.get("acme", t.id)
    assert got is not None and got.summary == "before\ufffdafter"
    assert store.get("acme", "tk_\x00") is None
    store.close()


def test_the_backend_hands_out_tickets(pg_url: str) -> None:
    backend = PostgresBackend(pg_url)
    t = backend.tickets.create(ticket())
    assert backend.tickets.tickets("acme") == [t]
    backend.close()
