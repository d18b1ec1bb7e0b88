"""SQLiteConversationStore: conformance, the project's file, survival, many writers."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ragline.errors import StoreError
from ragline.store._conversations import ConversationStore
from ragline.store.memory._conversations import MemoryConversationStore
from ragline.store.sqlite import SQLiteBackend
from ragline.store.sqlite._conversations import SQLiteConversationStore
from ragline.store.sqlite._documents import SQLiteStore
from ragline.testing import ConversationStoreConformance


class TestSQLiteConversationStore(ConversationStoreConformance):
    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path: Path) -> None:
        self.db = tmp_path / "ragline.db"

    def make_store(self, clock: Callable[[], float]) -> ConversationStore:
        return SQLiteConversationStore(self.db, clock=clock)


def test_history_survives_a_reopen(tmp_path: Path) -> None:
    db = tmp_path / "ragline.db"
    store = SQLiteConversationStore(db)
    c = store.create_conversation("acme", title="warranty", metadata={"channel": "web"})
    store.append_turn("acme", c.id, "user", "How long is the warranty?")
    store.append_turn("acme", c.id, "assistant", "Two years [1].", citations=[{"n": 1}])
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.turns("acme", c.id)

    again = SQLiteConversationStore(db)
    got = again.get_conversation("acme", c.id)
    assert got is not None and got.turns == 2 and got.metadata == {"channel": "web"}
    assert [t.content for t in again.turns("acme", c.id)] == [
        "How long is the warranty?",
        "Two years [1].",
    ]
    assert again.append_turn("acme", c.id, "user", "thanks").index == 2
    again.close()


def test_lives_in_the_document_stores_file(tmp_path: Path) -> None:
    db = tmp_path / "ragline.db"
    backend = SQLiteBackend(db)
    docs = backend.documents
    conversations = backend.conversations
    assert isinstance(conversations, SQLiteConversationStore)
    assert conversations.path == str(db)
    c = conversations.create_conversation("default")
    conversations.append_turn("default", c.id, "user", "hi")
    conversations.close()
    assert docs.stats("default").documents == 0  # the document store is still open
    docs.close()

    import sqlite3

    with sqlite3.connect(db) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM migrations")}
        assert "0009_conversations" in names
        assert conn.execute("SELECT count(*) FROM conversation_turns").fetchone() == (1,)


def test_in_memory_sqlite_store_gets_a_memory_conversation_store() -> None:
    backend = SQLiteBackend(":memory:")
    docs = backend.documents
    assert isinstance(docs, SQLiteStore)
    conversations = backend.conversations
    assert isinstance(conversations, MemoryConversationStore)
    docs.close()


def test_bad_paths_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="needs a database file") as e:
        SQLiteConversationStore(":memory:")
    assert "MemoryConversationStore" in str(e.value)
    with pytest.raises(StoreError, match="does not exist"):
        SQLiteConversationStore(tmp_path / "missing" / "ragline.db")
    not_a_db = tmp_path / "notes.txt"
    not_a_db.write_text("just some text, not a database " * 100)
    with pytest.raises(StoreError, match="cannot open conversation store"):
        SQLiteConversationStore(not_a_db)
    assert not_a_db.read_text().startswith("just some text")  # nothing was overwritten


_WORKER = """
import sys
from ragline.store.sqlite._conversations import SQLiteConversationStore
store = SQLiteConversationStore(sys.argv[1], busy_timeout_ms=30_000)
print("ready", flush=True)
sys.stdin.readline()
for i in range(int(sys.argv[3])):
    store.append_turn("acme", "shared", "user", f"{sys.argv[2]}-{i}")
store.close()
print("done", flush=True)
"""


def test_appends_from_several_processes_never_collide(tmp_path: Path) -> None:
    db = tmp_path / "ragline.db"
    store = SQLiteConversationStore(db)
    store.create_conversation("acme", conversation_id="shared")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(db), f"p{n}", "30"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(3)
    ]
    try:
        for p in procs:  # every worker has opened the database before any writes
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
    assert [t.index for t in turns] == list(range(90))
    for n in range(3):
        assert [t.content for t in turns if t.content.startswith(f"p{n}-")] == [
            f"p{n}-{i}" for i in range(30)
        ]
    got = store.get_conversation("acme", "shared")
    assert got is not None and got.turns == 90
    store.close()
