"""Retries, circuit breaker and rate limits, with scripted fakes and a fake clock."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from ragline.errors import ConfigError, ProviderError
from ragline.models._base import Completion, Delta, Message, ToolSpec, Usage
from ragline.models._breaker import CircuitBreakerModel
from ragline.models._ratelimit import RateLimitedModel, TokenBucket, estimate_prompt_tokens
from ragline.models._retry import RetryingModel
from ragline.models._wrap import CircuitOpenError, RateLimitWaitError

# --------------------------------------------------------------------------- fakes


class Err(ProviderError):
    """A provider error with the attributes the wrappers read."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message, provider="fake", status_code=status)
        retryable = status is None or status == 429 or status >= 500 or status == 408
        self.retryable = retryable
        self.retry_after_s = retry_after_s


def http(status: int, retry_after_s: float | None = None) -> Err:
    return Err(f"HTTP {status}", status=status, retry_after_s=retry_after_s)


def timeout() -> Err:
    return Err("read timed out")  # status None: retryable


Step = Completion | BaseException | list[Delta | BaseException]


class Scripted:
    """A model that replays ``script`` (one step per call) and records calls.

    A step is a Completion, an exception to raise, or a list of deltas (and
    exceptions, raised in place) for ``stream``. The last step repeats.
    """

    def __init__(self, name: str, script: Sequence[Step], *, clock: FakeClock | None = None):
        self.name = name
        self.script = list(script)
        self.calls: list[tuple[list[Message], dict[str, Any]]] = []
        self.call_times: list[float] = []
        self.clock = clock

    def _next(self, messages: Sequence[Message], options: dict[str, Any]) -> Step:
        self.calls.append((list(messages), options))
        if self.clock is not None:
            self.call_times.append(self.clock.now)
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    def complete(
        self, messages: Sequence[Message], *, tools: Sequence[ToolSpec] | None = None, **o: Any
    ) -> Completion:
        step = self._next(messages, o)
        if isinstance(step, BaseException):
            raise step
        if isinstance(step, list):
            text = "".join(d.text for d in step if isinstance(d, Delta))
            return Completion(text=text, model=self.name)
        return Completion(
            text=step.text,
            model=step.model,
            finish_reason=step.finish_reason,
            tool_calls=list(step.tool_calls),
            usage=Usage(step.usage.prompt_tokens, step.usage.completion_tokens),
            cost_usd=step.cost_usd,
        )

    def stream(
        self, messages: Sequence[Message], *, tools: Sequence[ToolSpec] | None = None, **o: Any
    ) -> Iterator[Delta]:
        step = self._next(messages, o)
        if isinstance(step, BaseException):
            raise step
        if isinstance(step, Completion):
            step = [Delta(text=step.text), Delta(finish_reason="stop", usage=step.usage)]
        for item in step:
            if isinstance(item, BaseException):
                raise item
            yield item


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def ok(text: str = "hi", model: str = "fake", **kw: Any) -> Completion:
    return Completion(text=text, model=model, **kw)


Q = [Message("user", "what is the answer?")]


def retrying(
    inner: Scripted, clock: FakeClock, *, retries: int = 3, rng: float = 0.5
) -> RetryingModel:
    return RetryingModel(
        inner,
        max_retries=retries,
        backoff_initial_s=1.0,
        backoff_max_s=8.0,
        sleep=clock.sleep,
        rng=lambda: rng,
    )


# --------------------------------------------------------------------------- retries


def test_retry_on_429_honours_retry_after() -> None:
    clock = FakeClock()
    inner = Scripted("m", [http(429, retry_after_s=3.0), ok("done")])
    result = retrying(inner, clock).complete(Q)
    assert result.text == "done"
    assert clock.sleeps == [3.0]
    assert len(inner.calls) == 2


def test_retry_after_longer_than_backoff_max_gives_up_at_once() -> None:
    clock = FakeClock()
    inner = Scripted("m", [http(429, retry_after_s=60.0), ok()])
    with pytest.raises(Err) as info:
        retrying(inner, clock).complete(Q)
    assert clock.sleeps == []
    assert len(inner.calls) == 1
    assert "retry after 60s" in str(info.value)


@pytest.mark.parametrize("error", [http(500), http(502), http(503), http(408), timeout()])
def test_retry_on_5xx_and_timeouts(error: Err) -> None:
    clock = FakeClock()
    inner = Scripted("m", [error, error, ok("done")])
    assert retrying(inner, clock).complete(Q).text == "done"
    # full jitter with rng=0.5: 0.5 * min(8, 1 * 2**n)
    assert clock.sleeps == [0.5, 1.0]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_no_retry_on_other_4xx(status: int) -> None:
    clock = FakeClock()
    inner = Scripted("m", [http(status), ok()])
    with pytest.raises(Err) as info:
        retrying(inner, clock).complete(Q)
    assert len(inner.calls) == 1
    assert clock.sleeps == []
    assert info.value.status_code == status
    assert str(info.value) == f"HTTP {status}"  # not annotated: one attempt


def test_no_retry_on_config_or_other_errors() -> None:
    clock = FakeClock()
    for error in (ConfigError("no key"), ValueError("bug")):
        inner = Scripted("m", [error, ok()])
        with pytest.raises(type(error)):
            retrying(inner, clock).complete(Q)
        assert len(inner.calls) == 1


def test_max_attempts_then_last_error_with_attempt_count() -> None:
    clock = FakeClock()
    inner = Scripted("m", [http(500), http(502), http(503), http(504), ok()])
    with pytest.raises(Err) as info:
        retrying(inner, clock, retries=3).complete(Q)
    assert len(inner.calls) == 4
    assert info.value.status_code == 504
    assert "after 4 attempts" in str(info.value)
    assert info.value.retryable  # the original error, attributes intact
    assert clock.sleeps == [0.5, 1.0, 2.0]


def test_zero_retries_calls_once() -> None:
    clock = FakeClock()
    inner = Scripted("m", [http(500), ok()])
    with pytest.raises(Err) as info:
        retrying(inner, clock, retries=0).complete(Q)
    assert len(inner.calls) == 1
    assert str(info.value) == "HTTP 500"


@pytest.mark.parametrize("r", [0.0, 0.3, 0.999999, 1.0])
def test_jitter_bounds(r: float) -> None:
    model = RetryingModel(
        Scripted("m", [ok()]), backoff_initial_s=0.5, backoff_max_s=5.0, rng=lambda: r
    )
    for retry in range(12):
        cap = min(5.0, 0.5 * 2**retry)
        delay = model.backoff_s(retry)
        assert 0.0 <= delay <= cap
        assert delay == pytest.approx(r * cap)


def test_jitter_with_real_rng_stays_in_bounds() -> None:
    model = RetryingModel(Scripted("m", [ok()]), backoff_initial_s=0.25, backoff_max_s=4.0)
    delays = [model.backoff_s(n) for n in range(10) for _ in range(50)]
    assert all(0 <= d <= 4.0 for d in delays)
    assert len(set(delays)) > 100  # actually jittered


def test_stream_retried_before_first_delta() -> None:
    clock = FakeClock()
    inner = Scripted(
        "m",
        [
            http(503),
            [timeout()],  # fails on the first next(), nothing yielded
            [Delta(text="a"), Delta(text="b"), Delta(finish_reason="stop")],
        ],
    )
    deltas = list(retrying(inner, clock).stream(Q))
    assert "".join(d.text for d in deltas) == "ab"
    assert len(inner.calls) == 3
    assert len(clock.sleeps) == 2


def test_no_retry_mid_stream() -> None:
    clock = FakeClock()
    inner = Scripted("m", [[Delta(text="partial"), http(503)], [Delta(text="whole")]])
    got: list[str] = []
    with pytest.raises(Err):
        for d in retrying(inner, clock).stream(Q):
            got.append(d.text)
    assert got == ["partial"]
    assert len(inner.calls) == 1
    assert clock.sleeps == []


# --------------------------------------------------------------------------- breaker


def breaker(inner: Scripted, clock: FakeClock, failures: int = 3) -> CircuitBreakerModel:
    return CircuitBreakerModel(inner, failures=failures, reset_s=30.0, clock=clock)


def test_breaker_opens_after_consecutive_failures_and_fails_fast() -> None:
    clock = FakeClock()
    inner = Scripted("openai:x", [http(503)])
    model = breaker(inner, clock)
    for _ in range(3):
        with pytest.raises(Err):
            model.complete(Q)
    assert model.state == "open"
    clock.now += 10
    with pytest.raises(CircuitOpenError) as info:
        model.complete(Q)
    assert len(inner.calls) == 3  # not called while open
    assert "circuit open for openai:x" in str(info.value)
    assert "retry in 20s" in str(info.value)
    assert info.value.retry_after_s == pytest.approx(20.0)
    assert not getattr(info.value, "retryable", True)


def test_breaker_success_resets_count() -> None:
    clock = FakeClock()
    inner = Scripted("m", [http(503), http(503), ok(), http(503), http(503), ok()])
    model = breaker(inner, clock)
    for _ in range(2):
        with pytest.raises(Err):
            model.complete(Q)
    model.complete(Q)
    for _ in range(2):
        with pytest.raises(Err):
            model.complete(Q)
    assert model.state == "closed"
    assert model.consecutive_failures == 2


def test_breaker_ignores_non_retryable_errors() -> None:
    clock = FakeClock()
    model = breaker(Scripted("m", [http(400)]), clock)
    for _ in range(5):
        with pytest.raises(Err):
            model.complete(Q)
    assert model.state == "closed"
    assert model.consecutive_failures == 0


def test_breaker_half_open_probe_success_closes() -> None:
    clock = FakeClock()
    inner = Scripted("m", [http(503), http(503), http(503), ok("back")])
    model = breaker(inner, clock)
    for _ in range(3):
        with pytest.raises(Err):
            model.complete(Q)
    clock.now += 30
    assert model.state == "half_open"
    assert model.complete(Q).text == "back"
    assert str(model.state) == "closed"
    assert model.consecutive_failures == 0


def test_breaker_half_open_probe_failure_reopens() -> None:
    clock = FakeClock()
    inner = Scripted("m", [http(503)])
    model = breaker(inner, clock)
    for _ in range(3):
        with pytest.raises(Err):
            model.complete(Q)
    clock.now += 31
    with pytest.raises(Err):
        model.complete(Q)  # the probe reaches the provider and fails
    assert len(inner.calls) == 4
    assert model.state == "open"
    clock.now += 29
    with pytest.raises(CircuitOpenError):
        model.complete(Q)
    assert len(inner.calls) == 4
    clock.now += 1
    assert str(model.state) == "half_open"


def test_breaker_lets_only_one_probe_through() -> None:
    clock = FakeClock()
    model = breaker(Scripted("m", [http(503), http(503), http(503), [Delta(text="p")]]), clock)
    for _ in range(3):
        with pytest.raises(Err):
            model.complete(Q)
    clock.now += 30
    probe = model.stream(Q)
    assert next(probe).text == "p"  # the probe is in flight
    with pytest.raises(CircuitOpenError, match="probe"):
        model.complete(Q)
    assert list(probe) == []
    assert model.state == "closed"


def test_breaker_counts_stream_failures() -> None:
    clock = FakeClock()
    model = breaker(Scripted("m", [[Delta(text="x"), http(502)]]), clock, failures=2)
    for _ in range(2):
        with pytest.raises(Err):
            list(model.stream(Q))
    assert model.state == "open"


def test_breaker_thread_safety_smoke() -> None:
    clock = FakeClock()
    lock = threading.Lock()
    outcomes: list[str] = []

    class Flaky:
        name = "flaky"
        n = 0

        def complete(self, messages: Sequence[Message], **o: Any) -> Completion:
            with lock:
                Flaky.n += 1
                fail = Flaky.n % 2 == 0
            if fail:
                raise http(503)
            return ok()

        def stream(self, messages: Sequence[Message], **o: Any) -> Iterator[Delta]:
            yield Delta(text=self.complete(messages).text)

    model = CircuitBreakerModel(Flaky(), failures=1000, reset_s=5.0, clock=clock)

    def worker() -> None:
        for _ in range(200):
            try:
                model.complete(Q)
                outcome = "ok"
            except CircuitOpenError:
                outcome = "open"
            except Err:
                outcome = "err"
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 1600
    assert Flaky.n == 1600
    assert model.state == "closed"  # never 1000 failures in a row

    # now many threads race for the single half-open probe
    always = CircuitBreakerModel(
        Scripted("m", [http(503), ok()]), failures=1, reset_s=5.0, clock=clock
    )
    with pytest.raises(Err):
        always.complete(Q)
    clock.now += 5
    gate = threading.Event()
    entered: list[int] = []

    class Slow:
        name = "slow"

        def complete(self, messages: Sequence[Message], **o: Any) -> Completion:
            with lock:
                entered.append(1)
            gate.wait(5)
            return ok()

        def stream(self, messages: Sequence[Message], **o: Any) -> Iterator[Delta]:
            yield Delta()

    always.inner = Slow()
    fast_fails: list[int] = []

    def racer() -> None:
        try:
            always.complete(Q)
        except CircuitOpenError:
            with lock:
                fast_fails.append(1)

    racers = [threading.Thread(target=racer) for _ in range(8)]
    for t in racers:
        t.start()
    for _ in range(5000):  # until every racer has entered or failed fast
        if len(entered) + len(fast_fails) >= 8:
            break
        threading.Event().wait(0.001)
    gate.set()
    for t in racers:
        t.join()
    assert len(entered) == 1
    assert len(fast_fails) == 7
    assert always.state == "closed"


def test_breaker_opens_once_under_concurrent_failures() -> None:
    clock = FakeClock()
    inner = Scripted("m", [http(503)])
    model = CircuitBreakerModel(inner, failures=5, reset_s=60.0, clock=clock)

    def worker() -> None:
        for _ in range(50):
            with contextlib.suppress(ProviderError):
                model.complete(Q)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert model.state == "open"
    # 5 failures open it; at most the 7 other threads' calls were already in flight
    assert 5 <= len(inner.calls) <= 12


# --------------------------------------------------------------------------- rate limits


def test_token_bucket_waits() -> None:
    bucket = TokenBucket(60, now=0.0)  # 1 per second
    assert bucket.wait_for(60, 0.0) == 0.0
    bucket.take(60)
    assert bucket.wait_for(1, 0.0) == pytest.approx(1.0)
    assert bucket.wait_for(1, 0.5) == pytest.approx(0.5)
    assert bucket.wait_for(30, 10.0) == pytest.approx(20.0)
    # a request larger than the whole budget waits for a full bucket, then goes
    assert bucket.wait_for(500, 10.0) == pytest.approx(50.0)


def test_requests_per_minute_spaces_calls() -> None:
    clock = FakeClock(0.0)
    inner = Scripted("m", [ok()], clock=clock)
    model = RateLimitedModel(inner, requests_per_minute=2, clock=clock, sleep=clock.sleep)
    for _ in range(4):
        model.complete(Q)
    # a burst of 2, then one every 30 s
    assert inner.call_times == [0.0, 0.0, 30.0, 60.0]
    assert clock.sleeps == [pytest.approx(30.0), pytest.approx(30.0)]


def test_tokens_per_minute_estimate_then_correct_with_usage() -> None:
    clock = FakeClock(0.0)
    msg = [Message("user", "x" * 400)]  # estimated 100 tokens
    assert estimate_prompt_tokens(msg) == 100
    inner = Scripted("m", [ok(usage=Usage(100, 500))], clock=clock)
    model = RateLimitedModel(inner, tokens_per_minute=600, clock=clock, sleep=clock.sleep)
    model.complete(msg)  # reserved 100, corrected to 600 → bucket empty
    assert model.tokens is not None
    assert model.tokens.level == pytest.approx(0.0)
    model.complete(msg)  # needs 100 tokens at 10 per second
    assert clock.sleeps == [pytest.approx(10.0)]
    assert inner.call_times == [0.0, pytest.approx(10.0)]


def test_usage_smaller_than_estimate_is_refunded() -> None:
    clock = FakeClock(0.0)
    msg = [Message("user", "x" * 2400)]  # estimated 600
    inner = Scripted("m", [ok(usage=Usage(10, 10))], clock=clock)
    model = RateLimitedModel(inner, tokens_per_minute=600, clock=clock, sleep=clock.sleep)
    model.complete(msg)
    assert model.tokens is not None
    assert model.tokens.level == pytest.approx(580.0)


def test_request_larger_than_budget_goes_then_later_calls_pay_the_debt() -> None:
    clock = FakeClock(0.0)
    big = [Message("user", "x" * 4000)]  # 1000 tokens > 600/min
    inner = Scripted("m", [ok()], clock=clock)  # no usage: the estimate stands
    model = RateLimitedModel(inner, tokens_per_minute=600, clock=clock, sleep=clock.sleep)
    model.complete(big)  # full bucket: goes at once, bucket at -400
    assert clock.sleeps == []
    model.complete([Message("user", "xxxx")])  # 1 token: waits for the 401 owed
    assert clock.sleeps == [pytest.approx(40.1)]


def test_rate_limit_wait_is_bounded() -> None:
    clock = FakeClock(0.0)
    inner = Scripted("m", [ok()], clock=clock)
    model = RateLimitedModel(
        inner, requests_per_minute=1, max_wait_s=30.0, clock=clock, sleep=clock.sleep
    )
    model.complete(Q)
    with pytest.raises(RateLimitWaitError) as info:
        model.complete(Q)
    assert info.value.retry_after_s == pytest.approx(60.0)
    assert "would wait 60s" in str(info.value)
    assert len(inner.calls) == 1
    clock.now += 60  # nothing was reserved by the refused call
    model.complete(Q)
    assert clock.sleeps == []


def test_rate_limited_stream_settles_usage() -> None:
    clock = FakeClock(0.0)
    msg = [Message("user", "x" * 40)]  # 10 tokens
    inner = Scripted(
        "m", [[Delta(text="a"), Delta(finish_reason="stop", usage=Usage(10, 290))]], clock=clock
    )
    model = RateLimitedModel(inner, tokens_per_minute=600, clock=clock, sleep=clock.sleep)
    assert [d.text for d in model.stream(msg)] == ["a", ""]
    assert model.tokens is not None
    assert model.tokens.level == pytest.approx(300.0)


def test_no_limits_means_no_waits() -> None:
    clock = FakeClock(0.0)
    model = RateLimitedModel(Scripted("m", [ok()]), clock=clock, sleep=clock.sleep)
    for _ in range(100):
        model.complete(Q)
    assert clock.sleeps == []


def test_concurrent_callers_queue_up_fairly() -> None:
    clock = FakeClock(0.0)
    waits: list[float] = []
    lock = threading.Lock()

    def record(seconds: float) -> None:  # threads: record, do not advance the clock
        with lock:
            waits.append(seconds)

    model = RateLimitedModel(
        Scripted("m", [ok()]), requests_per_minute=6, clock=clock, sleep=record
    )
    threads = [threading.Thread(target=model.complete, args=(Q,)) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # a burst of 6, then one every 10 s — whatever order the threads ran in
    assert sorted(waits) == [pytest.approx(s) for s in (10.0, 20.0, 30.0, 40.0)]


def test_attempt_count_not_repeated_when_an_error_is_reraised() -> None:
    clock = FakeClock()
    same = http(500)
    model = retrying(Scripted("m", [same]), clock, retries=1)
    for _ in range(2):
        with pytest.raises(Err) as info:
            model.complete(Q)
    assert str(info.value) == "HTTP 500 (after 2 attempts)"
    assert getattr(info.value, "attempts", None) == 2
