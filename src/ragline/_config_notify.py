"""The ``monitor.notifiers`` section of ``ragline.yaml``: where alert notifications go.

One block per notifier, named by the user, chosen by ``type``::

    monitor:
      notifiers:
        ops-hook: {type: webhook, url: https://hooks.example.com/ragline,
                   headers_env: {Authorization: OPS_HOOK_TOKEN}}
        team-chat: {type: slack, url_env: SLACK_WEBHOOK_URL}
        on-call: {type: pagerduty, routing_key_env: PD_ROUTING_KEY}
        mail: {type: email, host: smtp.example.com, port: 587, starttls: true,
               from: ragline@example.com, to: [oncall@example.com],
               username: ragline, password_env: SMTP_PASSWORD}
        log: {type: file, path: alerts.jsonl}      # path "-": standard output

Secrets (a webhook URL with a token in it, a header value, PagerDuty's routing key, the
SMTP password) are named by environment variable, never written in the file. Every
notifier also takes ``timeout_s``, ``retries``, ``backoff_initial_s``,
``backoff_max_s`` and ``queue_size`` (delivery: :class:`ragline.monitor.Dispatcher`).
Re-exported by :mod:`ragline.config`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from ragline._config_base import _Strict


class _NotifierSettings(_Strict):
    enabled: bool = Field(True, description="false: configured but sends nothing")
    timeout_s: float = Field(
        5.0, gt=0, le=300, description="one delivery attempt's time budget (connect + answer)"
    )
    retries: int = Field(
        3, ge=0, le=20, description="attempts after the first (timeouts, 429, 5xx, refused)"
    )
    backoff_initial_s: float = Field(
        0.5, ge=0, description="wait before the first retry; doubles each time, with jitter"
    )
    backoff_max_s: float = Field(30.0, ge=0, description="the longest wait between attempts")
    queue_size: int = Field(
        1000,
        ge=1,
        le=1_000_000,
        description="notifications waiting for this notifier; past it new ones are "
        "dropped (and counted), the caller never waits",
    )


class _HttpNotifierSettings(_NotifierSettings):
    url: str | None = Field(None, description="where to POST")
    url_env: str | None = Field(
        None, description="an env var holding the URL (incoming-webhook URLs carry a secret)"
    )

    @model_validator(mode="after")
    def _one_url(self) -> _HttpNotifierSettings:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("set one of url or url_env (the env var holding the URL)")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https:// (got {self.url!r})")
        return self


class WebhookNotifierSettings(_HttpNotifierSettings):
    """POST the notification as JSON (its fields: rule, state, severity, labels, …)."""

    type: Literal["webhook"]
    headers: dict[str, str] = Field(default_factory=dict, description="extra request headers")
    headers_env: dict[str, str] = Field(
        default_factory=dict,
        description="headers whose value is read from an env var: {Authorization: HOOK_TOKEN}",
    )


class SlackNotifierSettings(_HttpNotifierSettings):
    """A Slack-compatible incoming webhook (text + blocks; Mattermost, Rocket.Chat too)."""

    type: Literal["slack"]


class PagerDutyNotifierSettings(_NotifierSettings):
    """PagerDuty Events API v2: trigger on firing, resolve on resolved, one incident per
    fingerprint (``dedup_key``)."""

    type: Literal["pagerduty"]
    url: str = Field(
        "https://events.pagerduty.com/v2/enqueue", description="the Events v2 enqueue URL"
    )
    routing_key_env: str = Field(description="env var holding the integration's routing key")
    source: str = Field("ragline", description="payload.source: the affected system")


class EmailNotifierSettings(_NotifierSettings):
    """Email over SMTP (smtplib): one message per notification."""

    type: Literal["email"]
    host: str = Field(description="SMTP server")
    port: int = Field(25, ge=1, le=65535, description="25, or 587 with starttls")
    starttls: bool = Field(False, description="upgrade the connection with STARTTLS")
    from_: str = Field(alias="from", description="the From address")
    to: list[str] = Field(min_length=1, description="recipients")
    ca_file: str | None = Field(
        None, description="verify the server's STARTTLS certificate with this CA bundle"
    )
    username: str | None = Field(None, description="log in as this user (after STARTTLS)")
    password_env: str | None = Field(None, description="env var holding the SMTP password")

    @model_validator(mode="after")
    def _login_pair(self) -> EmailNotifierSettings:
        if (self.username is None) != (self.password_env is None):
            raise ValueError("set both username and password_env to log in, or neither")
        return self


class FileNotifierSettings(_NotifierSettings):
    """Append each notification as one JSON line to a file (``-``: standard output)."""

    type: Literal["file"]
    path: str = Field(description="a file (relative to the project folder) or - for stdout")


NotifierSettings = Annotated[
    WebhookNotifierSettings
    | SlackNotifierSettings
    | PagerDutyNotifierSettings
    | EmailNotifierSettings
    | FileNotifierSettings,
    Field(discriminator="type"),
]

#: ``type`` → its settings class (also: the known keys a config error lists)
NOTIFIER_SETTINGS: dict[str, type[_NotifierSettings]] = {
    "webhook": WebhookNotifierSettings,
    "slack": SlackNotifierSettings,
    "pagerduty": PagerDutyNotifierSettings,
    "email": EmailNotifierSettings,
    "file": FileNotifierSettings,
}
NOTIFIER_TYPES: tuple[str, ...] = tuple(NOTIFIER_SETTINGS)


__all__ = [
    "NOTIFIER_SETTINGS",
    "NOTIFIER_TYPES",
    "EmailNotifierSettings",
    "FileNotifierSettings",
    "NotifierSettings",
    "PagerDutyNotifierSettings",
    "SlackNotifierSettings",
    "WebhookNotifierSettings",
]
