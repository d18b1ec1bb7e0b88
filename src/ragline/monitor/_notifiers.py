"""``monitor.notifiers`` → notifiers and a :class:`Dispatcher`, built once.

Secrets are read from the environment here, at build time, so a missing variable is a
:class:`~ragline.errors.ConfigError` naming the notifier and the key at start-up, not
a failed delivery at 3am.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ragline.config import (
    EmailNotifierSettings,
    FileNotifierSettings,
    MonitorSettings,
    NotifierSettings,
    PagerDutyNotifierSettings,
    SlackNotifierSettings,
    WebhookNotifierSettings,
)
from ragline.errors import ConfigError
from ragline.monitor._dispatch import DeliveryPolicy, Dispatcher
from ragline.monitor._notification import Notifier

if TYPE_CHECKING:
    import httpx


def _env(environ: Mapping[str, str], name: str, notifier: str, key: str) -> str:
    value = environ.get(name)
    if not value:
        raise ConfigError(
            f"monitor.notifiers.{notifier}.{key}: the environment variable {name} is not set",
            hint=f"export {name}=… before starting ragline, or change {key}",
        )
    return value


def build_notifier(
    name: str,
    s: NotifierSettings,
    *,
    project_dir: str | os.PathLike[str] = ".",
    environ: Mapping[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Notifier:
    """One notifier from its settings block (``transport``: tests)."""
    from ragline.monitor._notify_email import EmailNotifier
    from ragline.monitor._notify_file import FileNotifier
    from ragline.monitor._notify_pagerduty import PagerDutyNotifier
    from ragline.monitor._notify_slack import SlackNotifier
    from ragline.monitor._notify_webhook import WebhookNotifier

    env = os.environ if environ is None else environ
    if isinstance(s, FileNotifierSettings):
        path = None if s.path == "-" else Path(project_dir) / s.path
        return FileNotifier(name, path)
    if isinstance(s, EmailNotifierSettings):
        password = _env(env, s.password_env, name, "password_env") if s.password_env else None
        return EmailNotifier(
            name,
            host=s.host,
            port=s.port,
            sender=s.from_,
            to=s.to,
            starttls=s.starttls,
            ca_file=str(Path(project_dir) / s.ca_file) if s.ca_file else None,
            username=s.username,
            password=password,
            timeout_s=s.timeout_s,
        )
    if isinstance(s, PagerDutyNotifierSettings):
        key = _env(env, s.routing_key_env, name, "routing_key_env")
        return PagerDutyNotifier(
            name,
            s.url,
            routing_key=key,
            source=s.source,
            timeout_s=s.timeout_s,
            transport=transport,
        )
    url = s.url if s.url is not None else _env(env, s.url_env or "", name, "url_env")
    if isinstance(s, SlackNotifierSettings):
        return SlackNotifier(name, url, timeout_s=s.timeout_s, transport=transport)
    assert isinstance(s, WebhookNotifierSettings)
    headers = dict(s.headers)
    for header, var in s.headers_env.items():
        headers[header] = _env(env, var, name, f"headers_env.{header}")
    return WebhookNotifier(name, url, headers=headers, timeout_s=s.timeout_s, transport=transport)


def policy_of(s: NotifierSettings) -> DeliveryPolicy:
    return DeliveryPolicy(
        retries=s.retries,
        backoff_initial_s=s.backoff_initial_s,
        backoff_max_s=s.backoff_max_s,
        queue_size=s.queue_size,
    )


def build_dispatcher(
    settings: MonitorSettings,
    *,
    project_dir: str | os.PathLike[str] = ".",
    environ: Mapping[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
    on_outcome: Callable[[str, str], None] | None = None,
) -> Dispatcher:
    """A dispatcher over every enabled notifier of ``monitor.notifiers``."""
    notifiers = []
    policies = {}
    for name, s in settings.notifiers.items():
        if not s.enabled:
            continue
        notifiers.append(
            build_notifier(name, s, project_dir=project_dir, environ=environ, transport=transport)
        )
        policies[name] = policy_of(s)
    return Dispatcher(notifiers, policies=policies, on_outcome=on_outcome)


__all__ = ["build_dispatcher", "build_notifier", "policy_of"]
