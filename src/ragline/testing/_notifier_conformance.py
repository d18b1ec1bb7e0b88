"""``NotifierConformance``: the shared test suite every ``Notifier`` must pass.

Subclass it next to a real receiver and provide three fixtures::

    class TestMyNotifier(NotifierConformance):
        @pytest.fixture
        def notifier(self, receiver) -> Notifier:         # delivers to a live receiver
            return MyNotifier("mine", receiver.url)

        @pytest.fixture
        def deliveries(self, receiver) -> Callable[[], int]:
            return lambda: len(receiver.messages)          # what that receiver got so far

        @pytest.fixture
        def broken_notifier(self) -> Notifier:            # its receiver is down
            return MyNotifier("mine", "http://127.0.0.1:9/")

The contract: ``send`` delivers one notification per call (firing and resolved, with
no data, long or non-ASCII text, from several threads at once), and a delivery that
fails raises :class:`~ragline.errors.NotifyError` naming the notifier — never another
exception type, so the dispatcher can count and retry it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from ragline.errors import NotifyError
from ragline.monitor._notification import Notification, NotificationState, Notifier


def sample_notification(
    state: NotificationState = "firing", *, rule: str = "p95-latency", **changes: object
) -> Notification:
    """A realistic notification (``changes`` replace fields)."""
    fields: dict[str, object] = {
        "rule": rule,
        "state": state,
        "severity": "critical",
        "labels": {"tenant": "acme", "route": "/v1/ask"},
        "value": 2.41,
        "threshold": 1.5,
        "window": 300.0,
        "started_at": 1_780_000_000.0,
        "resolved_at": 1_780_000_900.0 if state == "resolved" else None,
        "summary": f"{rule}: latency p95 2.41 s > 1.5 s over 5m (tenant acme)",
        "fingerprint": f"{rule}/tenant=acme",
        "link": "http://127.0.0.1:8000/ui/alerts/p95-latency",
        "trace_ids": ("3f2a9c", "77b0e1"),
        "metric": "latency p95",
        "condition": "> 1.5",
    }
    fields.update(changes)
    return Notification(**fields)  # type: ignore[arg-type]


class NotifierConformance:
    """Contract tests for :class:`ragline.monitor.Notifier` implementations."""

    @pytest.fixture
    def notifier(self) -> Notifier:
        raise NotImplementedError("subclasses provide a `notifier` fixture")

    @pytest.fixture
    def deliveries(self) -> Callable[[], int]:
        raise NotImplementedError("subclasses provide a `deliveries` fixture")

    @pytest.fixture
    def broken_notifier(self) -> Notifier:
        raise NotImplementedError("subclasses provide a `broken_notifier` fixture")

    def test_satisfies_protocol(self, notifier: Notifier) -> None:
        assert isinstance(notifier, Notifier)
        assert isinstance(notifier.name, str) and notifier.name

    def test_firing_then_resolved_are_two_deliveries(
        self, notifier: Notifier, deliveries: Callable[[], int]
    ) -> None:
        before = deliveries()
        notifier.send(sample_notification("firing"))
        assert deliveries() == before + 1
        notifier.send(sample_notification("resolved"))
        assert deliveries() == before + 2

    def test_no_data_long_and_non_ascii_text(
        self, notifier: Notifier, deliveries: Callable[[], int]
    ) -> None:
        before = deliveries()
        notifier.send(
            sample_notification(
                rule="lengua-cruzada",
                value=None,
                threshold=None,
                labels={},
                summary="recuperación en español ≠ pregunta en inglés — " + "x" * 5000,
                link=None,
                trace_ids=(),
                fingerprint="",
            )
        )
        assert deliveries() == before + 1

    def test_concurrent_sends_each_arrive_once(
        self, notifier: Notifier, deliveries: Callable[[], int]
    ) -> None:
        before = deliveries()
        errors: list[BaseException] = []

        def send(i: int) -> None:
            try:
                notifier.send(sample_notification(rule=f"rule-{i}"))
            except BaseException as e:  # collected, re-raised by the assertion below
                errors.append(e)

        threads = [threading.Thread(target=send, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors
        assert deliveries() == before + 6

    def test_a_dead_receiver_raises_notify_error_naming_the_notifier(
        self, broken_notifier: Notifier
    ) -> None:
        with pytest.raises(NotifyError) as info:
            broken_notifier.send(sample_notification())
        assert repr(broken_notifier.name) in str(info.value)
        assert info.value.notifier == broken_notifier.name


__all__ = ["NotifierConformance", "sample_notification"]
