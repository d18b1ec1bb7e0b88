"""PostgresUserMemoryStore: conformance, row-level security, forgetting reads the tables."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ragline.store import PostgresStore, UserMemoryStore
from ragline.store.postgres import PostgresBackend
from ragline.store.postgres._user_memory import PostgresUserMemoryStore
from ragline.testing import UserMemoryStoreConformance
from ragline.testing._conversation_conformance import FakeClock
from ragline.testing._user_memory_conformance import EMBEDDER, entry, unit


class TestPostgresUserMemoryStore(UserMemoryStoreConformance):
    @pytest.fixture
    def memory_store(self, pg_url: str, clock: FakeClock) -> Iterator[UserMemoryStore]:
        store = PostgresUserMemoryStore(pg_url, max_connections=2, clock=clock)
        yield store
        store.close()


def test_memory_table_has_row_level_security(pg_url: str) -> None:
    import psycopg

    store = PostgresUserMemoryStore(pg_url)
    for tenant in ("a", "b"):
        store.add(tenant, "u1", [entry(f"fact of {tenant}")])
    with psycopg.connect(pg_url, autocommit=True) as conn:
        # a query that sets no tenant sees nothing, even without a WHERE clause
        assert conn.execute("SELECT count(*) FROM memory_items").fetchone() == (0,)
        with conn.transaction():
            conn.execute("SELECT set_config('ragline.tenant', 'b', true)")
            rows = conn.execute("SELECT tenant, user_id, text FROM memory_items").fetchall()
            assert rows == [("b", "u1", "fact of b")]
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(
                    "INSERT INTO memory_items (tenant, id, user_id, kind, text, embedder, "
                    "vector, created_at) VALUES ('a', 'forged', 'u1', 'fact', 'forged', "
                    "'e', '\\x00', 0)"
                )
    assert [h.item.text for h in store.search("a", "u1", unit(1), embedder=EMBEDDER)] == [
        "fact of a"
    ]
    store.close()


def test_forget_user_removes_every_row(pg_url: str) -> None:
    import psycopg

    store = PostgresUserMemoryStore(pg_url)
    store.add("a", "u1", [entry(f"secret {i}") for i in range(5)])
    store.add("a", "u2", [entry("u2 keeps this")])
    store.add("b", "u1", [entry("tenant b keeps this")])
    assert store.forget_user("a", "u1") == 5
    with psycopg.connect(pg_url, autocommit=True) as conn, conn.transaction():
        conn.execute("SELECT set_config('ragline.all_tenants', 'on', true)")
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            )
        ]
        assert "memory_items" in tables
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                assert not any("secret" in str(v) for v in row), (table, row)
        rows = conn.execute("SELECT tenant, user_id FROM memory_items ORDER BY tenant").fetchall()
        assert rows == [("a", "u2"), ("b", "u1")]
    store.close()


def test_shares_the_document_store_pool(pg_url: str) -> None:
    docs = PostgresStore(pg_url, max_connections=2)
    backend: Any = PostgresBackend(pg_url)
    backend._families["documents"] = docs
    memory = backend.user_memory
    assert isinstance(memory, PostgresUserMemoryStore)
    memory.add("default", "u1", [entry("hi")])
    memory.close()  # does not close the shared store
    assert docs.stats("default").documents == 0
    docs.close()
