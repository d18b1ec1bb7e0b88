"""Alert rules notify through the notifiers of ``monitor.notifiers``: the evaluator a
project builds (``ragline monitor run``, ``ragline serve``) delivers to them, with their
retries, and a receiver that fails is recorded in the alert's history."""

from __future__ import annotations

import json
from pathlib import Path

from ragline.config import Settings
from ragline.monitor._dispatch import DeliveryPolicy, Dispatcher
from ragline.monitor._wiring import evaluator, notifiers
from ragline.store.memory import MemoryBackend
from ragline.store.memory._documents import MemoryStore
from ragline.testing import FakeMetricSource

from .helpers import P95, T0


def settings(tmp_path: Path, **notify: dict[str, object]) -> Settings:
    return Settings.model_validate(
        {
            "monitor": {"notifiers": notify},
            "alerts": {"rules": [{**P95, "for": "0m", "channels": list(notify)}]},
        }
    )


def test_a_firing_rule_reaches_the_configured_file_notifier(tmp_path: Path) -> None:
    s = settings(tmp_path, oncall={"type": "file", "path": "alerts.jsonl"})
    source = FakeMetricSource()
    source.set("latency", "p95", 2600, route="ask")
    ev = evaluator(s, MemoryBackend(MemoryStore()), source=source, project_dir=tmp_path)
    ev.evaluate(T0)
    (line,) = (tmp_path / "alerts.jsonl").read_text().splitlines()
    got = json.loads(line)
    assert (got["rule"], got["state"], got["value"], got["threshold"]) == (
        "ask-p95",
        "firing",
        2600,
        2000,
    )
    source.set("latency", "p95", 900, route="ask")
    ev.evaluate(T0 + 60)
    states = [json.loads(x)["state"] for x in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    assert states == ["firing", "resolved"]


class Refusing:
    name = "pager"

    def __init__(self) -> None:
        self.calls = 0

    def send(self, n: object) -> None:
        from ragline.errors import NotifyError

        self.calls += 1
        raise NotifyError("pager: connection refused", notifier="pager", retryable=True)


def test_a_failing_notifier_is_retried_counted_and_recorded(tmp_path: Path) -> None:
    s = settings(tmp_path, pager={"type": "file", "path": "-"})
    refusing = Refusing()
    dispatcher = Dispatcher(
        [refusing], policies={"pager": DeliveryPolicy(retries=2, backoff_initial_s=0.001)}
    )
    source = FakeMetricSource()
    source.set("latency", "p95", 2600, route="ask")
    backend = MemoryBackend(MemoryStore())
    ev = evaluator(s, backend, source=source, dispatcher=dispatcher)
    ev.evaluate(T0)
    assert refusing.calls == 3  # the notifier's own retries, on the evaluator's thread
    stats = dispatcher.stats()["pager"]
    assert (stats.count("failed"), stats.count("retried")) == (1, 2)
    events = [e.event for e in backend.alerts.history(rule="ask-p95")]
    assert "failed" in events  # and the evaluator tries again next time
    ev.evaluate(T0 + 60)
    assert refusing.calls == 6


def test_no_notifiers_no_channels(tmp_path: Path) -> None:
    assert notifiers(Settings.model_validate({})) == {}
