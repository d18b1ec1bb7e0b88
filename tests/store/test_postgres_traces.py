"""PostgresTraceStore passes the trace-store conformance suite, with RLS on its tables."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ragline.store import PostgresStore
from ragline.store._traces import TraceStore
from ragline.store.postgres._traces import PostgresTraceStore
from ragline.testing import TraceStoreConformance
from ragline.testing._trace_conformance import feedback, make_trace, tid


class TestPostgresTraceStore(TraceStoreConformance):
    @pytest.fixture
    def trace_store(self, pg_url: str) -> Iterator[TraceStore]:
        store = PostgresTraceStore(pg_url)
        yield store
        store.close()


def test_trace_tables_have_row_level_security(pg_url: str) -> None:
    import psycopg

    traces = PostgresTraceStore(pg_url)
    traces.write_spans([*make_trace(1, tenant="a"), *make_trace(2, tenant="b")])
    traces.add_feedback(feedback("f1", tid(1), tenant="a"))
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM spans").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM feedback").fetchone() == (0,)
        with conn.transaction():
            conn.execute("SELECT set_config('ragline.tenant', 'b', true)")
            tenants = {r[0] for r in conn.execute("SELECT tenant FROM spans")}
            assert tenants == {"b"}
    assert {t.tenant for t in traces.list_traces()} == {"a", "b"}  # explicit all-tenant view
    assert [t.tenant for t in traces.list_traces(tenant="a")] == ["a"]
    assert traces.count_spans() == 6
    traces.close()


def test_shares_the_document_store_pool(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    traces: Any = PostgresTraceStore(store)
    traces.write_spans(make_trace(3))
    traces.record_drops(2)
    traces.record_drops(1)
    assert traces.dropped_spans() == 3 and traces.count_traces() == 1
    traces.close()  # does not close the shared store
    assert store.stats("default").documents == 0
    store.close()
