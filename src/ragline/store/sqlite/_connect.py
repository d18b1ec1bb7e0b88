"""One connection to a ragline SQLite file, the one transaction helper every table
family of the SQLite backend uses, and the SQLite :class:`Dialect` of the shared families.

Each family (documents, traces, conversations, sentence vectors, evaluation runs)
opens its *own* :class:`Database` on the project's file: WAL mode, so readers never
wait for writers, and a family's lock never queues another family's work. A
:class:`Database` is shared by threads behind one lock; :meth:`Database.transaction`
is ``BEGIN IMMEDIATE`` (or ``BEGIN`` to read) … ``COMMIT``, rolled back on any error,
with SQLite errors raised as :class:`StoreError` naming the family and the file.
:class:`SQLiteDialect` runs the shared families (:mod:`ragline.store.sql`) on one.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, TypeVar, Unpack

from ragline.errors import StoreError
from ragline.store.sql._dialect import Dialect, Rows, RunOptions, Work
from ragline.store.sqlite._migrations import apply_migrations

Synchronous = Literal["NORMAL", "FULL"]
T = TypeVar("T")


def busy(error: sqlite3.Error) -> bool:
    """Whether ``error`` is another connection holding the lock (worth retrying)."""
    text = str(error)
    return "locked" in text or "busy" in text


class Database:
    """A ragline SQLite file opened for one table family (see the module docstring)."""

    def __init__(
        self,
        path: str | Path,
        *,
        what: str,
        busy_timeout_ms: int,
        foreign_keys: bool = False,
        allow_memory: bool = True,
        synchronous: Synchronous = "NORMAL",
    ) -> None:
        self.path = str(path)
        self.what = what
        self.busy_timeout_ms = int(busy_timeout_ms)
        self.synchronous = synchronous
        self.conn = self._open(foreign_keys, allow_memory, synchronous)
        self.lock = threading.RLock()
        self.closed = False

    def _open(self, foreign_keys: bool, allow_memory: bool, synchronous: str) -> sqlite3.Connection:
        """One autocommit connection to the file, migrated, usable from threads.

        WAL + ``synchronous=NORMAL`` on files (a process crash loses nothing committed; a
        power cut may lose the last commits; the document store asks for ``FULL``).
        ``what`` names the store in errors: "cannot open {what} 'path': …" with a hint.
        """
        path, what = self.path, self.what
        if path == ":memory:" and not allow_memory:
            raise StoreError(f"{what} needs a database file, not ':memory:'")
        if path != ":memory:":
            parent = Path(path).expanduser().resolve().parent
            if not parent.is_dir():
                raise StoreError(
                    f"cannot open {what} {path!r}: folder {str(parent)!r} does not exist",
                    hint="create the folder or fix the store path in ragline.yaml",
                )
        try:
            conn = sqlite3.connect(
                path,
                isolation_level=None,
                check_same_thread=False,
                timeout=self.busy_timeout_ms / 1000,
            )
            conn.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
            if foreign_keys:
                conn.execute("PRAGMA foreign_keys = ON")
            if path != ":memory:":
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute(f"PRAGMA synchronous = {synchronous}")
            apply_migrations(conn)
        except sqlite3.Error as e:
            raise StoreError(
                f"cannot open {what} {path!r}: {e}",
                hint="check that the file is a ragline SQLite database and is writable",
            ) from e
        return conn

    def error(self, e: sqlite3.Error) -> StoreError:
        """``e`` as a :class:`StoreError` that names the family, the file and the fix."""
        hint = (
            "another process held the database too long; try again"
            if busy(e)
            else "check the database file (disk full, permissions, corruption)"
        )
        return StoreError(f"{self.what} {self.path!r}: {e}", hint=hint)

    def check_open(self) -> None:
        if self.closed:
            raise StoreError(f"{self.what} {self.path!r} is closed", hint="open a new store")

    @contextmanager
    def transaction(
        self, *, write: bool = True, busy_timeout_ms: int | None = None, durable: bool = True
    ) -> Iterator[sqlite3.Connection]:
        """One transaction under the lock; commits on success, rolls back on error.

        A nested call joins the outer transaction. ``busy_timeout_ms`` waits that long
        (instead of the database's timeout) for another process's lock, for this
        transaction only: a best-effort write passes a small one. ``durable=False``
        commits without waiting for the disk (``synchronous=NORMAL``: a power cut may
        lose it, a process crash does not), for bookkeeping that is cheap to lose.
        """
        with self.lock:
            self.check_open()
            conn = self.conn
            if conn.in_transaction:  # nested: join the caller's transaction
                yield conn
                return
            wait = self.busy_timeout_ms if busy_timeout_ms is None else max(0, busy_timeout_ms)
            relax = not durable and self.synchronous == "FULL" and self.path != ":memory:"
            try:
                if relax:
                    conn.execute("PRAGMA synchronous = NORMAL")
                if wait != self.busy_timeout_ms:
                    conn.execute(f"PRAGMA busy_timeout = {int(wait)}")
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                yield conn
                conn.execute("COMMIT")
            except BaseException as e:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(e, sqlite3.Error):
                    raise self.error(e) from e
                raise
            finally:
                if wait != self.busy_timeout_ms:
                    conn.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
                if relax:
                    conn.execute(f"PRAGMA synchronous = {self.synchronous}")

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of one read statement (autocommit: no transaction held)."""
        with self.lock:
            self.check_open()
            try:
                return self.conn.execute(sql, params).fetchall()
            except sqlite3.Error as e:
                raise self.error(e) from e

    def close(self) -> None:
        with self.lock:
            if not self.closed:
                self.closed = True
                self.conn.close()


def file_database(path: str, family: str, **options: Any) -> Database:
    """The :class:`Database` of the SQLite ``family`` store (``"trace"``,
    ``"conversation"``…) on a file.

    ``:memory:`` is refused with a hint to use the memory backend's store: a second
    connection to ``:memory:`` would be a new, empty database.
    """
    name = family.title()
    if path == ":memory:":
        raise StoreError(
            f"SQLite{name}Store needs a database file, not ':memory:'",
            hint=f"use Memory{name}Store for an in-memory store",
        )
    return Database(path, what=f"{family} store", allow_memory=False, **options)


class SQLiteDialect(Dialect):
    """The shared families on one :class:`Database` (no row-level security: the tenant
    is in every statement's ``WHERE``)."""

    mark = "?"
    json_mark = "?"
    find = "instr"

    def __init__(self, db: Database) -> None:
        self.db = db

    def fetch(self, tenant: str | None, sql: str, params: Sequence[Any] = ()) -> Rows:
        return self.db.fetch(sql, params)

    def run(self, tenant: str | None, work: Work[T], **options: Unpack[RunOptions]) -> T:
        timeout_s = options.get("timeout_s")
        wait = None if timeout_s is None else int(timeout_s * 1000)
        with self.db.transaction(busy_timeout_ms=wait) as conn:
            return work(conn)  # never retried: SQLite has no connection to lose

    def close(self) -> None:
        self.db.close()
