"""The PII guard and its detector: each checksum with valid and invalid examples."""

from __future__ import annotations

from typing import ClassVar

import pytest

from ragline.guards import Guard, GuardContext
from ragline.guards._pii import (
    PiiGuard,
    find_pii,
    ip_valid,
    nino_valid,
    redact_pii,
    spanish_id_kind,
    ssn_valid,
)
from ragline.testing import GuardConformance


class TestPiiGuard(GuardConformance):
    triggering: ClassVar[list[str]] = [
        "mail me at jane@example.com",
        "my SSN is 123-45-6789",
        "NI number AB 12 34 56 C",
        "DNI 12345678Z",
        "the server is 192.168.1.10",
        "card 4111 1111 1111 1111",
    ]
    benign: ClassVar[list[str]] = [
        "How long is the battery warranty?",
        "Released on 2024-01-15 as version 3.12.1.",
        "Order 12345 shipped.",
        "Revenue in 2025 was EUR 48.6 million, up 18 percent.",
        "use std::vector and a::b in C++",
    ]

    @pytest.fixture
    def guard(self) -> Guard:
        return PiiGuard(action="redact")


OUTPUT = GuardContext(stage="output")


@pytest.mark.parametrize("ssn", ["123-45-6789", "123 45 6789", "001-01-0001", "899-99-9999"])
def test_valid_ssns(ssn: str) -> None:
    assert ssn_valid(ssn)
    assert redact_pii(f"SSN {ssn}.") == "SSN [ssn]."


@pytest.mark.parametrize(
    "ssn",
    [
        "000-12-3456",  # area 000
        "666-12-3456",  # area 666
        "900-12-3456",  # area 900-999
        "987-65-4321",
        "123-00-4567",  # group 00
        "123-45-0000",  # serial 0000
        "078-05-1120",  # the Woolworth wallet sample
    ],
)
def test_invalid_ssns(ssn: str) -> None:
    assert not ssn_valid(ssn)
    assert "[ssn]" not in redact_pii(f"SSN {ssn}.")


def test_an_ssn_needs_one_separator_style() -> None:
    assert "[ssn]" not in redact_pii("ref 123-45 6789")
    assert redact_pii("ref 123456789") == "ref 123456789"  # a bare run: an order number


@pytest.mark.parametrize("nino", ["AB123456C", "AB 12 34 56 C", "ce 12 34 56 d", "JG103759A"])
def test_valid_ninos(nino: str) -> None:
    assert nino_valid(nino)
    assert redact_pii(f"NINO: {nino}") == "NINO: [nino]"


@pytest.mark.parametrize(
    "nino",
    [
        "DA123456A",  # D never first
        "QQ123456A",  # Q never first
        "AO123456A",  # O never second
        "AV123456B",  # V never second
        "GB123456A",  # a prefix never issued
        "NK123456A",
        "TN123456A",
        "ZZ123456A",
        "AB123456E",  # suffix A-D only
    ],
)
def test_invalid_ninos(nino: str) -> None:
    assert not nino_valid(nino)
    assert "[nino]" not in redact_pii(f"NINO: {nino}")


@pytest.mark.parametrize(
    ("value", "kind"),
    [("12345678Z", "dni"), ("12345678-z", "dni"), ("X1234567L", "nie"), ("Y7654321G", "nie")],
)
def test_valid_spanish_ids(value: str, kind: str) -> None:
    assert spanish_id_kind(value) == kind
    assert redact_pii(f"documento {value}.") == f"documento [{kind}]."


@pytest.mark.parametrize("value", ["12345678A", "X1234567A", "Y7654321Z", "1234567Z"])
def test_invalid_spanish_ids(value: str) -> None:
    assert spanish_id_kind(value) is None
    assert redact_pii(f"documento {value}.") == f"documento {value}."


@pytest.mark.parametrize(
    "ip",
    ["192.168.1.10", "8.8.8.8", "255.255.255.255", "2001:db8::8a2e:370:7334", "fe80::1",
     "::ffff:192.0.2.1", "2001:0db8:0000:0000:0000:ff00:0042:8329"],
)  # fmt: skip
def test_ip_addresses(ip: str) -> None:
    assert ip_valid(ip)
    assert redact_pii(f"from {ip}.") == "from [ip]."


@pytest.mark.parametrize(
    "text", ["256.1.1.1", "1.2.3", "10:30:00", "1.2.3.4.5", "::", "12:34", "std::vector"]
)
def test_not_ip_addresses(text: str) -> None:
    assert redact_pii(f"see {text} here") == f"see {text} here"


def test_findings_have_spans_and_labels() -> None:
    text = "Write to jane@example.com, SSN 123-45-6789, from 10.0.0.1"
    findings = find_pii(text)
    assert [f.label for f in findings] == ["email", "ssn", "ip"]
    assert [text[f.start : f.end] for f in findings] == [
        "jane@example.com",
        "123-45-6789",
        "10.0.0.1",
    ]


def test_redact_block_and_flag() -> None:
    text = "call +1 415 555 0100 or mail jane@example.com"
    redacted = PiiGuard(action="redact").check(text, OUTPUT)
    assert redacted.action == "redact"
    assert redacted.redacted == "call [phone] or mail [email]"
    assert redacted.reasons == ("pii.email", "pii.phone")
    blocked = PiiGuard(action="block").check(text, OUTPUT)
    assert blocked.blocked and blocked.redacted is None and blocked.score == 1.0
    flagged = PiiGuard(action="flag").check(text, OUTPUT)
    assert flagged.action == "flag" and len(flagged.findings) == 2


def test_labels_limit_what_counts() -> None:
    guard = PiiGuard(labels=["email"])
    assert not guard.check("call +1 415 555 0100", OUTPUT).triggered
    assert guard.check("jane@example.com", OUTPUT).triggered
    with pytest.raises(ValueError, match="unknown PII labels"):
        PiiGuard(labels=["name"])


def test_stages_default_to_output() -> None:
    assert PiiGuard().stages == {"output"}
    assert PiiGuard(stages=["input", "output"]).stages == {"input", "output"}


def test_trace_redaction_uses_the_same_detector() -> None:
    from ragline.trace import redact_pii as trace_redact

    assert trace_redact("SSN 123-45-6789 from 10.0.0.1") == "SSN [ssn] from [ip]"
