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


def test_the_backend_hands_out_the_alert_store(pg_url: str) -> None:
    from ragline.store.postgres import PostgresBackend

    backend = PostgresBackend(pg_url)
    assert isinstance(backend.alerts, PostgresAlertStore)
    backend.close()


def test_two_evaluators_on_one_database_evaluate_once_per_cycle(pg_url: str) -> None:
    """Two replicas' loops on one PostgreSQL database: one evaluates, one notification."""
    from ragline.config import AlertSettings
    from ragline.monitor import Evaluator, MonitorLoop
    from ragline.testing import FakeMetricSource, RecordingNotifier

    settings = AlertSettings.model_validate(
        {"rules": [{"name": "e", "metric": "errors", "agg": "rate", "condition": "> 0.1"}]}
    )
    source = FakeMetricSource()
    source.set("errors", "rate", 0.5)
    stores = [PostgresAlertStore(pg_url), PostgresAlertStore(pg_url)]
    sent = [RecordingNotifier(), RecordingNotifier()]
    loops = [
        MonitorLoop(Evaluator(settings, source, s, {"n": n}), s.evaluator_lock())
        for s, n in zip(stores, sent, strict=True)
    ]
    for minute in range(4):
        reports = [loop.run_once(1_764_000_000.0 + 60 * minute) for loop in loops]
        assert sum(r is not None for r in reports) == 1
    assert sum(len(n.sent) for n in sent) == 1
    events = [e.event for e in stores[1].history()]
    assert events.count("firing") == 1
    for loop in loops:
        loop.stop()
    for s in stores:
        s.close()
