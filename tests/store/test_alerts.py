"""Every AlertStore backend passes the conformance suite; SQLite keeps alerts in the
project's file, beside a lock file that two processes contend for."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragline.store._alerts import AlertEvent, AlertState, AlertStore
from ragline.store.memory import MemoryBackend
from ragline.store.memory._alerts import MemoryAlertStore
from ragline.store.sqlite import SQLiteBackend
from ragline.store.sqlite._alerts import SQLiteAlertStore
from ragline.testing import AlertStoreConformance


class TestMemoryAlertStore(AlertStoreConformance):
    def make_store(self) -> AlertStore:
        return MemoryAlertStore()


class TestSQLiteAlertStore(AlertStoreConformance):
    @pytest.fixture
    def alert_store(self, tmp_path: Path) -> Iterator[AlertStore]:
        store = SQLiteAlertStore(tmp_path / "ragline.db")
        yield store
        store.close()

    def reopen(self, store: AlertStore) -> AlertStore | None:
        assert isinstance(store, SQLiteAlertStore)
        return SQLiteAlertStore(store.path)


def test_backends_hand_out_their_alert_store(tmp_path: Path) -> None:
    backend = SQLiteBackend(tmp_path / "ragline.db")
    assert isinstance(backend.alerts, SQLiteAlertStore)
    backend.alerts.save([AlertState("r", "firing", since=1.0, evaluated_at=2.0)])
    backend.close()
    again = SQLiteBackend(tmp_path / "ragline.db")
    assert again.alerts.states()["r"].state == "firing"  # survived the reopen
    again.close()
    assert isinstance(MemoryBackend().alerts, MemoryAlertStore)
    assert isinstance(SQLiteBackend(":memory:").alerts, MemoryAlertStore)


def test_migration_is_recorded(tmp_path: Path) -> None:
    import sqlite3

    SQLiteAlertStore(tmp_path / "ragline.db").close()
    with sqlite3.connect(tmp_path / "ragline.db") as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM migrations")]
    assert "0013_alerts" in names


_HOLDER = """
import sys
from ragline.store.sqlite._alerts import SQLiteAlertStore
lock = SQLiteAlertStore(sys.argv[1]).evaluator_lock()
print("held" if lock.acquire() else "busy", flush=True)
sys.stdin.readline()
"""


def test_the_lock_file_keeps_a_second_process_out_until_the_first_dies(tmp_path: Path) -> None:
    db = tmp_path / "ragline.db"
    store = SQLiteAlertStore(db)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        mine = store.evaluator_lock()
        assert mine.acquire() is False  # the other process evaluates
        assert Path(store.lock_path).read_text().split(":")[1].strip() == str(holder.pid)
        holder.kill()  # dies without releasing: the kernel lets the lock go
        holder.wait(timeout=30)
        assert mine.acquire() is True
        mine.release()
    finally:
        if holder.poll() is None:  # pragma: no cover - only on failure
            holder.kill()
            holder.wait()
    store.close()


def test_an_unwritable_lock_folder_is_a_clear_error(tmp_path: Path) -> None:
    import os

    from ragline.errors import StoreError
    from ragline.store.sqlite._alerts import FileLock

    if os.geteuid() == 0:
        pytest.skip("root can write anywhere")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(StoreError, match="monitor lock file"):
            FileLock(folder / "x.lock").acquire()
    finally:
        folder.chmod(0o700)


def test_history_of_a_reopened_store_keeps_ids_increasing(tmp_path: Path) -> None:
    db = tmp_path / "ragline.db"
    first = SQLiteAlertStore(db)
    first.save([], [AlertEvent(1.0, "r", "pending")])
    first.close()
    second = SQLiteAlertStore(db)
    second.save([], [AlertEvent(1.0, "r", "firing")])
    got = second.history()
    assert [e.event for e in got] == ["firing", "pending"] and got[0].id > got[1].id
    second.close()
