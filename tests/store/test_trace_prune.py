"""``prune_traces`` deletes whole old traces (spans and feedback) on every backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ragline.store.memory import MemoryTraceStore
from ragline.store.postgres._traces import PostgresTraceStore
from ragline.store.sqlite import SQLiteTraceStore
from ragline.testing._trace_conformance import T0, feedback, make_trace, tid


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def traces(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "memory":
        store: Any = MemoryTraceStore()
    elif request.param == "sqlite":
        store = SQLiteTraceStore(tmp_path / "ragline.db")
    else:
        store = PostgresTraceStore(request.getfixturevalue("pg_url"))
    yield store
    store.close()


def test_old_traces_go_with_their_feedback_recent_ones_stay(traces: Any) -> None:
    old, new = make_trace(1, start=T0, children=2), make_trace(2, start=T0 + 3600, children=1)
    orphan = [s for s in make_trace(3, start=T0 - 10, children=1) if s.parent_id is not None]
    traces.write_spans([*old, *new, *orphan])
    traces.add_feedback(feedback("f-old", tid(1)))
    traces.add_feedback(feedback("f-new", tid(2)))
    assert traces.prune_traces(T0 + 60, dry_run=True) == (1, 4, 1)
    assert len(traces.get_trace(tid(1))) == 3  # a dry run deletes nothing
    assert traces.prune_traces(T0 + 60) == (1, 4, 1)
    assert traces.get_trace(tid(1)) == [] and traces.get_trace(tid(3)) == []
    assert len(traces.get_trace(tid(2))) == 2
    assert [f.id for f in traces.list_feedback()] == ["f-new"]
    assert traces.prune_traces(T0 + 60) == (0, 0, 0)
