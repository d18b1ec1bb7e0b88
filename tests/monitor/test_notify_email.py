"""The email notifier against a real SMTP server on loopback (aiosmtpd): conformance,
the message a recipient gets, STARTTLS + login, and the SMTP failures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ragline.errors import NotifyError
from ragline.monitor import EmailNotifier, Notifier
from ragline.testing import NotifierConformance, sample_notification

pytest.importorskip("aiosmtpd", reason="the dev extra installs aiosmtpd (pip install -e .[dev])")

from ._smtp import SmtpServer, self_signed


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(refuse=frozenset({"nobody@example.com"}))
    yield server
    server.close()


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_smtp(tls_files: tuple[Path, Path]) -> Iterator[SmtpServer]:
    server = SmtpServer(tls=tls_files, login=("ragline", "pw-123"))
    yield server
    server.close()


def _mailer(port: int, **kw: object) -> EmailNotifier:
    options: dict[str, object] = {
        "host": "127.0.0.1",
        "port": port,
        "sender": "ragline@example.com",
        "to": ["oncall@example.com", "search-team@example.com"],
        "timeout_s": 10.0,
    }
    options.update(kw)
    return EmailNotifier("mail", **options)  # type: ignore[arg-type]


def _refused_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class TestEmailConformance(NotifierConformance):
    @pytest.fixture
    def notifier(self, smtp: SmtpServer) -> Notifier:
        return _mailer(smtp.port)

    @pytest.fixture
    def deliveries(self, smtp: SmtpServer) -> Callable[[], int]:
        return smtp.count

    @pytest.fixture
    def broken_notifier(self) -> Notifier:
        return _mailer(_refused_port())


def test_the_recipients_get_subject_body_and_envelope(smtp: SmtpServer) -> None:
    before = smtp.count()
    _mailer(smtp.port).send(sample_notification())
    mail = smtp.mails[before]
    assert mail.sender == "ragline@example.com"
    assert mail.recipients == ["oncall@example.com", "search-team@example.com"]
    msg = mail.message
    assert msg["Subject"] == (
        "[FIRING] p95-latency (critical): p95-latency: latency p95 2.41 s > 1.5 s over 5m "
        "(tenant acme)"
    )
    assert msg["From"] == "ragline@example.com"
    assert msg["To"] == "oncall@example.com, search-team@example.com"
    assert msg["X-Ragline-Fingerprint"] == "p95-latency/tenant=acme"
    body = msg.get_content()
    for line in (
        "state:       firing",
        "value:       2.41",
        "threshold:   1.5",
        "window:      5m",
        "labels:      route=/v1/ask, tenant=acme",
        "traces:      3f2a9c, 77b0e1",
        "http://127.0.0.1:8000/ui/alerts/p95-latency",
    ):
        assert line in body


def test_resolved_and_non_ascii_arrive_readable(smtp: SmtpServer) -> None:
    before = smtp.count()
    _mailer(smtp.port).send(
        sample_notification("resolved", summary="lengua cruzada: 38 % en español", value=None)
    )
    msg = smtp.mails[before].message
    assert msg["Subject"] == "[RESOLVED] p95-latency (critical): lengua cruzada: 38 % en español"
    assert "value:       no data" in msg.get_content()


def test_starttls_then_login(tls_smtp: SmtpServer, tls_files: tuple[Path, Path]) -> None:
    mailer = _mailer(
        tls_smtp.port,
        starttls=True,
        ca_file=str(tls_files[0]),
        username="ragline",
        password="pw-123",
    )
    mailer.send(sample_notification())
    (mail,) = tls_smtp.mails
    assert mail.login == "ragline" and mail.recipients[0] == "oncall@example.com"


def test_a_wrong_password_is_not_retried(
    tls_smtp: SmtpServer, tls_files: tuple[Path, Path]
) -> None:
    before = tls_smtp.count()
    mailer = _mailer(
        tls_smtp.port, starttls=True, ca_file=str(tls_files[0]), username="ragline", password="no"
    )
    with pytest.raises(NotifyError, match=r"SMTP 535") as info:
        mailer.send(sample_notification())
    assert not info.value.retryable and tls_smtp.count() == before


def test_an_untrusted_certificate_is_a_clear_error(tls_smtp: SmtpServer) -> None:
    with pytest.raises(NotifyError, match="certificate is not trusted") as info:
        _mailer(tls_smtp.port, starttls=True).send(sample_notification())
    assert "ca_file" in str(info.value) and not info.value.retryable


def test_starttls_on_a_server_without_it_says_so(smtp: SmtpServer) -> None:
    with pytest.raises(NotifyError, match="does not offer STARTTLS") as info:
        _mailer(smtp.port, starttls=True).send(sample_notification())
    assert not info.value.retryable


def test_a_refused_recipient_is_not_retried_and_names_it(smtp: SmtpServer) -> None:
    before = smtp.count()
    with pytest.raises(NotifyError, match=r"refused the recipients nobody@example\.com") as info:
        _mailer(smtp.port, to=["nobody@example.com"]).send(sample_notification())
    assert not info.value.retryable and smtp.count() == before


def test_a_dead_server_is_retryable() -> None:
    with pytest.raises(NotifyError, match=r"notifier 'mail' \(email, 127\.0\.0\.1:") as info:
        _mailer(_refused_port()).send(sample_notification())
    assert info.value.retryable
