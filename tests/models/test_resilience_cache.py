"""Fallback chains, the response cache, ``wrap_model`` and usage totals."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ragline.config import ModelSettings, Settings
from ragline.errors import ConfigError, ProviderError, StoreError
from ragline.models._base import Completion, Delta, Message, Model, ToolCall, ToolSpec, Usage
from ragline.models._breaker import CircuitBreakerModel
from ragline.models._cache import (
    CachedModel,
    MemoryResponseCache,
    ResponseCache,
    cache_key,
    completion_from_json,
    completion_to_json,
)
from ragline.models._fallback import FallbackModel
from ragline.models._ratelimit import RateLimitedModel
from ragline.models._resilience import UnavailableModel, build_model, unwrap, wrap_model
from ragline.models._retry import RetryingModel
from ragline.models._usage import CostTracker, UsageTotals
from ragline.models._wrap import CircuitOpenError, FallbackError
from ragline.store import SQLiteStore
from ragline.store.sqlite import SQLiteResponseCache as StoreResponseCache
from ragline.testing import ResponseCacheConformance

from .test_resilience import FakeClock, Q, Scripted, http, ok

# --------------------------------------------------------------------------- fallback


def test_fallback_order_and_answering_model() -> None:
    first = Scripted("openai:gpt-4o-mini", [http(503)])
    second = Scripted("anthropic:claude", [http(401)])
    third = Scripted("local", [ok("from local", model="local")])
    skipped: list[str] = []
    chain = FallbackModel(
        [first, second, third], on_fallback=lambda name, err: skipped.append(name)
    )
    result = chain.complete(Q)
    assert result.text == "from local"
    assert result.model == "local"
    assert skipped == ["openai:gpt-4o-mini", "anthropic:claude"]
    assert [len(m.calls) for m in (first, second, third)] == [1, 1, 1]
    assert chain.name == "fallback(openai:gpt-4o-mini, anthropic:claude, local)"


def test_fallback_stops_at_first_success() -> None:
    first = Scripted("a", [ok("A", model="a")])
    second = Scripted("b", [ok("B", model="b")])
    assert FallbackModel([first, second]).complete(Q).model == "a"
    assert second.calls == []


def test_fallback_fills_empty_model_name() -> None:
    chain = FallbackModel([Scripted("a", [http(500)]), Scripted("b", [ok(model="")])])
    assert chain.complete(Q).model == "b"


def test_fallback_on_config_error_but_not_on_bugs() -> None:
    chain = FallbackModel([Scripted("a", [ConfigError("no key")]), Scripted("b", [ok(model="b")])])
    assert chain.complete(Q).model == "b"
    buggy = FallbackModel([Scripted("a", [ValueError("bug")]), Scripted("b", [ok()])])
    with pytest.raises(ValueError):
        buggy.complete(Q)


def test_fallback_all_fail() -> None:
    chain = FallbackModel([Scripted("a", [http(503)]), Scripted("b", [http(400)])])
    with pytest.raises(FallbackError) as info:
        chain.complete(Q)
    err = info.value
    assert [name for name, _ in err.errors] == ["a", "b"]
    assert "a: HTTP 503" in str(err)
    assert "b: HTTP 400" in str(err)
    assert err.retryable  # the 503 might pass later
    assert isinstance(err, ProviderError)


def test_fallback_stream_before_first_delta_only() -> None:
    chain = FallbackModel(
        [
            Scripted("a", [[http(503)]]),
            Scripted("b", [[Delta(text="B"), Delta(finish_reason="stop")]]),
        ]
    )
    assert "".join(d.text for d in chain.stream(Q)) == "B"

    mid = FallbackModel(
        [Scripted("a", [[Delta(text="par"), http(503)]]), Scripted("b", [[Delta(text="B")]])]
    )
    got: list[str] = []
    with pytest.raises(ProviderError):
        for d in mid.stream(Q):
            got.append(d.text)
    assert got == ["par"]


def test_fallback_skips_open_circuit_at_once() -> None:
    clock = FakeClock()
    primary = Scripted("a", [http(503)])
    guarded = CircuitBreakerModel(primary, failures=1, reset_s=60, clock=clock)
    chain = FallbackModel([guarded, Scripted("b", [ok(model="b")])])
    assert chain.complete(Q).model == "b"  # primary failed, circuit opens
    errors: list[BaseException] = []
    chain = FallbackModel(
        [guarded, Scripted("b", [ok(model="b")])], on_fallback=lambda n, e: errors.append(e)
    )
    assert chain.complete(Q).model == "b"
    assert isinstance(errors[0], CircuitOpenError)
    assert len(primary.calls) == 1


def test_empty_chain_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        FallbackModel([])


# --------------------------------------------------------------------------- cache


def test_cache_key_is_canonical_and_covers_everything() -> None:
    tools = [ToolSpec("search", "find", {"type": "object"})]
    base = cache_key("m", Q, tools, {"temperature": 0.0, "max_tokens": 5})
    assert base == cache_key("m", Q, tools, {"max_tokens": 5, "temperature": 0.0})
    assert len(base) == 64
    assert base != cache_key("other", Q, tools, {"temperature": 0.0, "max_tokens": 5})
    assert base != cache_key(
        "m", [Message("user", "else")], tools, {"temperature": 0.0, "max_tokens": 5}
    )
    assert base != cache_key("m", Q, None, {"temperature": 0.0, "max_tokens": 5})
    assert base != cache_key("m", Q, tools, {"temperature": 0.5, "max_tokens": 5})


def test_completion_json_round_trip() -> None:
    c = Completion(
        text="t",
        model="m",
        finish_reason="length",
        tool_calls=[ToolCall("1", "f", {"a": [1, 2]})],
        usage=Usage(3, 4, estimated=True),
        cost_usd=0.5,
        latency_ms=12.0,
    )
    assert completion_from_json(completion_to_json(c)) == c


def test_memory_cache_hit_miss_and_ttl() -> None:
    clock = FakeClock()
    inner = Scripted("m", [ok("one", usage=Usage(5, 7), cost_usd=0.01), ok("two")])
    model = CachedModel(inner, MemoryResponseCache(clock=clock), ttl_s=60)
    first = model.complete(Q)
    assert (first.text, first.cached) == ("one", False)
    hit = model.complete(Q)
    assert (hit.text, hit.cached, hit.cost_usd) == ("one", True, 0.0)
    assert hit.usage.total_tokens == 12
    assert hit.latency_ms >= 0
    assert len(inner.calls) == 1
    assert model.complete(Q, temperature=0.7).text == "two"  # other options: miss
    clock.now += 61
    assert model.complete(Q).cached is False  # expired
    assert len(inner.calls) == 3


def test_cache_only_stores_finished_answers() -> None:
    clock = FakeClock()
    calls = [ToolCall("1", "search", {"q": "x"})]
    for reason in ("tool_calls", "content_filter", "error"):
        inner = Scripted("m", [ok(finish_reason=reason, tool_calls=calls)])
        model = CachedModel(inner, MemoryResponseCache(clock=clock), ttl_s=60)
        model.complete(Q)
        model.complete(Q)
        assert len(inner.calls) == 2, reason
    inner = Scripted("m", [ok(finish_reason="length")])
    model = CachedModel(inner, MemoryResponseCache(clock=clock), ttl_s=60)
    model.complete(Q)
    assert model.complete(Q).cached


def test_cache_never_stores_errors() -> None:
    inner = Scripted("m", [http(503), ok("fine")])
    model = CachedModel(inner, MemoryResponseCache(), ttl_s=60)
    with pytest.raises(ProviderError):
        model.complete(Q)
    assert model.complete(Q).text == "fine"


def test_zero_ttl_disables_cache() -> None:
    inner = Scripted("m", [ok()])
    model = CachedModel(inner, MemoryResponseCache(), ttl_s=0)
    model.complete(Q)
    model.complete(Q)
    assert len(inner.calls) == 2


def test_stream_miss_stores_and_hit_replays_as_one_delta() -> None:
    inner = Scripted(
        "m",
        [[Delta(text="Hel"), Delta(text="lo"), Delta(finish_reason="stop", usage=Usage(3, 2))]],
    )
    model = CachedModel(inner, MemoryResponseCache(), ttl_s=60)
    assert [d.text for d in model.stream(Q)] == ["Hel", "lo", ""]
    replay = list(model.stream(Q))
    assert [d.text for d in replay] == ["Hello", ""]
    assert replay[-1].finish_reason == "stop"
    assert replay[-1].usage == Usage(3, 2)
    assert len(inner.calls) == 1
    assert model.complete(Q).text == "Hello"  # complete and stream share entries


def test_abandoned_or_failed_stream_is_not_cached() -> None:
    inner = Scripted("m", [[Delta(text="a"), Delta(text="b"), Delta(finish_reason="stop")]])
    model = CachedModel(inner, MemoryResponseCache(), ttl_s=60)
    stream = model.stream(Q)
    next(stream)
    getattr(stream, "close")()  # noqa: B009 — the consumer abandons the stream
    failing = Scripted("f", [[Delta(text="a"), http(502)]])
    model2 = CachedModel(failing, MemoryResponseCache(), ttl_s=60)
    with pytest.raises(ProviderError):
        list(model2.stream(Q))
    model.complete(Q)
    assert len(inner.calls) == 2


class TestMemoryResponseCache(ResponseCacheConformance):
    def make_cache(self, clock: Callable[[], float]) -> ResponseCache:
        return MemoryResponseCache(clock=clock)


def test_memory_cache_lru_bound() -> None:
    cache = MemoryResponseCache(max_entries=2)
    for key in "abc":
        cache.put(key, ok(key), ttl_s=60)
    assert len(cache) == 2
    assert cache.get("a") is None
    assert cache.get("c") is not None


def test_cache_errors_do_not_fail_the_call(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "c.db")
    inner = Scripted("m", [ok("live")])
    model = CachedModel(inner, StoreResponseCache(store), ttl_s=60)
    store.close()
    with pytest.raises(StoreError):
        StoreResponseCache(store).get("x")
    assert model.complete(Q).text == "live"


def test_an_answer_the_cache_cannot_store_is_still_returned(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A lone surrogate (a broken emoji from the provider) cannot be encoded for a
    table: the answer is returned, uncached, and the failure logged."""
    text = "broken emoji \ud83d"
    store = SQLiteStore(":memory:")
    inner = Scripted("m", [ok(text), ok(text), [Delta(text=text), Delta(finish_reason="stop")]])
    model = CachedModel(inner, StoreResponseCache(store), ttl_s=60)
    with caplog.at_level("WARNING", logger="ragline.models"):
        assert model.complete(Q).text == text
        assert model.complete(Q).cached is False  # nothing was stored
        assert "".join(d.text for d in model.stream(Q)) == text
    assert len(inner.calls) == 3
    assert "response cache write failed" in caplog.text
    store.close()


# --------------------------------------------------------------------------- wrap_model


def test_wrap_model_order() -> None:
    settings = ModelSettings(requests_per_minute=10, cache_ttl_s=60)
    inner = Scripted("m", [ok()])
    model = wrap_model(inner, settings, cache=MemoryResponseCache())
    layers = []
    node: object = model
    while hasattr(node, "inner"):
        layers.append(type(node))
        node = node.inner
    assert layers == [CachedModel, CircuitBreakerModel, RetryingModel, RateLimitedModel]
    assert node is inner
    assert unwrap(model) is inner
    assert model.name == "m"


def test_wrap_model_defaults_skip_cache_and_rate_limit() -> None:
    model = wrap_model(Scripted("m", [ok()]), ModelSettings(), cache=MemoryResponseCache())
    assert isinstance(model, CircuitBreakerModel)
    assert isinstance(model.inner, RetryingModel)
    assert isinstance(model.inner.inner, Scripted)
    no_retries = wrap_model(Scripted("m", [ok()]), ModelSettings(max_retries=0))
    assert isinstance(no_retries, CircuitBreakerModel)
    assert isinstance(no_retries.inner, Scripted)


def test_wrapped_model_end_to_end() -> None:
    clock = FakeClock(0.0)
    settings = ModelSettings(
        max_retries=2,
        backoff_initial_s=1,
        backoff_max_s=10,
        circuit_failures=2,
        circuit_reset_s=30,
        requests_per_minute=60,
        cache_ttl_s=100,
    )
    inner = Scripted("m", [http(429, retry_after_s=2), ok("answer")], clock=clock)
    model = wrap_model(
        inner,
        settings,
        cache=MemoryResponseCache(clock=clock),
        clock=clock,
        sleep=clock.sleep,
        rng=lambda: 0.5,
    )
    assert model.complete(Q).text == "answer"
    assert clock.sleeps == [2.0]  # Retry-After (the rate limit had budget left)
    assert model.complete(Q).cached
    assert len(inner.calls) == 2

    down = Scripted("d", [http(503)], clock=clock)
    model = wrap_model(down, settings, clock=clock, sleep=clock.sleep, rng=lambda: 0.5)
    for _ in range(2):
        with pytest.raises(ProviderError, match="after 3 attempts"):
            model.complete(Q)
    with pytest.raises(CircuitOpenError):
        model.complete(Q)
    assert len(down.calls) == 6  # 2 calls × 3 attempts, then the circuit is open


# --------------------------------------------------------------------------- usage


def test_usage_totals_sum_calls() -> None:
    totals = UsageTotals()
    totals.add(ok(model="a", usage=Usage(10, 5), cost_usd=0.25, latency_ms=100.0))
    totals.add(ok(model="b", usage=Usage(3, 2, estimated=True), cost_usd=None))
    totals.add(ok(model="a", usage=Usage(10, 5), cost_usd=0.0, cached=True))
    assert (totals.calls, totals.cached_calls, totals.unpriced_calls) == (3, 1, 1)
    assert (totals.prompt_tokens, totals.completion_tokens, totals.total_tokens) == (13, 7, 20)
    assert totals.cost_usd == pytest.approx(0.25)
    assert totals.estimated
    assert not totals.cost_known
    assert totals.models == ["a", "b"]
    assert totals.latency_ms == pytest.approx(100.0)


def test_cost_tracker_tracks_complete_and_stream() -> None:
    tracker = CostTracker()
    model = tracker.track(
        Scripted(
            "m",
            [
                ok(usage=Usage(100, 50), cost_usd=0.001),
                [Delta(text="x"), Delta(finish_reason="stop", usage=Usage(1_000_000, 0))],
            ],
        ),
        price=lambda u: u.prompt_tokens / 1_000_000 * 0.15,
    )
    model.complete(Q)
    snapshot = tracker.totals
    list(model.stream(Q))
    totals = tracker.totals
    assert snapshot.calls == 1  # a snapshot does not move
    assert totals.calls == 2
    assert totals.prompt_tokens == 1_000_100
    assert totals.cost_usd == pytest.approx(0.151)
    assert totals.cost_known
    tracker.reset()
    assert tracker.totals == UsageTotals()


def test_retries_pay_the_rate_limit() -> None:
    clock = FakeClock(0.0)
    settings = ModelSettings(
        max_retries=1, backoff_initial_s=1, backoff_max_s=10, requests_per_minute=1
    )
    inner = Scripted("m", [http(503), ok("second try")], clock=clock)
    model = wrap_model(inner, settings, clock=clock, sleep=clock.sleep, rng=lambda: 0.5)
    assert model.complete(Q).text == "second try"
    # backoff 0.5 s, then the retry waits for the next request slot (60 s after the first)
    assert clock.sleeps == [pytest.approx(0.5), pytest.approx(59.5)]
    assert inner.call_times == [0.0, pytest.approx(60.0)]


# --------------------------------------------------------------------------- build_model


def _maker(available: dict[str, Scripted]) -> Callable[[str, Settings], Model]:
    def make(spec: str, settings: Settings) -> Model:
        if spec not in available:
            raise ConfigError(
                f"no API key for {spec}: the environment variable X_KEY is not set",
                hint="export X_KEY",
            )
        return available[spec]

    return make


def test_build_model_single_spec() -> None:
    local = Scripted("local", [ok(model="local")])
    model = build_model("local", Settings(), make=_maker({"local": local}))
    assert isinstance(model, CircuitBreakerModel)
    assert unwrap(model) is local
    with pytest.raises(ConfigError, match="X_KEY"):
        build_model("openai:gpt-4o-mini", Settings(), make=_maker({}))


def test_build_model_chain_skips_members_that_cannot_be_built() -> None:
    local = Scripted("local", [ok("offline answer", model="local")])
    settings = Settings(models={"local": ModelSettings(max_retries=0)})
    chain = build_model(["openai:gpt-4o-mini", "local"], settings, make=_maker({"local": local}))
    assert isinstance(chain, FallbackModel)
    assert isinstance(chain.models[0], UnavailableModel)
    assert isinstance(chain.models[1], CircuitBreakerModel)  # max_retries=0: no retry layer
    assert isinstance(chain.models[1].inner, Scripted)
    result = chain.complete(Q)
    assert (result.text, result.model) == ("offline answer", "local")
    assert "".join(d.text for d in chain.stream(Q)) == "offline answer"
    with pytest.raises(ConfigError, match="X_KEY"):
        build_model(["openai:a", "anthropic:b"], settings, make=_maker({}))
    with pytest.raises(ConfigError, match="empty"):
        build_model([], settings, make=_maker({}))


def test_build_model_uses_the_cache_per_member() -> None:
    first = Scripted("a", [ok("A", model="a")])
    settings = Settings(models={"a": ModelSettings(cache_ttl_s=60)})
    cache = MemoryResponseCache()
    chain = build_model(["a", "b"], settings, make=_maker({"a": first}), cache=cache)
    assert chain.complete(Q).cached is False
    assert chain.complete(Q).cached is True
    assert len(first.calls) == 1
