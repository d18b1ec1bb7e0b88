"""``PostgresAlertStore``: alert states, history and silences in the PostgreSQL database.

The shared :class:`~ragline.store.sql._alerts.SQLAlertStore` on a :class:`PostgresStore`'s
pool (tables from migration ``0013_alerts``; project-wide, no row-level security). The
evaluator lock is a session advisory lock (``pg_try_advisory_lock``) on a connection of
its own, outside the pool, held for as long as the evaluator runs: every worker and
replica on the database contends for the same key, and the server lets it go when the
holder's connection ends (the process exits, dies, or loses the network). A holder
checks its connection each time it asks, so a lost lock is noticed, not assumed.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any

from ragline.errors import StoreError
from ragline.store._alerts import EvaluatorLock
from ragline.store.postgres._dialect import PostgresDialect
from ragline.store.sql._alerts import SQLAlertStore

if TYPE_CHECKING:
    from ragline.store.postgres._documents import PostgresStore

# pg_try_advisory_lock key of the one alert evaluator: "raglineA" in ASCII (the
# migration lock is "ragline")
MONITOR_LOCK_KEY = 0x7261676C696E6541


class AdvisoryLock:
    """One contender for the evaluator's advisory lock (see the module docstring)."""

    def __init__(self, url: str, where: str, *, connect_timeout: float = 10.0) -> None:
        self._url = url
        self._where = where
        self._timeout = connect_timeout
        self._conn: Any = None
        self._mutex = threading.Lock()

    def acquire(self) -> bool:
        import psycopg

        with self._mutex:
            if self._conn is not None:
                try:
                    self._conn.execute("SELECT 1")
                    return True
                except psycopg.Error:  # the connection (and with it the lock) is gone
                    self._drop()
            try:
                conn = psycopg.connect(
                    self._url, autocommit=True, connect_timeout=max(1, int(self._timeout))
                )
            except psycopg.Error as e:
                raise StoreError(
                    f"cannot connect to PostgreSQL at {self._where} for the monitor lock: "
                    f"{str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}",
                    hint="check that the server is running",
                ) from None
            try:
                row = conn.execute(
                    "SELECT pg_try_advisory_lock(%s)", (MONITOR_LOCK_KEY,)
                ).fetchone()
            except psycopg.Error:
                conn.close()
                raise
            if not (row and row[0]):
                conn.close()
                return False
            self._conn = conn
            return True

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # closing a broken connection
                conn.close()

    def release(self) -> None:
        import psycopg

        with self._mutex:
            if self._conn is not None:
                # closing the connection lets the lock go anyway
                with contextlib.suppress(psycopg.Error):
                    self._conn.execute("SELECT pg_advisory_unlock(%s)", (MONITOR_LOCK_KEY,))
                self._drop()


class PostgresAlertStore(SQLAlertStore):
    """Alerts in a ragline PostgreSQL database.

    ``PostgresAlertStore("postgresql://…")`` opens its own small pool (and applies
    migrations); ``PostgresAlertStore(store)`` shares a :class:`PostgresStore`'s pool.
    """

    def __init__(self, url_or_store: str | PostgresStore, *, max_connections: int = 2) -> None:
        sql = PostgresDialect(url_or_store, max_connections=max_connections)
        self._store = sql.store
        super().__init__(sql)

    def evaluator_lock(self) -> EvaluatorLock:
        return AdvisoryLock(self._store.url, self._store.safe_url)
