"""Hand-off tickets on the reference and SQLite backends: conformance, files, input."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragline.errors import InputError, StoreError
from ragline.store import TicketStore, open_backend
from ragline.store._tickets import MAX_TEXT_CHARS, new_ticket
from ragline.store.memory._tickets import MemoryTicketStore
from ragline.store.sqlite._tickets import SQLiteTicketStore
from ragline.testing import TicketStoreConformance
from ragline.testing._ticket_conformance import T0, ticket


class TestMemoryTicketStore(TicketStoreConformance):
    def make_store(self) -> TicketStore:
        return MemoryTicketStore()


class TestSQLiteTicketStore(TicketStoreConformance):
    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path: Path) -> None:
        self.db = tmp_path / "ragline.db"

    def make_store(self) -> TicketStore:
        return SQLiteTicketStore(self.db)


def test_tickets_survive_a_reopen(tmp_path: Path) -> None:
    db = tmp_path / "ragline.db"
    store = SQLiteTicketStore(db)
    t = store.create(ticket())
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.tickets("acme")
    again = SQLiteTicketStore(db)
    assert again.get("acme", t.id) == t
    again.close()


def test_the_backend_migrates_and_hands_out_tickets(tmp_path: Path) -> None:
    backend = open_backend(f"sqlite:///{tmp_path / 'ragline.db'}")
    _, names = backend.migrate()
    assert "0016_tickets" in names
    t = backend.tickets.create(ticket())
    assert backend.tickets.tickets("acme") == [t]
    backend.close()
    memory = open_backend("memory://", base_dir=tmp_path)
    assert memory.tickets.tickets("acme") == []
    memory.close()


def test_sqlite_in_memory_keeps_tickets_in_memory(tmp_path: Path) -> None:
    backend = open_backend("sqlite://:memory:", base_dir=tmp_path)
    t = backend.tickets.create(ticket())
    assert backend.tickets.get("acme", t.id) == t
    backend.close()


def test_new_ticket_checks_its_input() -> None:
    with pytest.raises(InputError, match="needs a reason"):
        new_ticket("acme", reason="  ", summary="s")
    with pytest.raises(InputError, match="priority 'urgent'"):
        new_ticket("acme", reason="r", summary="s", priority="urgent")
    with pytest.raises(InputError, match="summary has"):
        new_ticket("acme", reason="r", summary="s" * (MAX_TEXT_CHARS + 1))
    made = new_ticket("acme", reason="r", summary="s", now=T0)
    assert made.id.startswith("tk_") and made.status == "open" and made.created_at == T0
