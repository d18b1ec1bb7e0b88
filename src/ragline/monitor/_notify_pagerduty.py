"""``type: pagerduty``: PagerDuty Events API v2. Firing → ``trigger``, resolved →
``resolve``; ``dedup_key`` is the notification's fingerprint, so every notification of
one incident updates the same PagerDuty incident and the resolve closes it. The
routing key is read from an env var (``routing_key_env``)."""

from __future__ import annotations

import time
from typing import Any

from ragline.monitor._notification import Notification
from ragline.monitor._notify_http import HttpNotifier

#: PagerDuty accepts these four; other rule severities map to the nearest
_SEVERITY = {
    "critical": "critical",
    "page": "critical",
    "error": "error",
    "high": "error",
    "warning": "warning",
    "warn": "warning",
    "medium": "warning",
    "info": "info",
    "low": "info",
}


def pagerduty_severity(severity: str) -> str:
    return _SEVERITY.get(severity.lower(), "warning")


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


class PagerDutyNotifier(HttpNotifier):
    kind = "pagerduty"

    def __init__(
        self, name: str, url: str, *, routing_key: str, source: str = "ragline", **http: Any
    ) -> None:
        super().__init__(name, url, **http)
        self._routing_key = routing_key
        self.source = source

    def payload(self, n: Notification) -> dict[str, Any]:
        dedup_key = n.fingerprint or n.rule
        if n.state == "resolved":
            return {
                "routing_key": self._routing_key,
                "event_action": "resolve",
                "dedup_key": dedup_key,
            }
        body: dict[str, Any] = {
            "routing_key": self._routing_key,
            "event_action": "trigger",
            "dedup_key": dedup_key,
            "client": "ragline",
            "payload": {
                "summary": (n.summary or n.title)[:1024],
                "source": self.source,
                "severity": pagerduty_severity(n.severity),
                "timestamp": _iso(n.started_at or time.time()),
                "class": n.rule,
                "custom_details": {
                    "value": n.value,
                    "threshold": n.threshold,
                    "window_s": n.window,
                    "labels": dict(n.labels),
                    "trace_ids": list(n.trace_ids),
                    "severity": n.severity,
                },
            },
        }
        if "tenant" in n.labels:
            body["payload"]["group"] = n.labels["tenant"]
        if "route" in n.labels:
            body["payload"]["component"] = n.labels["route"]
        if n.link:
            body["client_url"] = n.link
            body["links"] = [{"href": n.link, "text": "Open in ragline"}]
        return body

    def send(self, n: Notification) -> None:
        self.post(self.payload(n))


__all__ = ["PagerDutyNotifier", "pagerduty_severity"]
