"""What the monitor tests share: rules from plain dicts, and an evaluator over fakes."""

from __future__ import annotations

from typing import Any

from ragline.config import AlertSettings
from ragline.monitor import Evaluator
from ragline.store._alerts import AlertStore
from ragline.store.memory._alerts import MemoryAlertStore
from ragline.testing import FakeMetricSource, RecordingNotifier

T0 = 1_764_000_000.0

P95: dict[str, Any] = {
    "name": "ask-p95",
    "metric": "latency",
    "agg": "p95",
    "filter": {"route": "ask"},
    "window": "5m",
    "condition": "> 2000",
    "for": "2m",
    "resolve": 1500,
    "severity": "critical",
    "labels": {"team": "search"},
}


def alerts(*rules: dict[str, Any], **options: Any) -> AlertSettings:
    return AlertSettings.model_validate({"rules": list(rules), **options})


class Rig:
    """An evaluator over a fake source, a store and recording channels ``a`` and ``b``."""

    def __init__(self, settings: AlertSettings, store: AlertStore | None = None) -> None:
        self.source = FakeMetricSource()
        self.store = store if store is not None else MemoryAlertStore()
        self.a, self.b = RecordingNotifier(), RecordingNotifier()
        self.evaluator = Evaluator(
            settings, self.source, self.store, {"a": self.a, "b": self.b}, actor="test:1"
        )

    def at(self, seconds: float) -> Any:
        return self.evaluator.evaluate(T0 + seconds)

    def state(self, rule: str = "ask-p95") -> str:
        return self.store.states()[rule].state

    def events(self, rule: str = "ask-p95") -> list[str]:
        return [e.event for e in reversed(self.store.history(rule=rule, limit=1000))]
