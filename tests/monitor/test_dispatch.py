"""Delivery: a slow, failing or dead receiver never blocks the caller; retries, give-ups
and drops are counted per notifier. Every receiver here is a real HTTP server on
loopback (tests/monitor/_receiver.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ragline.errors import NotifyError
from ragline.monitor import DeliveryPolicy, Dispatcher, Notification, WebhookNotifier

from ._receiver import Receiver, refused_url

FAST = DeliveryPolicy(retries=2, backoff_initial_s=0.0, backoff_max_s=0.0, queue_size=10)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _n(rule: str = "p95-latency", state: str = "firing") -> Notification:
    return Notification(
        rule=rule,
        state=state,  # type: ignore[arg-type]
        severity="critical",
        labels={"tenant": "acme"},
        value=2.4,
        threshold=1.0,
        window=300,
        started_at=1_780_000_000.0,
        summary="latency p95 2.4 > 1.0 over 5m",
        fingerprint=f"fp-{rule}",
    )


def _hook(name: str, url: str, timeout_s: float = 5.0) -> WebhookNotifier:
    return WebhookNotifier(name, url, timeout_s=timeout_s)


def test_a_500_then_200_is_retried_and_counted_sent(receiver: Receiver) -> None:
    d = Dispatcher([_hook("flaky", f"{receiver.url}/flaky/a")], policies={"flaky": FAST})
    assert d.submit(_n()) is True
    assert d.flush(10)
    s = d.stats()["flaky"]
    assert (s.sent, s.retried, s.failed, s.dropped) == (1, 1, 0, 0)
    assert "HTTP 500" in (s.last_error or "")
    bodies = [r.body for r in receiver.to("/flaky/a")]
    assert len(bodies) == 2 and bodies[0] == bodies[1]  # the same notification twice
    d.close()


def test_a_refused_connection_is_retried_then_counted_failed() -> None:
    d = Dispatcher([_hook("dead", refused_url())], policies={"dead": FAST})
    d.submit(_n())
    assert d.flush(10)
    s = d.stats()["dead"]
    assert (s.sent, s.retried, s.failed) == (0, 2, 1)
    assert "could not connect" in (s.last_error or "")
    assert "notifier 'dead'" in (s.last_error or "")
    d.close()


def test_a_4xx_is_not_retried(receiver: Receiver) -> None:
    d = Dispatcher([_hook("gone", f"{receiver.url}/status/404/x")], policies={"gone": FAST})
    d.submit(_n())
    assert d.flush(10)
    s = d.stats()["gone"]
    assert (s.sent, s.retried, s.failed) == (0, 0, 1)
    assert len(receiver.to("/status/404/x")) == 1
    err = d.send_now(_n(), to=["gone"])["gone"]
    assert isinstance(err, NotifyError) and err.status_code == 404 and not err.retryable
    d.close()


def test_a_receiver_slower_than_the_timeout_never_holds_the_caller_or_the_others(
    receiver: Receiver,
) -> None:
    receiver.hold()
    try:
        d = Dispatcher(
            [_hook("slow", f"{receiver.url}/hang/1", 0.3), _hook("fine", f"{receiver.url}/ok/1")],
            policies={"slow": DeliveryPolicy(retries=0), "fine": FAST},
        )
        assert d.submit(_n()) is True  # returned although the slow receiver holds on
        assert receiver.hanging.wait(10)
        assert d.flush(10)  # the slow one timed out (0.3 s) while still held
        assert len(receiver.to("/ok/1")) == 1
        slow = d.stats()["slow"]
        assert (slow.sent, slow.failed) == (0, 1)
        assert "no answer within 0.3s" in (slow.last_error or "")
        assert d.stats()["fine"].sent == 1
        d.close()
    finally:
        receiver.release()


def test_a_full_queue_drops_and_counts_without_waiting(receiver: Receiver) -> None:
    receiver.hold()
    try:
        d = Dispatcher(
            [_hook("stuck", f"{receiver.url}/hang/2", 30)],
            policies={"stuck": DeliveryPolicy(retries=0, queue_size=1)},
        )
        assert d.submit(_n("a")) is True
        assert receiver.hanging.wait(10)  # the first one is in flight, held
        assert d.submit(_n("b")) is True  # queued (the queue holds one)
        assert d.submit(_n("c")) is False  # full: dropped, at once
        s = d.stats()["stuck"]
        assert (s.dropped, s.pending) == (1, 2)
        assert "queue full" in (s.last_error or "")
    finally:
        receiver.release()
    assert d.flush(10)
    s = d.stats()["stuck"]
    assert (s.sent, s.dropped, s.pending) == (2, 1, 0)
    assert [r.body["rule"] for r in receiver.to("/hang/2")] == ["a", "b"]
    d.close()


def test_close_delivers_what_is_queued_and_counts_the_rest_dropped(receiver: Receiver) -> None:
    receiver.hold()
    try:
        d = Dispatcher(
            [_hook("held", f"{receiver.url}/hang/3", 30)],
            policies={"held": DeliveryPolicy(retries=0, queue_size=5)},
        )
        for rule in ("a", "b", "c"):
            d.submit(_n(rule))
        assert receiver.hanging.wait(10)
        assert d.close(timeout_s=0.2) is False  # still held: two never left the queue
        assert d.stats()["held"].dropped == 2
        assert d.submit(_n("late")) is False  # closed: refused, counted
        assert d.stats()["held"].dropped == 3
    finally:
        receiver.release()


def test_outcomes_reach_the_metrics_hook(receiver: Receiver) -> None:
    seen: list[tuple[str, str]] = []
    d = Dispatcher(
        [_hook("flaky", f"{receiver.url}/flaky/hook")],
        policies={"flaky": FAST},
        on_outcome=lambda name, outcome: seen.append((name, outcome)),
    )
    d.submit(_n())
    assert d.flush(10)
    assert seen == [("flaky", "retried"), ("flaky", "sent")]
    d.close()


def test_a_notifier_that_raises_anything_is_counted_not_crashed() -> None:
    class Broken:
        name = "broken"

        def send(self, n: Notification) -> None:
            raise RuntimeError("bug in a custom notifier")

    d = Dispatcher([Broken()], policies={"broken": FAST})
    err = d.send_now(_n())["broken"]
    assert isinstance(err, NotifyError) and "bug in a custom notifier" in str(err)
    assert d.stats()["broken"].failed == 1 and d.stats()["broken"].retried == 2


def test_submit_to_names_only_those_notifiers(receiver: Receiver) -> None:
    d = Dispatcher(
        [_hook("one", f"{receiver.url}/ok/one"), _hook("two", f"{receiver.url}/ok/two")],
        policies={"one": FAST, "two": FAST},
    )
    d.submit(_n(), to=["two", "nonexistent"])
    assert d.flush(10)
    assert receiver.to("/ok/one") == [] and len(receiver.to("/ok/two")) == 1
    d.close()


def test_two_notifiers_may_not_share_a_name(receiver: Receiver) -> None:
    with pytest.raises(ValueError, match="two notifiers named 'x'"):
        Dispatcher([_hook("x", receiver.url), _hook("x", receiver.url)])


@pytest.mark.parametrize(
    ("attempt", "jitter", "expected"),
    [(0, 0.0, 0.25), (0, 0.999999, 0.5), (2, 0.0, 1.0), (2, 0.999999, 2.0), (10, 0.999999, 3.0)],
)
def test_backoff_doubles_with_jitter_up_to_the_cap(
    attempt: int, jitter: float, expected: float
) -> None:
    policy = DeliveryPolicy(backoff_initial_s=0.5, backoff_max_s=3.0)
    assert policy.delay(attempt, jitter) == pytest.approx(expected, rel=1e-5)
