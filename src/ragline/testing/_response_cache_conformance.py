"""``ResponseCacheConformance``: the shared test suite every ``ResponseCache`` must pass.

Subclass it in a backend's test module and implement ``make_cache`` (a fresh, empty
cache that reads the time from ``clock``)::

    class TestMyResponseCache(ResponseCacheConformance):
        def make_cache(self, clock: Callable[[], float]) -> ResponseCache:
            return MyResponseCache(..., clock=clock)

For fixtures (a temporary folder, a server), override the ``response_cache`` fixture
instead (it may take the ``clock`` fixture), yield the cache and close what it needs.

What :class:`~ragline.models.CachedModel` relies on: a missing or expired key is
``None``; a stored completion comes back equal (text, model, finish reason, tool
calls, usage, cost, latency) and as a new object each time, since ``CachedModel``
marks the hit it returns; a ttl of zero or less stores nothing; an entry expires
``ttl_s`` seconds after it was put; putting a key again replaces its completion and
its expiry. Text that is not valid Unicode may be refused (``CachedModel`` then
answers uncached).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from ragline.errors import RaglineError
from ragline.models._base import Completion, ToolCall, Usage
from ragline.models._cache import ResponseCache, cache_key

T0 = 1_764_000_000.0  # 2025-11-24, a fixed epoch so tests never read the clock


class ManualClock:
    """A clock that moves only when a test says so."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def answer(text: str = "Two years [1].", **fields: object) -> Completion:
    """A finished completion with every field set to something other than its default."""
    completion = Completion(
        text=text,
        model="openai:gpt-4o-mini",
        finish_reason="stop",
        usage=Usage(prompt_tokens=120, completion_tokens=8),
        cost_usd=0.000_123,
        latency_ms=412.5,
    )
    return replace(completion, **fields)  # type: ignore[arg-type]


class ResponseCacheConformance:
    """Behaviour every ``ResponseCache`` must have. Subclasses implement ``make_cache``."""

    def make_cache(self, clock: Callable[[], float]) -> ResponseCache:  # pragma: no cover
        raise NotImplementedError("subclasses return a fresh, empty ResponseCache")

    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock()

    @pytest.fixture
    def response_cache(self, clock: ManualClock) -> Iterator[ResponseCache]:
        yield self.make_cache(clock)

    def test_is_a_response_cache(self, response_cache: ResponseCache) -> None:
        assert isinstance(response_cache, ResponseCache)

    def test_a_missing_key_is_none(self, response_cache: ResponseCache) -> None:
        assert response_cache.get("never-stored") is None
        response_cache.put("stored", answer(), ttl_s=60)
        assert response_cache.get("never-stored") is None
        assert response_cache.get("") is None

    def test_a_completion_comes_back_equal(self, response_cache: ResponseCache) -> None:
        c = answer(
            'Zwei Jahre 🎉 « quoted » "q" \\ nul\x00 end\nline 2',
            finish_reason="length",
            tool_calls=[ToolCall("call_1", "search", {"q": "ü", "k": [1, 2.5, None, True]})],
            usage=Usage(prompt_tokens=3, completion_tokens=4, estimated=True),
            cost_usd=0.5,
            latency_ms=12.25,
        )
        key = cache_key("openai:gpt-4o-mini", [])
        response_cache.put(key, c, ttl_s=60)
        got = response_cache.get(key)
        assert got == c
        assert got is not None and got.tool_calls[0].arguments == {
            "q": "ü",
            "k": [1, 2.5, None, True],
        }
        assert got.cached is False  # CachedModel marks hits itself

    def test_an_unpriced_completion_keeps_no_cost(self, response_cache: ResponseCache) -> None:
        response_cache.put("k", answer(cost_usd=None, text=""), ttl_s=60)
        got = response_cache.get("k")
        assert got is not None and got.cost_usd is None and got.text == ""

    def test_keys_are_exact_and_independent(self, response_cache: ResponseCache) -> None:
        keys = ["a", "A", "a ", " a", "ü", "k" * 64, "x" * 1000]
        for i, key in enumerate(keys):
            response_cache.put(key, answer(f"answer {i}"), ttl_s=60)
        for i, key in enumerate(keys):
            got = response_cache.get(key)
            assert got is not None and got.text == f"answer {i}", key

    def test_every_hit_is_a_new_object(self, response_cache: ResponseCache) -> None:
        mine = answer(tool_calls=[ToolCall("1", "f", {"a": [1]})])
        response_cache.put("k", mine, ttl_s=60)
        mine.text = "changed by the caller after put"
        mine.tool_calls[0].arguments["a"].append(2)
        hit = response_cache.get("k")
        assert hit is not None and hit.text == "Two years [1]."
        hit.cached, hit.cost_usd, hit.latency_ms = True, 0.0, 0.1  # what CachedModel does
        hit.tool_calls.append(ToolCall("2", "g", {}))
        again = response_cache.get("k")
        assert again == answer(tool_calls=[ToolCall("1", "f", {"a": [1]})])

    def test_a_ttl_of_zero_or_less_stores_nothing(
        self, response_cache: ResponseCache, clock: ManualClock
    ) -> None:
        response_cache.put("zero", answer(), ttl_s=0)
        response_cache.put("negative", answer(), ttl_s=-5)
        assert response_cache.get("zero") is None
        assert response_cache.get("negative") is None
        response_cache.put("kept", answer("first"), ttl_s=60)
        response_cache.put("kept", answer("second"), ttl_s=0)  # writes nothing at all
        got = response_cache.get("kept")
        assert got is not None and got.text == "first"

    def test_an_entry_expires_after_its_ttl(
        self, response_cache: ResponseCache, clock: ManualClock
    ) -> None:
        response_cache.put("k", answer(), ttl_s=10)
        response_cache.put("short", answer("short"), ttl_s=0.5)
        clock.advance(0.25)  # steps that binary floats add exactly
        assert response_cache.get("short") is not None
        clock.advance(0.25)
        assert response_cache.get("short") is None  # at exactly its ttl
        clock.advance(9.25)
        assert response_cache.get("k") == answer()
        clock.advance(0.25)
        assert response_cache.get("k") is None  # at exactly its ttl
        clock.advance(1000)
        assert response_cache.get("k") is None

    def test_an_expired_key_can_be_stored_again(
        self, response_cache: ResponseCache, clock: ManualClock
    ) -> None:
        response_cache.put("k", answer("old"), ttl_s=10)
        clock.advance(11)
        assert response_cache.get("k") is None
        response_cache.put("k", answer("new"), ttl_s=10)
        got = response_cache.get("k")
        assert got is not None and got.text == "new"

    def test_putting_a_key_again_replaces_it(
        self, response_cache: ResponseCache, clock: ManualClock
    ) -> None:
        response_cache.put("k", answer("hello"), ttl_s=10)
        response_cache.put("k", answer("hello again", model="other"), ttl_s=10)
        assert response_cache.get("k") == answer("hello again", model="other")

    def test_putting_a_key_again_sets_a_new_expiry(
        self, response_cache: ResponseCache, clock: ManualClock
    ) -> None:
        response_cache.put("longer", answer("first"), ttl_s=10)
        response_cache.put("shorter", answer("first"), ttl_s=100)
        clock.advance(8)
        response_cache.put("longer", answer("second"), ttl_s=10)  # now lives to 18
        response_cache.put("shorter", answer("second"), ttl_s=1)  # now ends at 9
        clock.advance(1)
        assert response_cache.get("shorter") is None
        clock.advance(8.5)  # 17.5
        got = response_cache.get("longer")
        assert got is not None and got.text == "second"
        clock.advance(0.5)
        assert response_cache.get("longer") is None

    def test_invalid_unicode_round_trips_or_is_refused(self, response_cache: ResponseCache) -> None:
        """A lone surrogate (a model's broken emoji): the memory cache keeps it, a table
        cannot encode it and refuses it; a refused put leaves what was stored."""
        response_cache.put("k", answer("kept"), ttl_s=60)
        broken = answer("broken emoji \ud83d")
        try:
            response_cache.put("k", broken, ttl_s=60)
        except (ValueError, RaglineError) as e:
            assert re.search(r"surrogate|not valid Unicode", str(e)), e
            assert response_cache.get("k") == answer("kept")
        else:
            assert response_cache.get("k") == broken

    def test_threads_share_one_cache(self, response_cache: ResponseCache) -> None:
        errors: list[BaseException] = []

        def work(t: int) -> None:
            try:
                for i in range(20):
                    response_cache.put(f"t{t}-{i}", answer(f"{t}/{i}"), ttl_s=60)
                    hit = response_cache.get(f"t{t}-{i}")
                    assert hit is not None and hit.text == f"{t}/{i}"
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert errors == []
        for t in range(4):
            for i in range(20):
                hit = response_cache.get(f"t{t}-{i}")
                assert hit is not None and hit.text == f"{t}/{i}"
