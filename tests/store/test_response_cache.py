"""The model response cache of the SQLite and PostgreSQL stores: the conformance suite
(a SQLite file, a ``sqlite://:memory:`` store, PostgreSQL), plus what a table adds:
entries survive a reopen and expired rows are purged. Each backend hands out its own.
(``MemoryResponseCache`` runs the suite in ``tests/models/test_resilience_cache.py``.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ragline.models._base import Completion, Message, Usage
from ragline.models._cache import CachedModel, MemoryResponseCache, ResponseCache
from ragline.store import MemoryStore, SQLiteStore
from ragline.store.memory import MemoryBackend
from ragline.store.sqlite import SQLiteBackend, SQLiteResponseCache
from ragline.store.sqlite._migrations import applied_migrations
from ragline.testing import FakeModel, ResponseCacheConformance
from ragline.testing._response_cache_conformance import ManualClock

Q = [Message("user", "How long is the warranty?")]


def ok(text: str, usage: Usage | None = None) -> Completion:
    return Completion(text=text, model="m", usage=usage or Usage())


class TestSQLiteResponseCache(ResponseCacheConformance):
    @pytest.fixture
    def response_cache(self, tmp_path: Path, clock: ManualClock) -> Iterator[ResponseCache]:
        store = SQLiteStore(tmp_path / "ragline.db")
        yield SQLiteResponseCache(store, clock=clock)
        store.close()


class TestSQLiteInMemoryStoreResponseCache(ResponseCacheConformance):
    """``sqlite://:memory:`` keeps the cache in the store's private in-memory database."""

    @pytest.fixture
    def response_cache(self, clock: ManualClock) -> Iterator[ResponseCache]:
        store = SQLiteStore(":memory:")
        yield SQLiteResponseCache(store, clock=clock)
        store.close()


class TestPostgresResponseCache(ResponseCacheConformance):
    @pytest.fixture
    def response_cache(self, pg_url: str, clock: ManualClock) -> Iterator[ResponseCache]:
        from ragline.store import PostgresStore
        from ragline.store.postgres._cache import PostgresResponseCache

        store = PostgresStore(pg_url)
        yield PostgresResponseCache(store, clock=clock)
        store.close()


def test_store_cache_persists_across_reopen(tmp_path: Path) -> None:
    db = tmp_path / "ragline.db"
    clock = ManualClock(1_000_000.0)
    with SQLiteStore(db) as store:
        assert "0005_response_cache" in applied_migrations(store.connection())
        inner = FakeModel([ok("persisted", usage=Usage(2, 3))], name="m")
        CachedModel(inner, SQLiteResponseCache(store, clock=clock), ttl_s=3600).complete(Q)
    with SQLiteStore(db) as store:
        inner = FakeModel([ok("fresh")], name="m")
        model = CachedModel(inner, SQLiteResponseCache(store, clock=clock), ttl_s=3600)
        hit = model.complete(Q)
        assert (hit.text, hit.cached, hit.usage) == ("persisted", True, Usage(2, 3))
        assert inner.calls == []
        clock.now += 3601
        assert model.complete(Q).text == "fresh"  # expired row ignored
        assert len(inner.calls) == 1


def test_store_cache_purges_expired_rows_lazily(tmp_path: Path) -> None:
    clock = ManualClock(1_000_000.0)
    with SQLiteStore(tmp_path / "r.db") as store:
        cache = SQLiteResponseCache(store, clock=clock)
        cache.put("old", ok("old"), ttl_s=10)
        cache.put("older", ok("older"), ttl_s=5)
        assert len(cache) == 2
        clock.now += 20
        assert cache.get("old") is None  # ignored and deleted on read
        assert len(cache) == 1
        cache.put("new", ok("new"), ttl_s=10)  # a write purges every expired row
        assert len(cache) == 1
        assert cache.get("new") is not None
        clock.now += 20
        assert cache.purge_expired() == 1
        assert len(cache) == 0


def test_each_backend_has_its_response_cache(tmp_path: Path) -> None:
    backend = SQLiteBackend(tmp_path / "p.db")
    assert isinstance(backend.response_cache, SQLiteResponseCache)
    backend.close()
    assert isinstance(MemoryBackend(MemoryStore()).response_cache, MemoryResponseCache)
    in_memory = SQLiteBackend(":memory:")
    assert isinstance(in_memory.response_cache, SQLiteResponseCache)  # in the store's db
    in_memory.close()


def test_a_postgres_backend_has_a_postgres_response_cache(pg_url: str) -> None:
    from ragline.store.postgres import PostgresBackend
    from ragline.store.postgres._cache import PostgresResponseCache

    backend = PostgresBackend(pg_url)
    cache = backend.response_cache
    assert isinstance(cache, PostgresResponseCache)
    cache.put("k", ok("shared pool"), ttl_s=60)
    again = PostgresBackend(pg_url)  # another process sees it
    hit = again.response_cache.get("k")
    assert hit is not None and hit.text == "shared pool"
    again.close()
    backend.close()
