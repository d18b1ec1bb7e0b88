"""Sentence-vector stores: the conformance suite on memory, SQLite and PostgreSQL, plus
what each backend adds (a migration in the store file, locks, row-level security)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ragline.answer._sentence_vectors import sentence_key
from ragline.errors import StoreError
from ragline.store import MemoryStore, SentenceStore, SQLiteStore
from ragline.store.memory import MemoryBackend, MemorySentenceStore
from ragline.store.sqlite import SQLiteBackend, SQLiteSentenceStore
from ragline.store.sqlite._migrations import applied_migrations
from ragline.testing import SentenceStoreConformance
from ragline.testing._sentence_conformance import EMB, vec


class TestMemorySentenceStore(SentenceStoreConformance):
    def make_store(self) -> SentenceStore:
        return MemorySentenceStore()


class TestSQLiteSentenceStore(SentenceStoreConformance):
    @pytest.fixture
    def sentence_store(self, tmp_path: Path) -> Iterator[SentenceStore]:
        store = SQLiteSentenceStore(tmp_path / "ragline.db")
        yield store
        store.close()


class TestPostgresSentenceStore(SentenceStoreConformance):
    @pytest.fixture
    def sentence_store(self, pg_url: str) -> Iterator[SentenceStore]:
        from ragline.store import PostgresStore
        from ragline.store.postgres._sentences import PostgresSentenceStore

        store = PostgresStore(pg_url)
        sentences = PostgresSentenceStore(store)
        yield sentences
        sentences.close()
        store.close()


def test_keys_are_the_exact_text() -> None:
    assert sentence_key("The fee.") != sentence_key("The fee. ")
    assert sentence_key("The fee.") == sentence_key("The fee.")
    assert len(sentence_key("x")) == 16


# -- SQLite ------------------------------------------------------------------------


def test_the_sqlite_table_comes_from_a_migration_in_the_store_file(tmp_path: Path) -> None:
    backend = SQLiteBackend(tmp_path / "ragline.db")
    store: Any = backend.documents
    assert "0010_sentence_vectors" in applied_migrations(store.connection())
    sentences = backend.sentences
    assert isinstance(sentences, SQLiteSentenceStore)
    k = sentence_key("Kept on disk.")
    sentences.put("acme", EMB, {k: vec(3)})
    sentences.close()
    store.close()
    again = SQLiteSentenceStore(tmp_path / "ragline.db")  # a new process would see it
    assert np.array_equal(again.get("acme", EMB, [k])[k], vec(3))
    again.close()


def test_memory_stores_get_a_memory_sentence_store() -> None:
    assert isinstance(MemoryBackend(MemoryStore()).sentences, MemorySentenceStore)
    backend = SQLiteBackend(":memory:")
    assert isinstance(backend.documents, SQLiteStore)
    assert isinstance(backend.sentences, MemorySentenceStore)
    backend.close()


def test_a_locked_database_fails_a_bounded_write_clearly_and_loses_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ragline.db"
    sentences = SQLiteSentenceStore(path)
    old = sentence_key("Written before the lock.")
    sentences.put("acme", EMB, {old: vec(1)})
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with pytest.raises(StoreError, match="locked") as info:
            sentences.put("acme", EMB, {sentence_key("New."): vec(2)}, timeout_s=0.05)
        assert info.value.hint
        # reads still work while the lock is held (WAL), and the old row is intact
        assert np.array_equal(sentences.get("acme", EMB, [old])[old], vec(1))
    finally:
        other.execute("ROLLBACK")
        other.close()
    sentences.put("acme", EMB, {sentence_key("New."): vec(2)})  # normal timeout again
    assert sentences.count("acme", EMB) == 2
    sentences.close()


def test_a_closed_sqlite_sentence_store_says_so(tmp_path: Path) -> None:
    sentences = SQLiteSentenceStore(tmp_path / "ragline.db")
    sentences.close()
    with pytest.raises(StoreError, match="closed"):
        sentences.get("acme", EMB, [sentence_key("x")])


def test_sqlite_sentence_store_refuses_memory_and_missing_folders(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="needs a database file"):
        SQLiteSentenceStore(":memory:")
    with pytest.raises(StoreError, match="does not exist") as info:
        SQLiteSentenceStore(tmp_path / "nope" / "ragline.db")
    assert info.value.hint


# -- PostgreSQL --------------------------------------------------------------------


def test_postgres_sentence_vectors_have_row_level_security(pg_url: str) -> None:
    import psycopg

    from ragline.store.postgres import PostgresBackend
    from ragline.store.postgres._sentences import PostgresSentenceStore

    backend = PostgresBackend(pg_url)
    store = backend.documents
    sentences: Any = backend.sentences
    assert isinstance(sentences, PostgresSentenceStore)
    k = sentence_key("Secret sentence of acme.")
    sentences.put("acme", EMB, {k: vec(1)})
    with psycopg.connect(pg_url, autocommit=True) as conn:
        # no tenant set: nothing visible, even without a WHERE clause
        assert conn.execute("SELECT count(*) FROM sentence_vectors").fetchone() == (0,)
        with conn.transaction():
            conn.execute("SELECT set_config('ragline.tenant', 'globex', true)")
            assert conn.execute("SELECT count(*) FROM sentence_vectors").fetchone() == (0,)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(
                    "INSERT INTO sentence_vectors (tenant, embedder, hash, vector) "
                    "VALUES ('acme', 'x', '\\x00', '\\x00')"
                )
    assert sentences.get("globex", EMB, [k]) == {}
    sentences.close()  # shares the store's pool: the store stays open
    assert sentences.get("acme", EMB, [k])
    store.close()


def test_a_postgres_project_precomputes_at_ingest_and_asks_embed_only_the_question(
    pg_url: str, tmp_path: Path
) -> None:
    import numpy.typing as npt

    import ragline
    from ragline.store import PostgresStore
    from ragline.testing import HashEmbedder

    class Counting(HashEmbedder):
        documents = 0

        def embed_documents(self, texts: Any) -> npt.NDArray[np.float32]:
            self.documents += len(texts)
            return super().embed_documents(texts)

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "fees.md").write_text(
        "# Fees\n\nThe monthly fee is 5 euros. Payment is due within 14 days of the invoice.\n"
    )
    emb = Counting()
    store = PostgresStore(pg_url)
    p = ragline.Project(tmp_path, store=store, embedder=emb, overrides={"tracing.enabled": False})
    p.ingest([docs], tenant="acme")
    assert p.parts.backend.sentences.count("acme", emb.name) == 2
    assert p.parts.backend.sentences.count("globex", emb.name) == 0
    before = emb.documents
    answer = p.ask("When is payment due?", tenant="acme")
    assert "14 days" in answer.text and emb.documents == before
    p.close()
