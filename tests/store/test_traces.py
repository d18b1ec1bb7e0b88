"""Every trace store backend passes ``ragline.testing.TraceStoreConformance``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ragline.store._traces import TraceStore
from ragline.store.memory import MemoryTraceStore
from ragline.store.sqlite import SQLiteTraceStore
from ragline.testing import TraceStoreConformance


class TestMemoryTraceStore(TraceStoreConformance):
    def make_store(self) -> TraceStore:
        return MemoryTraceStore()


class TestSQLiteTraceStore(TraceStoreConformance):
    @pytest.fixture
    def trace_store(self, tmp_path: Path) -> Iterator[TraceStore]:
        store = SQLiteTraceStore(tmp_path / "ragline.db")
        yield store
        store.close()


def test_a_closed_memory_store_says_so() -> None:
    from ragline.errors import StoreError

    store = MemoryTraceStore()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.list_traces()
