"""What an alert sends, and the one method a notifier implements.

A :class:`Notification` is one incident's state change: ``firing`` when a rule's
condition has held for its ``for`` duration, ``resolved`` when it stopped holding.
``fingerprint`` is the group key (rule + the labels it is grouped by): every
notification of one incident carries the same one, so a receiver can deduplicate
(PagerDuty's ``dedup_key``) and pair the resolve with its trigger.

A :class:`Notifier` delivers one notification, once, within its own timeout, and
raises :class:`~ragline.errors.NotifyError` when it could not. Retries, backoff and
counting live in :class:`~ragline.monitor.Dispatcher`, written once, not in every
notifier. The alert evaluator (:mod:`ragline.monitor._evaluator`) makes one
notification per incident and group — when it starts firing, again only after
``repeat_interval``, and once when it resolves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

NotificationState = Literal["firing", "resolved"]


@dataclass(frozen=True, slots=True)
class Notification:
    rule: str  # the alert rule's name
    state: NotificationState
    severity: str  # the rule's severity (critical, error, warning, info, or the user's own)
    labels: Mapping[str, str] = field(default_factory=dict)  # the rule's labels + group labels
    value: float | None = None  # the value that crossed (None: no data)
    threshold: float | None = None
    window: float = 0.0  # the rule's window, seconds
    started_at: float = 0.0  # when it started firing (epoch seconds)
    resolved_at: float | None = None  # when it resolved (state "resolved" only)
    summary: str = ""  # one human line: what crossed what, where
    fingerprint: str = ""  # the group key: the same for every notification of one incident
    link: str | None = None  # where to look (the dashboard's alert page)
    trace_ids: tuple[str, ...] = ()  # example traces from the window
    metric: str = ""  # the rule's metric and aggregation, e.g. "latency p95"
    condition: str = ""  # the rule's condition, e.g. "> 2000"
    rules: tuple[str, ...] = ()  # every rule in the notification when a group holds several
    repeat: bool = False  # a reminder of an incident already notified
    extra: Mapping[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form every HTTP notifier and the file sink send (keys as above)."""
        return {
            "rule": self.rule,
            "state": self.state,
            "severity": self.severity,
            "labels": dict(self.labels),
            "value": self.value,
            "threshold": self.threshold,
            "window": self.window,
            "started_at": self.started_at,
            "resolved_at": self.resolved_at,
            "summary": self.summary,
            "fingerprint": self.fingerprint,
            "link": self.link,
            "trace_ids": list(self.trace_ids),
            "metric": self.metric,
            "condition": self.condition,
            "rules": list(self.rules or (self.rule,)),
            "repeat": self.repeat,
        }

    @property
    def title(self) -> str:
        """``[FIRING] p95-latency (critical)``: the subject line and chat headline."""
        return f"[{self.state.upper()}] {self.rule} ({self.severity})"


@runtime_checkable
class Notifier(Protocol):
    """Delivers notifications somewhere (a webhook, Slack, PagerDuty, email, a file)."""

    name: str

    def send(self, n: Notification) -> None:
        """Deliver ``n`` once, within the notifier's timeout; raise
        :class:`~ragline.errors.NotifyError` (``retryable`` set) when it failed."""
        ...


__all__ = ["Notification", "NotificationState", "Notifier"]
