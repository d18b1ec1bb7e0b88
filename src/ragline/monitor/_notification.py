"""What an alert tells the outside world, and the one method a channel implements.

The evaluator (:mod:`ragline.monitor._evaluator`) makes one :class:`Notification` per
incident and group — when it starts firing, again only after ``repeat_interval``, and
once when it resolves — and hands it to each of the rule's channels through
:class:`Notifier`. A notifier (webhook, Slack, PagerDuty, email, file…) turns it into
its own payload. ``send`` raises on failure (after its own retries); the evaluator
records the failure in the alert's history and tries again on the next evaluation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class Notification:
    """One incident's news. Times are Unix epoch seconds.

    ``fingerprint`` is the group key (stable for the incident's group: use it to
    deduplicate, e.g. PagerDuty's ``dedup_key``); ``rules`` names every rule in the
    notification when a group holds several (``rule`` is the first). ``value`` is
    ``None`` when the window had no data (a ``no_data: alert`` rule).
    """

    rule: str
    state: Literal["firing", "resolved"]
    severity: str
    labels: Mapping[str, str]
    value: float | None
    threshold: float | None
    window_s: float
    started_at: float
    resolved_at: float | None
    summary: str
    fingerprint: str
    metric: str = ""
    condition: str = ""
    rules: tuple[str, ...] = ()
    trace_ids: tuple[str, ...] = ()
    link: str | None = None
    repeat: bool = False  # a reminder of an incident already notified
    extra: Mapping[str, object] = field(default_factory=dict)


@runtime_checkable
class Notifier(Protocol):
    """A channel: delivers a notification, or raises."""

    def send(self, notification: Notification) -> None: ...


__all__ = ["Notification", "Notifier"]
