"""``PostgresRateLimits``: the server's token buckets in one PostgreSQL table.

Every replica on the database draws from the same row per (tenant, name) in
``rate_limits`` (migration ``0019_replicas``). One statement refills the bucket by the
time since its last use, takes a token if there is one and says whether it did — an
``INSERT … ON CONFLICT DO UPDATE`` in autocommit, so a request costs one round trip
and the row is locked only for that statement. Times are the database's clock
(``clock_timestamp()``), so replicas whose clocks disagree still share one bucket.

The table is ``UNLOGGED``: buckets are not worth a WAL write per request, and a crash
of the database server that empties them only forgives a minute of requests. The
limiter has its own autocommit connection (outside the pool, reconnected when lost):
the statement is tiny, and a pooled connection would add a ``BEGIN``/``COMMIT``
round trip each.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any

from ragline.errors import StoreError
from ragline.store._limits import check_rate, wait_s

if TYPE_CHECKING:
    from ragline.store.postgres._documents import PostgresStore

# f: the bucket's tokens now, refilled since its last use and capped at per_minute
_FILLED = "least(%(cap)s::float8, b.tokens + greatest(0.0, excluded.at - b.at) * %(cap)s / 60.0)"
TAKE_SQL = (
    "INSERT INTO rate_limits AS b (tenant, name, tokens, at, granted) "
    "VALUES (%(tenant)s, %(name)s, %(cap)s - 1.0, extract(epoch FROM clock_timestamp()), true) "
    "ON CONFLICT (tenant, name) DO UPDATE SET "
    f"tokens = CASE WHEN {_FILLED} >= 1.0 THEN {_FILLED} - 1.0 ELSE {_FILLED} END, "
    f"granted = {_FILLED} >= 1.0, at = excluded.at "
    "RETURNING granted, tokens"
)


class PostgresRateLimits:
    """Rate-limit buckets shared by every process on one PostgreSQL database."""

    shared = True

    def __init__(self, store: PostgresStore, *, connect_timeout: float = 10.0) -> None:
        self._url = store.url
        self._where = store.safe_url
        self._timeout = connect_timeout
        self._conn: Any = None
        self._mutex = threading.Lock()

    def _connect(self) -> Any:
        import psycopg

        try:
            return psycopg.connect(
                self._url, autocommit=True, connect_timeout=max(1, int(self._timeout))
            )
        except psycopg.Error as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise StoreError(
                f"cannot connect to PostgreSQL at {self._where} for the rate limits: {first}",
                hint="check that the server is running",
            ) from None

    def take(self, tenant: str, name: str, per_minute: int) -> float:
        import psycopg

        params = {"tenant": tenant, "name": name, "cap": float(check_rate(per_minute))}
        with self._mutex:
            for attempt in range(2):  # a connection lost since the last request: once more
                if self._conn is None:
                    self._conn = self._connect()
                try:
                    row = self._conn.execute(TAKE_SQL, params).fetchone()
                    break
                except psycopg.OperationalError:
                    self._drop()
                    if attempt:
                        raise StoreError(
                            f"lost the connection to PostgreSQL at {self._where} while "
                            "checking a rate limit",
                            hint="check that the server is running; retry the request",
                        ) from None
                except psycopg.Error as e:
                    raise StoreError(
                        f"PostgreSQL error at {self._where} in the rate limits: "
                        f"{str(e).strip().splitlines()[0]}",
                        hint="run 'ragline doctor' (are the migrations applied?)",
                    ) from None
        granted, tokens = bool(row[0]), float(row[1])
        return 0.0 if granted else wait_s(tokens, per_minute)

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # closing a broken connection
                conn.close()

    def close(self) -> None:
        with self._mutex:
            self._drop()


__all__ = ["PostgresRateLimits"]
