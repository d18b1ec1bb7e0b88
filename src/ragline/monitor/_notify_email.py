"""``type: email``: one message per notification over SMTP (stdlib ``smtplib``).

Connect with ``timeout_s``, STARTTLS when asked (before logging in: the password never
crosses in the clear), log in when ``username``/``password_env`` are set, send, quit.
A refused connection, a timeout and a 4xx answer are retryable; a 5xx answer (a
rejected recipient or sender, bad credentials) is not.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email import policy
from email.message import EmailMessage

from ragline.errors import NotifyError
from ragline.monitor._notification import Notification
from ragline.monitor._notify_slack import format_value, format_window

# no folding below RFC 5322's hard limit: the stdlib folds a non-ASCII subject with a
# doubled space ("en  español") at the default 78
_POLICY = policy.SMTP.clone(max_line_length=998)


def _body(n: Notification) -> str:
    lines = [
        n.summary or n.rule,
        "",
        f"rule:        {n.rule}",
        f"state:       {n.state}",
        f"severity:    {n.severity}",
        f"value:       {format_value(n.value)}",
        f"threshold:   {format_value(n.threshold)}",
        f"window:      {format_window(n.window)}",
    ]
    if n.labels:
        lines.append("labels:      " + ", ".join(f"{k}={v}" for k, v in sorted(n.labels.items())))
    lines.append(f"fingerprint: {n.fingerprint or '-'}")
    if n.trace_ids:
        lines.append("traces:      " + ", ".join(n.trace_ids))
    if n.link:
        lines += ["", n.link]
    return "\n".join(lines) + "\n"


class EmailNotifier:
    kind = "email"

    def __init__(
        self,
        name: str,
        *,
        host: str,
        port: int,
        sender: str,
        to: Sequence[str],
        starttls: bool = False,
        ca_file: str | None = None,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 5.0,
    ) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.sender = sender
        self.to = list(to)
        self.starttls = starttls
        self.ca_file = ca_file
        self._login = (username, password) if username and password is not None else None
        self.timeout_s = timeout_s

    def message(self, n: Notification) -> EmailMessage:
        msg = EmailMessage(policy=_POLICY)
        subject = f"{n.title}: {n.summary}" if n.summary else n.title
        msg["Subject"] = subject[:200]
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.to)
        msg["X-Ragline-Fingerprint"] = n.fingerprint or n.rule
        msg.set_content(_body(n))
        return msg

    def send(self, n: Notification) -> None:
        where = f"notifier {self.name!r} (email, {self.host}:{self.port})"
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context(cafile=self.ca_file))
                if self._login is not None:
                    smtp.login(*self._login)
                smtp.send_message(self.message(n), from_addr=self.sender, to_addrs=self.to)
        except smtplib.SMTPRecipientsRefused as e:
            refused = ", ".join(sorted(e.recipients))
            raise NotifyError(
                f"{where}: the server refused the recipients {refused}",
                notifier=self.name,
                retryable=False,
                hint="check monitor.notifiers.<name>.to",
            ) from None
        except ssl.SSLCertVerificationError as e:
            raise NotifyError(
                f"{where}: the server's certificate is not trusted ({e.verify_message})",
                notifier=self.name,
                retryable=False,
                hint="set ca_file to the CA bundle that signed it",
            ) from None
        except smtplib.SMTPNotSupportedError:
            raise NotifyError(
                f"{where}: the server does not offer STARTTLS",
                notifier=self.name,
                retryable=False,
                hint="set starttls: false for this server, or use its submission port (587)",
            ) from None
        except smtplib.SMTPResponseException as e:
            text = (
                e.smtp_error.decode("utf-8", "replace")
                if isinstance(e.smtp_error, bytes)
                else e.smtp_error
            )
            raise NotifyError(
                f"{where}: SMTP {e.smtp_code} {text}",
                notifier=self.name,
                retryable=e.smtp_code < 500,
                status_code=e.smtp_code,
            ) from None
        except (smtplib.SMTPException, OSError) as e:  # refused, timed out, dropped
            raise NotifyError(
                f"{where}: {type(e).__name__}: {e}",
                notifier=self.name,
                hint="check host and port, and that the SMTP server is up",
            ) from None


__all__ = ["EmailNotifier"]
