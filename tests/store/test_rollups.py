"""Every rollup store backend passes ``ragline.testing.RollupConformance``."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragline.errors import StoreError
from ragline.store._rollups import RollupStore
from ragline.store.memory import MemoryRollupStore
from ragline.store.postgres._rollups import PostgresRollupStore
from ragline.store.sqlite import SQLiteBackend, SQLiteRollupStore
from ragline.testing import RollupConformance
from ragline.testing._rollup_conformance import M0, latency_row


class TestMemoryRollups(RollupConformance):
    def make_store(self) -> RollupStore:
        return MemoryRollupStore()


class TestSQLiteRollups(RollupConformance):
    @pytest.fixture
    def rollup_store(self, tmp_path: Path) -> Iterator[RollupStore]:
        store = SQLiteRollupStore(tmp_path / "ragline.db")
        yield store
        store.close()


class TestPostgresRollups(RollupConformance):
    @pytest.fixture
    def rollup_store(self, pg_url: str) -> Iterator[RollupStore]:
        store = PostgresRollupStore(pg_url)
        yield store
        store.close()


def test_two_sqlite_connections_add_up(tmp_path: Path) -> None:
    """Two processes' writers (two connections to one file) add, never overwrite."""
    a = SQLiteRollupStore(tmp_path / "ragline.db")
    b = SQLiteRollupStore(tmp_path / "ragline.db")
    a.add([latency_row(M0, [10.0])])
    b.add([latency_row(M0, [30.0])])
    [row] = a.rows()
    assert (row.count, row.total, row.max) == (2, 40.0, 30.0)
    a.close()
    b.close()


def test_a_locked_sqlite_file_raises_and_stores_nothing(tmp_path: Path) -> None:
    path = tmp_path / "ragline.db"
    store = SQLiteRollupStore(path, busy_timeout_ms=50)
    store.add([latency_row(M0, [1.0])])
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with pytest.raises(StoreError, match="locked"):
            store.add([latency_row(M0, [2.0])])
    finally:
        other.execute("ROLLBACK")
        other.close()
    [row] = store.rows()
    assert row.count == 1  # the failed batch added nothing, the earlier one is intact
    store.close()


def test_the_backend_hands_out_rollups(tmp_path: Path) -> None:
    backend = SQLiteBackend(tmp_path / "ragline.db")
    backend.rollups.add([latency_row(M0, [1.0])])
    assert "0012_rollups" in backend.migrate()[1]
    backend.close()
    memory = SQLiteBackend(":memory:")
    assert isinstance(memory.rollups, MemoryRollupStore)
    memory.close()


def test_postgres_rollups_have_row_level_security(pg_url: str) -> None:
    import psycopg

    store = PostgresRollupStore(pg_url)
    store.add([latency_row(M0, [1.0], tenant="a"), latency_row(M0, [2.0], tenant="b")])
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM rollups").fetchone() == (0,)
        with conn.transaction():
            conn.execute("SELECT set_config('ragline.tenant', 'b', true)")
            assert [r[0] for r in conn.execute("SELECT tenant FROM rollups")] == ["b"]
    assert {r.tenant for r in store.rows()} == {"a", "b"}
    store.close()
