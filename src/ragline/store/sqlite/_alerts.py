"""``SQLiteAlertStore``: alert states, history and silences in the project's SQLite file.

The shared :class:`~ragline.store.sql._alerts.SQLAlertStore` on a connection of its own
to the database file (tables from migration ``0013_alerts``). The evaluator lock is
``flock`` on ``<database>.monitor.lock`` beside it: each handle opens the file itself,
so two handles in one process contend as two processes do, and the kernel lets the lock
go when its holder exits or dies — a crashed server never keeps the others from
evaluating. The lock file holds the holder's ``host:pid`` for people reading it.
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

from ragline.errors import StoreError
from ragline.store._alerts import EvaluatorLock
from ragline.store.sql._alerts import SQLAlertStore
from ragline.store.sqlite._connect import SQLiteDialect, file_database


class FileLock:
    """One contender for an ``flock`` on ``path`` (see the module docstring)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._fd: int | None = None
        self._mutex = threading.Lock()

    def acquire(self) -> bool:
        import fcntl

        with self._mutex:
            if self._fd is not None:
                return True
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as e:
                raise StoreError(
                    f"cannot open the monitor lock file {self.path!r}: {e.strerror}",
                    hint="the folder of the database must be writable",
                ) from e
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                return False  # another evaluator holds it
            os.ftruncate(fd, 0)
            os.write(fd, f"{socket.gethostname()}:{os.getpid()}\n".encode())
            self._fd = fd
            return True

    def release(self) -> None:
        import fcntl

        with self._mutex:
            fd, self._fd = self._fd, None
            if fd is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_UN)
                finally:
                    os.close(fd)


class SQLiteAlertStore(SQLAlertStore):
    """Alerts in a ragline SQLite database (the store's file)."""

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 5_000) -> None:
        self.path = str(path)
        db = file_database(self.path, "alert", busy_timeout_ms=busy_timeout_ms)
        super().__init__(SQLiteDialect(db))

    @property
    def lock_path(self) -> str:
        return f"{self.path}.monitor.lock"

    def evaluator_lock(self) -> EvaluatorLock:
        return FileLock(self.lock_path)
