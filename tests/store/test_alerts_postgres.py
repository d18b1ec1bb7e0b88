"""PostgresAlertStore passes the alert-store conformance suite on a real server; its
evaluator lock is a session advisory lock that a second connection cannot take."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ragline.store._alerts import AlertStore
from ragline.store.postgres._alerts import PostgresAlertStore
from ragline.testing import AlertStoreConformance


class TestPostgresAlertStore(AlertStoreConformance):
    @pytest.fixture
    def alert_store(self, pg_url: str) -> Iterator[AlertStore]:
        self.url = pg_url
        store = PostgresAlertStore(pg_url)
        yield store
        store.close()

    def reopen(self, store: AlertStore) -> AlertStore | None:
        return PostgresAlertStore(self.url)


def test_a_lost_connection_loses_the_lock_and_it_is_noticed(pg_url: str) -> None:
    store = PostgresAlertStore(pg_url)
    a, b = store.evaluator_lock(), store.evaluator_lock()
    assert a.acquire() and not b.acquire()
    a._conn.close()  # type: ignore[attr-defined]  # the holder's connection drops
    assert b.acquire()  # the server let the lock go
    assert a.acquire() is False  # and the old holder knows it no longer has it
    b.release()
    a.release()
    store.close()
