"""``type: webhook``: POST the notification as JSON (:meth:`Notification.to_dict`), with
the configured headers (a token read from an env var with ``headers_env``)."""

from __future__ import annotations

from typing import Any

from ragline.monitor._notification import Notification
from ragline.monitor._notify_http import HttpNotifier


class WebhookNotifier(HttpNotifier):
    """The body: ``{"rule", "state", "severity", "labels", "value", "threshold",
    "window", "started_at", "resolved_at", "summary", "fingerprint", "link",
    "trace_ids", "source": "ragline"}``."""

    kind = "webhook"

    def payload(self, n: Notification) -> dict[str, Any]:
        return {**n.to_dict(), "source": "ragline"}

    def send(self, n: Notification) -> None:
        self.post(self.payload(n))


__all__ = ["WebhookNotifier"]
