"""Rate-limit buckets: the in-process reference and PostgreSQL's shared table pass the
same suite; on PostgreSQL two handles (two replicas) draw from one bucket, and the
table is the migration's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ragline.store import MemoryRateLimits, RateLimits
from ragline.testing import RateLimitsConformance

from .pg_helpers import fresh_database


class TestMemoryRateLimits(RateLimitsConformance):
    def make_limits(self) -> RateLimits:
        return MemoryRateLimits()


def test_memory_buckets_follow_their_clock() -> None:
    now = [100.0]
    limits = MemoryRateLimits(clock=lambda: now[0])
    assert limits.take("acme", "requests", 2) == 0.0
    assert limits.take("acme", "requests", 2) == 0.0
    assert limits.take("acme", "requests", 2) == pytest.approx(30.0)
    now[0] += 30.0
    assert limits.take("acme", "requests", 2) == 0.0


class TestPostgresRateLimits(RateLimitsConformance):
    @pytest.fixture(autouse=True, scope="class")
    @classmethod
    def _database(cls, pg_server: Any) -> Iterator[None]:
        from ragline.store.postgres import PostgresBackend

        for url in fresh_database(pg_server):
            backend = PostgresBackend(url)
            cls._backend = backend
            cls._opened = []
            try:
                yield
            finally:
                for limits in cls._opened:  # their connections, before the drop
                    limits.close()
                backend.close()

    def make_limits(self) -> RateLimits:
        from ragline.store.postgres._limits import PostgresRateLimits

        limits = PostgresRateLimits(self._backend.documents)
        self._opened.append(limits)
        return limits

    def test_the_backend_shares_its_buckets_and_keeps_them_in_the_table(self) -> None:
        limits = self._backend.rate_limits
        assert limits.shared and limits is self._backend.rate_limits
        assert limits.take("acme", "requests", 5) == 0.0
        row = self._backend.documents.run(
            None,
            lambda conn: conn.execute(
                "SELECT tokens, granted FROM rate_limits WHERE tenant = 'acme'"
            ).fetchone(),
        )
        assert row is not None and row[1] is True and 3.9 < row[0] <= 4.0
