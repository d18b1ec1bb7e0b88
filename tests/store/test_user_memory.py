"""User memory on the reference and SQLite backends: conformance, files, forgetting."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from ragline.errors import StoreError
from ragline.store import UserMemoryStore, open_backend
from ragline.store.memory import MemoryBackend
from ragline.store.memory._user_memory import MemoryUserMemoryStore
from ragline.store.sqlite import SQLiteBackend
from ragline.store.sqlite._user_memory import SQLiteUserMemoryStore
from ragline.testing import UserMemoryStoreConformance
from ragline.testing._user_memory_conformance import EMBEDDER, entry, unit


class TestMemoryUserMemoryStore(UserMemoryStoreConformance):
    def make_store(self, clock: Callable[[], float]) -> UserMemoryStore:
        return MemoryUserMemoryStore(clock=clock)


class TestSQLiteUserMemoryStore(UserMemoryStoreConformance):
    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path: Path) -> None:
        self.db = tmp_path / "ragline.db"

    def make_store(self, clock: Callable[[], float]) -> UserMemoryStore:
        return SQLiteUserMemoryStore(self.db, clock=clock)


def test_memory_survives_a_reopen(tmp_path: Path) -> None:
    db = tmp_path / "ragline.db"
    store = SQLiteUserMemoryStore(db)
    (item,) = store.add("acme", "u1", [entry("prefers email over phone", kind="preference")])
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.count("acme")
    again = SQLiteUserMemoryStore(db)
    assert again.get("acme", "u1", item.id) == item
    hits = again.search("acme", "u1", unit(1), embedder=EMBEDDER)
    assert [h.item.text for h in hits] == ["prefers email over phone"]
    again.close()


def test_forget_user_leaves_no_trace_in_the_files(tmp_path: Path) -> None:
    """After forgetting, no table, and no byte of the database or its WAL, holds the text."""
    db = tmp_path / "ragline.db"
    secret = "SECRET-ORDER-7731 replacement battery"
    store = SQLiteUserMemoryStore(db)
    store.add("acme", "u1", [entry(f"{secret} #{i}") for i in range(50)])
    store.add("acme", "u2", [entry("u2 keeps this")])
    assert secret.encode() in _file_bytes(db)
    assert store.forget_user("acme", "u1") == 50

    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                assert not any(secret in str(v) for v in row), (table, row)
        rows = conn.execute("SELECT user_id, text FROM memory_items").fetchall()
        assert rows == [("u2", "u2 keeps this")]
    assert secret.encode() not in _file_bytes(db)
    store.close()


def _file_bytes(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))


def test_every_backend_hands_out_a_user_memory_store(tmp_path: Path) -> None:
    sqlite_backend = open_backend(f"sqlite:///{tmp_path / 'r.db'}")
    assert isinstance(sqlite_backend, SQLiteBackend)
    assert isinstance(sqlite_backend.user_memory, SQLiteUserMemoryStore)
    sqlite_backend.user_memory.add("acme", "u1", [entry("x")])
    sqlite_backend.close()
    for backend in (MemoryBackend(), open_backend("sqlite://:memory:")):
        assert isinstance(backend.user_memory, MemoryUserMemoryStore)
        backend.close()


def test_migration_is_recorded(tmp_path: Path) -> None:
    backend = open_backend(f"sqlite:///{tmp_path / 'r.db'}")
    _, names = backend.migrate()
    assert "0015_memory" in names
    backend.close()
