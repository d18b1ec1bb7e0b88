"""SQLiteStore passes the conformance suite, plus SQLite-only guarantees."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ragline.errors import ConfigError, StoreError
from ragline.store import MemoryStore, SQLiteStore, Store, open_store, parse_filter
from ragline.store.sqlite._documents import fts_query
from ragline.store.sqlite._migrations import (
    MIGRATIONS,
    Migration,
    applied_migrations,
    apply_migrations,
)
from ragline.testing import StoreConformance
from ragline.testing._store_conformance import EMBEDDER, HOSTILE_QUERIES, make_document


class TestSQLiteStore(StoreConformance):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store]:
        s = SQLiteStore(tmp_path / "store.db")
        yield s
        s.close()


class TestSQLiteInMemory(StoreConformance):
    @pytest.fixture
    def store(self) -> Iterator[Store]:
        s = SQLiteStore(":memory:")
        yield s
        s.close()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "ragline.db"


def test_wal_and_pragmas(db: Path) -> None:
    with SQLiteStore(db) as s:
        conn = s.connection()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] > 0


def test_migrations_recorded_in_order_and_not_reapplied(db: Path) -> None:
    with SQLiteStore(db) as s:
        assert applied_migrations(s.connection()) == [m.name for m in MIGRATIONS]
        first = s.connection().execute("SELECT name, applied_at FROM migrations").fetchall()
    with SQLiteStore(db) as s:
        again = s.connection().execute("SELECT name, applied_at FROM migrations").fetchall()
        assert again == first
        assert apply_migrations(s.connection()) == []


def test_appended_migration_applies_once(db: Path) -> None:
    calls: list[str] = []

    def step(conn: sqlite3.Connection) -> None:
        calls.append("ran")
        conn.execute("CREATE TABLE extra (x INTEGER)")

    steps = [
        *MIGRATIONS,
        Migration("9999_extra", step),
        Migration("9999_sql", "CREATE TABLE y (a);"),
    ]
    with SQLiteStore(db) as s:
        assert apply_migrations(s.connection(), steps) == ["9999_extra", "9999_sql"]
        assert apply_migrations(s.connection(), steps) == []
        assert calls == ["ran"]
        assert applied_migrations(s.connection())[-2:] == ["9999_extra", "9999_sql"]


def test_failed_migration_rolls_back(db: Path) -> None:
    bad = [*MIGRATIONS, Migration("9999_bad", "CREATE TABLE z (a); CREATE TABLE z (a);")]
    with SQLiteStore(db) as s:
        with pytest.raises(StoreError, match="9999_bad"):
            apply_migrations(s.connection(), bad)
        tables = {r[0] for r in s.connection().execute("SELECT name FROM sqlite_master")}
        assert "z" not in tables
        assert "9999_bad" not in applied_migrations(s.connection())


def test_data_survives_reopen(db: Path) -> None:
    doc, chunks, vecs = make_document("keep", ["persistent words here"], metadata={"k": 1})
    with SQLiteStore(db) as s:
        s.upsert_document(doc, chunks, vecs)
    with SQLiteStore(db) as s:
        got = s.get_document("default", "keep")
        assert got is not None and got.metadata == {"k": 1}
        assert s.get_chunks("default", ["keep#0"]) == chunks
        assert [h.chunk.id for h in s.keyword_search("default", "persistent", k=3)] == ["keep#0"]
        assert s.vector_search("default", vecs[0], k=1)[0].score == pytest.approx(1.0, abs=1e-5)


def test_second_connection_write_is_seen_by_vector_search(db: Path) -> None:
    first, second = SQLiteStore(db), SQLiteStore(db)
    try:
        first.upsert_document(*make_document("a", ["apples grow on trees"]))
        q = EMBEDDER.embed_query("bananas are yellow fruit")
        assert [h.chunk.id for h in first.vector_search("default", q, k=5)] == ["a#0"]
        b = make_document("b", ["bananas are yellow fruit"])
        second.upsert_document(*b)
        hits = first.vector_search("default", q, k=5)
        assert hits[0].chunk.id == "b#0"
        second.delete_document("default", "b")
        assert [h.chunk.id for h in first.vector_search("default", q, k=5)] == ["a#0"]
        second.upsert_document(*make_document("c", ["cherries"], metadata={"x": 1}))
        cond = [parse_filter("x=1")]
        assert [h.chunk.id for h in first.vector_search("default", q, k=5, filters=cond)] == ["c#0"]
    finally:
        first.close()
        second.close()


def test_upsert_failing_midway_leaves_no_partial_rows(db: Path) -> None:
    with SQLiteStore(db) as s:
        s.upsert_document(*make_document("d", ["old version text"]))
        s.connection().execute(
            "CREATE TRIGGER boom BEFORE INSERT ON chunks WHEN new.ordinal = 2 "
            "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
        )
        with pytest.raises(StoreError, match="injected failure"):
            s.upsert_document(*make_document("d", ["new zero", "new one", "new two"]))
        conn = s.connection()
        assert conn.execute("SELECT count(*) FROM chunks").fetchone()[0] == 1
        assert [c.text for c in s.get_chunks("default", ["d#0", "d#1"])] == ["old version text"]
        assert s.keyword_search("default", "new", k=5) == []
        assert [h.chunk.id for h in s.keyword_search("default", "old", k=5)] == ["d#0"]
        got = s.get_document("default", "d")
        assert got is not None and got.chunk_count == 1
        conn.execute("DROP TRIGGER boom")
        s.upsert_document(*make_document("d", ["new zero", "new one", "new two"]))
        assert s.stats("default").chunks == 3
        fts_rows = conn.execute("SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH 'old'")
        assert fts_rows.fetchone()[0] == 0


def test_fts_index_stays_consistent(db: Path) -> None:
    with SQLiteStore(db) as s:
        for i in range(5):
            s.upsert_document(*make_document(f"d{i}", [f"word{i} shared", "more shared"]))
        s.upsert_document(*make_document("d0", ["replaced"]))
        s.delete_document("default", "d1")
        conn = s.connection()
        conn.execute("INSERT INTO chunks_fts (chunks_fts, rank) VALUES ('integrity-check', 1)")
        assert len(s.keyword_search("default", "shared", k=50)) == 6


def test_threads_share_one_store(db: Path) -> None:
    with SQLiteStore(db) as s:
        s.upsert_document(*make_document("t", ["thread safe text"]))
        errors: list[BaseException] = []

        def work(n: int) -> None:
            try:
                for j in range(10):
                    s.upsert_document(*make_document(f"w{n}-{j}", [f"worker {n} item {j}"]))
                    s.keyword_search("default", "worker item", k=5)
                    s.vector_search("default", EMBEDDER.embed_query("worker"), k=5)
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert s.stats("default").documents == 41


@pytest.mark.parametrize("query", HOSTILE_QUERIES)
def test_fts_query_is_always_valid(query: str) -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE f USING fts5(x)")
    match = fts_query(query)
    if match:
        conn.execute("SELECT * FROM f WHERE f MATCH ?", (match,)).fetchall()


def test_closed_store_raises_store_error(db: Path) -> None:
    s = SQLiteStore(db)
    s.close()
    s.close()
    with pytest.raises(StoreError):
        s.stats("default")


def test_missing_folder_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        SQLiteStore(tmp_path / "nope" / "x.db")


def test_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError):
        SQLiteStore(path)


# -- open_store ------------------------------------------------------------------------


def test_open_store_urls(tmp_path: Path) -> None:
    rel = open_store("sqlite:///sub.db", base_dir=str(tmp_path))
    assert isinstance(rel, SQLiteStore) and rel.path == str(tmp_path / "sub.db")
    rel.close()
    abs_path = tmp_path / "abs.db"
    absolute = open_store(f"sqlite:///{abs_path}")
    assert isinstance(absolute, SQLiteStore) and absolute.path == str(abs_path)
    absolute.close()
    mem = open_store("sqlite://:memory:")
    assert isinstance(mem, SQLiteStore) and mem.path == ":memory:"
    mem.close()
    assert isinstance(open_store("memory://"), MemoryStore)


def test_open_store_relative_to_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = open_store("sqlite:///here.db")
    assert isinstance(s, SQLiteStore) and Path(s.path) == tmp_path / "here.db"
    s.close()


@pytest.mark.parametrize("url", ["mysql://x", "ragline.db", "", "sqlite:", "sqlite://"])
def test_open_store_bad_urls(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        open_store(url)
    assert "sqlite:///" in str(info.value)


def test_embeddings_stored_as_float32(db: Path) -> None:
    doc, chunks, vecs = make_document("f", ["float check"])
    with SQLiteStore(db) as s:
        s.upsert_document(doc, chunks, vecs.astype(np.float64))
        blob = s.connection().execute("SELECT embedding FROM chunks").fetchone()[0]
        assert len(blob) == 4 * EMBEDDER.dimension


def test_transaction_commits_rolls_back_and_nests(db: Path) -> None:
    with SQLiteStore(db) as s:
        with s.transaction() as conn:
            conn.execute("CREATE TABLE notes (x TEXT)")
        with pytest.raises(RuntimeError), s.transaction() as conn:
            conn.execute("INSERT INTO notes VALUES ('lost')")
            raise RuntimeError("boom")
        with s.transaction() as conn:
            conn.execute("INSERT INTO notes VALUES ('kept')")
            with s.transaction() as inner:
                inner.execute("INSERT INTO notes VALUES ('inner')")
            assert s.stats("default").documents == 0  # store calls join the transaction
        rows = s.connection().execute("SELECT x FROM notes ORDER BY x").fetchall()
        assert rows == [("inner",), ("kept",)]
        with pytest.raises(StoreError), s.transaction() as conn:
            conn.execute("INSERT INTO no_such_table VALUES (1)")


def test_snapshot_cache_is_bounded(db: Path) -> None:
    with SQLiteStore(db, max_cached_tenants=2) as s:
        for t in ("a", "b", "c"):
            s.upsert_document(*make_document("d", [f"text for {t}"], tenant=t))
            assert [h.chunk.tenant for h in s.keyword_search(t, "text", k=1)] == [t]
        assert len(s._snapshots) == 2
        assert [h.chunk.tenant for h in s.vector_search("a", EMBEDDER.embed_query("x"), k=1)] == [
            "a"
        ]


def test_claims_commit_without_fsync_and_documents_stay_durable(db: Path) -> None:
    from ragline.store import ClaimHolder

    with SQLiteStore(db) as s:
        holder = ClaimHolder.new()
        assert s.claim_documents("default", {"d": "h"}, holder=holder, timeout_s=60).claimed
        s.release_documents("default", ["d"], holder=holder)
        # the claim's relaxed commit does not leak into the document writes (FULL = 2)
        assert s.connection().execute("PRAGMA synchronous").fetchone()[0] == 2
