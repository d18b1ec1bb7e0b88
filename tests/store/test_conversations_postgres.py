"""PostgresConversationStore: conformance, row-level security, shared pool, many writers."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from ragline.store import PostgresStore
from ragline.store._conversations import ConversationStore
from ragline.store.postgres import PostgresBackend
from ragline.store.postgres._conversations import PostgresConversationStore
from ragline.testing import ConversationStoreConformance
from ragline.testing._conversation_conformance import FakeClock


class TestPostgresConversationStore(ConversationStoreConformance):
    @pytest.fixture
    def conversation_store(self, pg_url: str, clock: FakeClock) -> Iterator[ConversationStore]:
        store = PostgresConversationStore(pg_url, max_connections=4, clock=clock)
        yield store
        store.close()


def test_conversation_tables_have_row_level_security(pg_url: str) -> None:
    import psycopg

    store = PostgresConversationStore(pg_url)
    for tenant in ("a", "b"):
        c = store.create_conversation(tenant, conversation_id="c1")
        store.append_turn(tenant, c.id, "user", f"question of {tenant}")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        # a query that sets no tenant sees nothing, even without a WHERE clause
        assert conn.execute("SELECT count(*) FROM conversations").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM conversation_turns").fetchone() == (0,)
        with conn.transaction():
            conn.execute("SELECT set_config('ragline.tenant', 'b', true)")
            rows = conn.execute("SELECT tenant, content FROM conversation_turns").fetchall()
            assert rows == [("b", "question of b")]
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(
                    "INSERT INTO conversations (tenant, id, created_at, updated_at) "
                    "VALUES ('a', 'forged', 0, 0)"
                )
    assert store.get_conversation("a", "forged") is None
    assert [t.content for t in store.turns("a", "c1")] == ["question of a"]
    store.close()


def test_delete_removes_the_turns_too(pg_url: str) -> None:
    import psycopg

    store = PostgresConversationStore(pg_url)
    c = store.create_conversation("a")
    for i in range(3):
        store.append_turn("a", c.id, "user", f"q{i}")
    assert store.delete_conversation("a", c.id) is True
    with psycopg.connect(pg_url, autocommit=True) as conn, conn.transaction():
        conn.execute("SELECT set_config('ragline.all_tenants', 'on', true)")
        assert conn.execute("SELECT count(*) FROM conversation_turns").fetchone() == (0,)
    store.close()


def test_shares_the_document_store_pool(pg_url: str) -> None:
    docs = PostgresStore(pg_url, max_connections=2)
    backend: Any = PostgresBackend(pg_url)
    backend._families["documents"] = docs  # the backend's pool is this store's
    conversations = backend.conversations
    assert isinstance(conversations, PostgresConversationStore)
    c = conversations.create_conversation("default")
    conversations.append_turn("default", c.id, "user", "hi")
    conversations.close()  # does not close the shared store
    assert docs.stats("default").documents == 0
    docs.close()


_WORKER = """
import sys
from ragline.store.postgres._conversations import PostgresConversationStore
store = PostgresConversationStore(sys.argv[1], max_connections=1)
print("ready", flush=True)
sys.stdin.readline()
for i in range(int(sys.argv[3])):
    store.append_turn("acme", "shared", "user", f"{sys.argv[2]}-{i}")
store.close()
print("done", flush=True)
"""


def test_appends_from_several_processes_never_collide(pg_url: str) -> None:
    store = PostgresConversationStore(pg_url)
    store.create_conversation("acme", conversation_id="shared")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, pg_url, f"p{n}", "25"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(3)
    ]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        for p in procs:
            out, _ = p.communicate(timeout=120)
            assert p.returncode == 0 and out.strip() == "done"
    finally:
        for p in procs:
            if p.poll() is None:  # pragma: no cover - only on failure
                p.kill()
                p.wait()
    turns = store.turns("acme", "shared")
    assert [t.index for t in turns] == list(range(75))
    for n in range(3):
        assert [t.content for t in turns if t.content.startswith(f"p{n}-")] == [
            f"p{n}-{i}" for i in range(25)
        ]
    store.close()
