"""``RateLimitsConformance``: the shared suite every ``RateLimits`` passes.

Subclass it in a backend's test module and implement ``make_limits`` (buckets on the
backend under test; for a shared backend, two calls must give two handles on the same
buckets, as two replicas have)::

    class TestMyRateLimits(RateLimitsConformance):
        def make_limits(self) -> RateLimits:
            return MyRateLimits(...)

Each test uses tenant names of its own, so a backend that keeps buckets between tests
(a database) needs no clean-up. The refill test sleeps about a second (the backend's
clock may be a database server's, which a test cannot move).
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from ragline.errors import InputError
from ragline.store._limits import RateLimits


def _tenant() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


class RateLimitsConformance:
    """Behaviour every ``RateLimits`` must have. Subclasses implement ``make_limits``."""

    def make_limits(self) -> RateLimits:  # pragma: no cover
        raise NotImplementedError("subclasses return RateLimits on the backend under test")

    def test_is_rate_limits(self) -> None:
        assert isinstance(self.make_limits(), RateLimits)

    def test_grants_a_burst_of_per_minute_then_says_how_long_to_wait(self) -> None:
        limits, tenant = self.make_limits(), _tenant()
        assert [limits.take(tenant, "requests", 3) for _ in range(3)] == [0.0, 0.0, 0.0]
        wait = limits.take(tenant, "requests", 3)
        assert 0 < wait <= 20.0  # one token comes back every 20 s at 3 per minute

    def test_tenants_and_names_have_buckets_of_their_own(self) -> None:
        limits, a, b = self.make_limits(), _tenant(), _tenant()
        assert limits.take(a, "requests", 1) == 0.0
        assert limits.take(a, "requests", 1) > 0
        assert limits.take(b, "requests", 1) == 0.0
        assert limits.take(a, "uploads", 1) == 0.0

    def test_a_refused_take_takes_nothing_and_tokens_come_back(self) -> None:
        limits, tenant = self.make_limits(), _tenant()
        while limits.take(tenant, "requests", 60) == 0.0:  # empty it (60: one a second)
            pass
        wait = limits.take(tenant, "requests", 60)
        assert 0 < wait <= 1.0
        time.sleep(wait + 0.2)
        assert limits.take(tenant, "requests", 60) == 0.0

    def test_concurrent_takes_grant_exactly_the_burst(self) -> None:
        limits, tenant = self.make_limits(), _tenant()
        granted: list[float] = []
        lock = threading.Lock()

        def worker() -> None:
            for _ in range(10):
                wait = limits.take(tenant, "requests", 20)
                with lock:
                    granted.append(wait)

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # 20 per minute refill one token every 3 s: the burst, or one more at most
        assert 20 <= granted.count(0.0) <= 21

    def test_shared_handles_draw_from_one_bucket(self) -> None:
        first = self.make_limits()
        if not first.shared:
            pytest.skip("buckets of one process: each handle counts alone")
        second, tenant = self.make_limits(), _tenant()
        assert first.take(tenant, "requests", 2) == 0.0
        assert second.take(tenant, "requests", 2) == 0.0
        assert first.take(tenant, "requests", 2) > 0
        assert second.take(tenant, "requests", 2) > 0

    @pytest.mark.parametrize("per_minute", [0, -5])
    def test_a_limit_below_one_is_refused_and_changes_nothing(self, per_minute: int) -> None:
        limits, tenant = self.make_limits(), _tenant()
        with pytest.raises(InputError, match="at least 1 request per minute") as e:
            limits.take(tenant, "requests", per_minute)
        assert "rate_limit_per_minute" in (e.value.hint or "")
        assert limits.take(tenant, "requests", 1) == 0.0  # the bucket is untouched


__all__ = ["RateLimitsConformance"]
