"""``monitor.notifiers`` in ragline.yaml: each type builds its notifier; a bad block is
one ConfigError naming the notifier and the key, and a secret's env var that is not
set fails at build time (start-up), not at the first alert."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ragline.config import load_settings
from ragline.errors import ConfigError
from ragline.monitor import (
    DeliveryPolicy,
    EmailNotifier,
    FileNotifier,
    PagerDutyNotifier,
    SlackNotifier,
    WebhookNotifier,
    build_dispatcher,
)

GOOD = {
    "hook": {
        "type": "webhook",
        "url": "https://hooks.example.com/ragline",
        "headers": {"X-Team": "search"},
        "headers_env": {"Authorization": "HOOK_TOKEN"},
        "retries": 5,
        "queue_size": 7,
    },
    "chat": {"type": "slack", "url_env": "SLACK_URL", "timeout_s": 2},
    "pager": {"type": "pagerduty", "routing_key_env": "PD_KEY"},
    "mail": {
        "type": "email",
        "host": "smtp.example.com",
        "port": 587,
        "starttls": True,
        "from": "ragline@example.com",
        "to": ["oncall@example.com"],
        "username": "ragline",
        "password_env": "SMTP_PASSWORD",
    },
    "log": {"type": "file", "path": "alerts.jsonl"},
    "off": {"type": "file", "path": "-", "enabled": False},
}
ENV = {
    "HOOK_TOKEN": "Bearer s3cret",
    "SLACK_URL": "https://hooks.slack.example/T0/B0/xyz",
    "PD_KEY": "R0UTING",
    "SMTP_PASSWORD": "pw",
}


def _write(tmp_path: Path, notifiers: dict[str, Any]) -> Path:
    path = tmp_path / "ragline.yaml"
    path.write_text(
        yaml.safe_dump({"monitor": {"notifiers": notifiers}}, sort_keys=False), encoding="utf-8"
    )
    return path


def test_every_type_builds_its_notifier(tmp_path: Path) -> None:
    _write(tmp_path, GOOD)
    settings = load_settings(tmp_path, environ={})
    d = build_dispatcher(settings.monitor, project_dir=tmp_path, environ=ENV)
    assert d.names == ("hook", "chat", "pager", "mail", "log")  # "off" is disabled
    hook = d.notifier("hook")
    assert isinstance(hook, WebhookNotifier)
    headers = hook._client.get().headers
    assert headers["Authorization"] == "Bearer s3cret" and headers["X-Team"] == "search"
    assert d.policy("hook") == DeliveryPolicy(retries=5, queue_size=7)
    chat = d.notifier("chat")
    assert isinstance(chat, SlackNotifier) and chat.url == ENV["SLACK_URL"]
    assert chat._client.timeout_s == 2
    assert isinstance(d.notifier("pager"), PagerDutyNotifier)
    mail = d.notifier("mail")
    assert isinstance(mail, EmailNotifier) and mail.starttls and mail.to == ["oncall@example.com"]
    log = d.notifier("log")
    assert isinstance(log, FileNotifier) and log.path == tmp_path / "alerts.jsonl"
    stats = d.stats()
    assert set(stats) == set(d.names) and all(s.sent == 0 for s in stats.values())
    d.close()


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ({"type": "teams", "url": "https://x"}, r"monitor\.notifiers\.bad: .*'teams'.*webhook"),
        ({"url": "https://x"}, r"notifier 'bad' has no type: set type to one of webhook"),
        ({"type": "webhook"}, r"monitor\.notifiers\.bad\.webhook: .*set one of url or url_env"),
        (
            {"type": "slack", "url": "https://x", "url_env": "U"},
            r"notifiers\.bad\.slack: .*set one of url or url_env",
        ),
        ({"type": "webhook", "url": "ftp://x"}, r"bad\.webhook: .*http:// or https://"),
        ({"type": "pagerduty"}, r"monitor\.notifiers\.bad\.pagerduty\.routing_key_env: Field"),
        (
            {"type": "email", "host": "h", "to": ["a@b"]},
            r"monitor\.notifiers\.bad\.email\.from: Field required",
        ),
        (
            {"type": "email", "host": "h", "from": "a@b", "to": []},
            r"notifiers\.bad\.email\.to: List should have at least 1 item",
        ),
        (
            {"type": "email", "host": "h", "from": "a@b", "to": ["c@d"], "username": "u"},
            r"bad\.email: .*set both username and password_env",
        ),
        ({"type": "file"}, r"monitor\.notifiers\.bad\.file\.path: Field required"),
        (
            {"type": "file", "path": "a", "timeout_s": 0},
            r"bad\.file\.timeout_s: Input should be greater than 0",
        ),
        (
            {"type": "pagerduty", "routing_key_env": "K", "channel": "x"},
            r"bad\.pagerduty\.channel: unknown key — known keys here: .*routing_key_env",
        ),
    ],
)
def test_a_bad_block_names_the_notifier_and_the_key(
    tmp_path: Path, block: dict[str, Any], expected: str
) -> None:
    path = _write(tmp_path, {"bad": block})
    before = path.read_bytes()
    with pytest.raises(ConfigError, match=expected) as info:
        load_settings(tmp_path, environ={})
    assert str(path) in str(info.value)
    assert path.read_bytes() == before  # nothing rewritten


@pytest.mark.parametrize(
    ("block", "key", "var"),
    [
        ({"type": "slack", "url_env": "NOPE_URL"}, "url_env", "NOPE_URL"),
        ({"type": "pagerduty", "routing_key_env": "NOPE_KEY"}, "routing_key_env", "NOPE_KEY"),
        (
            {"type": "webhook", "url": "https://x", "headers_env": {"Authorization": "NOPE_T"}},
            "headers_env.Authorization",
            "NOPE_T",
        ),
        (
            {
                "type": "email",
                "host": "h",
                "from": "a@b",
                "to": ["c@d"],
                "username": "u",
                "password_env": "NOPE_PW",
            },
            "password_env",
            "NOPE_PW",
        ),
    ],
)
def test_a_secret_that_is_not_set_fails_at_build_naming_it(
    tmp_path: Path, block: dict[str, Any], key: str, var: str
) -> None:
    _write(tmp_path, {"mine": block})
    settings = load_settings(tmp_path, environ={})
    with pytest.raises(ConfigError) as info:
        build_dispatcher(settings.monitor, project_dir=tmp_path, environ={})
    msg = str(info.value)
    assert f"monitor.notifiers.mine.{key}" in msg and f"{var} is not set" in msg
    assert f"export {var}=" in msg


def test_notifiers_can_come_from_an_environment_variable(tmp_path: Path) -> None:
    env = {"RAGLINE_MONITOR__NOTIFIERS": '{log: {type: file, path: "-"}}'}
    settings = load_settings(tmp_path, environ=env)
    assert list(settings.monitor.notifiers) == ["log"]
    d = build_dispatcher(settings.monitor, project_dir=tmp_path, environ={})
    log = d.notifier("log")
    assert isinstance(log, FileNotifier) and log.path is None  # standard output


def test_importing_monitor_stays_light() -> None:
    """The notifiers (smtplib, httpx, the config schema) load when first used."""
    import subprocess
    import sys

    code = (
        "import sys, ragline.monitor\n"
        "print(sorted(m for m in ('smtplib', 'httpx', 'ragline.monitor._notify_email') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
