"""MemoryStore passes the shared Store conformance suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ragline.store import MemoryStore, Store, open_store
from ragline.testing import StoreConformance


class TestMemoryStore(StoreConformance):
    @pytest.fixture
    def store(self) -> Iterator[Store]:
        s = MemoryStore()
        yield s
        s.close()


def test_open_store_memory_url() -> None:
    assert isinstance(open_store("memory://"), MemoryStore)
