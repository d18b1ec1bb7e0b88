"""``type: slack``: a Slack-compatible incoming-webhook message — ``text`` (the
fallback shown in notifications) and Block Kit ``blocks`` (a header, the summary with
value/threshold/window/labels fields, a context line, and a button to the link).
Mattermost and Rocket.Chat accept the same payload."""

from __future__ import annotations

import time
from typing import Any

from ragline.monitor._notification import Notification
from ragline.monitor._notify_http import HttpNotifier

_HEADER_MAX = 150  # Slack's limits: header text, section text
_TEXT_MAX = 3000


def format_window(seconds: float) -> str:
    """300 → ``5m``; 3600 → ``1h``; 90 → ``90s``."""
    s = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size and s % size == 0:
            return f"{s // size}{unit}"
    return f"{s}s"


def format_value(v: float | None) -> str:
    return "no data" if v is None else f"{v:.4g}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _when(ts: float | None) -> str:
    return "-" if not ts else time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(ts))


class SlackNotifier(HttpNotifier):
    kind = "slack"

    def payload(self, n: Notification) -> dict[str, Any]:
        icon = ":red_circle:" if n.state == "firing" else ":large_green_circle:"
        labels = ", ".join(f"{k}={v}" for k, v in sorted(n.labels.items())) or "-"
        fields = [
            {"type": "mrkdwn", "text": f"*Value*\n{format_value(n.value)}"},
            {"type": "mrkdwn", "text": f"*Threshold*\n{format_value(n.threshold)}"},
            {"type": "mrkdwn", "text": f"*Window*\n{format_window(n.window)}"},
            {"type": "mrkdwn", "text": f"*Labels*\n{_clip(labels, 1900)}"},
        ]
        context = f"started {_when(n.started_at)}"
        if n.state == "resolved":
            context += f" · resolved {_when(n.resolved_at)}"
        context += f" · fingerprint {n.fingerprint or '-'}"
        if n.trace_ids:
            context += " · traces " + ", ".join(n.trace_ids[:5])
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": _clip(n.title, _HEADER_MAX)}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _clip(f"{icon} {n.summary or n.rule}", 2900)},
                "fields": fields,
            },
            {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
        ]
        if n.link:
            blocks.append(
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "text": {"type": "plain_text", "text": "Open in ragline"},
                            "url": n.link,
                        }
                    ],
                }
            )
        text = f"{n.title}: {n.summary}" if n.summary else n.title
        return {"text": _clip(text, _TEXT_MAX), "blocks": blocks}

    def send(self, n: Notification) -> None:
        self.post(self.payload(n))


__all__ = ["SlackNotifier", "format_value", "format_window"]
