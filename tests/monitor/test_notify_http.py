"""The webhook, Slack and PagerDuty notifiers against a real HTTP receiver on loopback:
the conformance suite, and the exact payloads each receiver gets."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from ragline.errors import NotifyError
from ragline.monitor import (
    Dispatcher,
    Notifier,
    PagerDutyNotifier,
    SlackNotifier,
    WebhookNotifier,
)
from ragline.testing import NotifierConformance, sample_notification

from ._receiver import Receiver, refused_url


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


class TestWebhookConformance(NotifierConformance):
    @pytest.fixture
    def notifier(self, receiver: Receiver) -> Notifier:
        return WebhookNotifier("hook", f"{receiver.url}/ok/conf-webhook")

    @pytest.fixture
    def deliveries(self, receiver: Receiver) -> Callable[[], int]:
        return lambda: len(receiver.to("/ok/conf-webhook"))

    @pytest.fixture
    def broken_notifier(self) -> Notifier:
        return WebhookNotifier("hook", refused_url())


class TestSlackConformance(NotifierConformance):
    @pytest.fixture
    def notifier(self, receiver: Receiver) -> Notifier:
        return SlackNotifier("chat", f"{receiver.url}/ok/conf-slack")

    @pytest.fixture
    def deliveries(self, receiver: Receiver) -> Callable[[], int]:
        return lambda: len(receiver.to("/ok/conf-slack"))

    @pytest.fixture
    def broken_notifier(self, receiver: Receiver) -> Notifier:
        return SlackNotifier("chat", f"{receiver.url}/status/403/conf-slack")


class TestPagerDutyConformance(NotifierConformance):
    @pytest.fixture
    def notifier(self, receiver: Receiver) -> Notifier:
        return PagerDutyNotifier("pager", f"{receiver.url}/ok/pd/conf", routing_key="RK")

    @pytest.fixture
    def deliveries(self, receiver: Receiver) -> Callable[[], int]:
        return lambda: len(receiver.to("/ok/pd/conf"))

    @pytest.fixture
    def broken_notifier(self, receiver: Receiver) -> Notifier:
        return PagerDutyNotifier("pager", f"{receiver.url}/status/503/pd", routing_key="RK")


def test_webhook_posts_the_notification_as_json_with_its_headers(receiver: Receiver) -> None:
    hook = WebhookNotifier(
        "hook",
        f"{receiver.url}/ok/shape-webhook",
        headers={"Authorization": "Bearer s3cret", "X-Team": "search"},
    )
    n = sample_notification("resolved")
    hook.send(n)
    (got,) = receiver.to("/ok/shape-webhook")
    assert got.headers["authorization"] == "Bearer s3cret" and got.headers["x-team"] == "search"
    assert got.headers["content-type"] == "application/json"
    assert got.body == {
        "rule": "p95-latency",
        "state": "resolved",
        "severity": "critical",
        "labels": {"tenant": "acme", "route": "/v1/ask"},
        "value": 2.41,
        "threshold": 1.5,
        "window": 300.0,
        "started_at": 1_780_000_000.0,
        "resolved_at": 1_780_000_900.0,
        "summary": n.summary,
        "fingerprint": "p95-latency/tenant=acme",
        "link": "http://127.0.0.1:8000/ui/alerts/p95-latency",
        "trace_ids": ["3f2a9c", "77b0e1"],
        "metric": "latency p95",
        "condition": "> 1.5",
        "rules": ["p95-latency"],
        "repeat": False,
        "source": "ragline",
    }


def test_slack_gets_fallback_text_and_blocks(receiver: Receiver) -> None:
    SlackNotifier("chat", f"{receiver.url}/ok/shape-slack").send(sample_notification())
    (got,) = receiver.to("/ok/shape-slack")
    body = got.body
    assert body["text"].startswith("[FIRING] p95-latency (critical): p95-latency: latency p95")
    header, section, context, actions = body["blocks"]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": "[FIRING] p95-latency (critical)"},
    }
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    assert "latency p95 2.41 s > 1.5 s" in section["text"]["text"]
    assert [f["text"] for f in section["fields"]] == [
        "*Value*\n2.41",
        "*Threshold*\n1.5",
        "*Window*\n5m",
        "*Labels*\nroute=/v1/ask, tenant=acme",
    ]
    (element,) = context["elements"]
    assert "started 2026-05-28 20:26:40Z" in element["text"]
    assert "fingerprint p95-latency/tenant=acme" in element["text"]
    assert "traces 3f2a9c, 77b0e1" in element["text"]
    (button,) = actions["elements"]
    assert button["type"] == "button" and button["url"].endswith("/ui/alerts/p95-latency")


def test_slack_resolved_and_no_data_read_so(receiver: Receiver) -> None:
    SlackNotifier("chat", f"{receiver.url}/ok/shape-slack-2").send(
        sample_notification("resolved", value=None, link=None)
    )
    (got,) = receiver.to("/ok/shape-slack-2")
    blocks = got.body["blocks"]
    assert blocks[0]["text"]["text"] == "[RESOLVED] p95-latency (critical)"
    assert blocks[1]["fields"][0]["text"] == "*Value*\nno data"
    assert "resolved 2026-05-28 20:41:40Z" in blocks[2]["elements"][0]["text"]
    assert len(blocks) == 3  # no link, no button


def test_pagerduty_trigger_then_resolve_share_the_dedup_key(receiver: Receiver) -> None:
    pd = PagerDutyNotifier("pager", f"{receiver.url}/ok/pd/shape", routing_key="R0UTING")
    pd.send(sample_notification("firing"))
    pd.send(sample_notification("resolved"))
    trigger, resolve = (r.body for r in receiver.to("/ok/pd/shape"))
    assert trigger == {
        "routing_key": "R0UTING",
        "event_action": "trigger",
        "dedup_key": "p95-latency/tenant=acme",
        "client": "ragline",
        "client_url": "http://127.0.0.1:8000/ui/alerts/p95-latency",
        "links": [
            {"href": "http://127.0.0.1:8000/ui/alerts/p95-latency", "text": "Open in ragline"}
        ],
        "payload": {
            "summary": "p95-latency: latency p95 2.41 s > 1.5 s over 5m (tenant acme)",
            "source": "ragline",
            "severity": "critical",
            "timestamp": "2026-05-28T20:26:40Z",
            "class": "p95-latency",
            "group": "acme",
            "component": "/v1/ask",
            "custom_details": {
                "value": 2.41,
                "threshold": 1.5,
                "window_s": 300.0,
                "labels": {"tenant": "acme", "route": "/v1/ask"},
                "trace_ids": ["3f2a9c", "77b0e1"],
                "severity": "critical",
            },
        },
    }
    assert resolve == {
        "routing_key": "R0UTING",
        "event_action": "resolve",
        "dedup_key": "p95-latency/tenant=acme",
    }


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [("critical", "critical"), ("error", "error"), ("warning", "warning"), ("info", "info"),
     ("page", "critical"), ("Low", "info"), ("whatever", "warning")],
)  # fmt: skip
def test_pagerduty_severity_is_one_of_its_four(receiver: Receiver, ours: str, theirs: str) -> None:
    path = f"/ok/pd/sev-{ours}"
    PagerDutyNotifier("pager", receiver.url + path, routing_key="K").send(
        sample_notification(severity=ours)
    )
    (got,) = receiver.to(path)
    assert got.body["payload"]["severity"] == theirs


def test_errors_name_the_host_never_the_secret_url(receiver: Receiver) -> None:
    secret = f"{receiver.url}/status/404/T000/B000/XXXXSECRET"
    with pytest.raises(NotifyError) as info:
        SlackNotifier("chat", secret).send(sample_notification())
    msg = str(info.value)
    assert "notifier 'chat' (slack, 127.0.0.1:" in msg and "HTTP 404" in msg
    assert "XXXXSECRET" not in msg and not info.value.retryable


def test_a_dispatcher_delivers_to_all_three(receiver: Receiver) -> None:
    d = Dispatcher(
        [
            WebhookNotifier("hook", f"{receiver.url}/ok/all-hook"),
            SlackNotifier("chat", f"{receiver.url}/ok/all-slack"),
            PagerDutyNotifier("pager", f"{receiver.url}/ok/pd/all", routing_key="K"),
        ]
    )
    d.submit(sample_notification())
    assert d.flush(10)
    assert {name: s.sent for name, s in d.stats().items()} == {"hook": 1, "chat": 1, "pager": 1}
    for path in ("/ok/all-hook", "/ok/all-slack", "/ok/pd/all"):
        assert len(receiver.to(path)) == 1
    d.close()
