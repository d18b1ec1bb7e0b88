"""PII redaction: what is masked, and what must be left alone."""

from __future__ import annotations

import pytest

from ragline.trace import redact_pii
from ragline.trace._redact import iban_valid, luhn_valid


@pytest.mark.parametrize(
    "text",
    [
        "jane.doe@example.com",
        "JANE+tag@mail.example.co.uk",
        "a_b-c.d@sub-domain.example.org",
    ],
)
def test_emails(text: str) -> None:
    assert redact_pii(f"write to {text} today") == "write to [email] today"


@pytest.mark.parametrize(
    "number",
    [
        "4111 1111 1111 1111",  # Visa test number
        "4111-1111-1111-1111",
        "4111111111111111",
        "5500 0000 0000 0004",  # Mastercard
        "3400 000000 00009",  # Amex, 15 digits
        "4222222222222",  # 13 digits
        "6011 0000 0000 0004",
    ],
)
def test_luhn_valid_card_numbers(number: str) -> None:
    assert redact_pii(f"card: {number}.") == "card: [card]."


@pytest.mark.parametrize(
    "number",
    [
        "4111 1111 1111 1112",  # fails the Luhn check
        "1234567890123456",
        "order 20250101123456",  # 14 digits, not Luhn-valid
    ],
)
def test_digit_runs_that_are_not_cards_stay(number: str) -> None:
    assert "[card]" not in redact_pii(number)


def test_luhn() -> None:
    assert luhn_valid("79927398713") and not luhn_valid("79927398710")
    assert not luhn_valid("12a4")


@pytest.mark.parametrize(
    "iban",
    [
        "DE89 3704 0044 0532 0130 00",
        "DE89370400440532013000",
        "GB82 WEST 1234 5698 7654 32",
        "FR14 2004 1010 0505 0001 3M02 606",
        "NL91 ABNA 0417 1643 00",
    ],
)
def test_valid_ibans(iban: str) -> None:
    assert iban_valid(iban)
    assert redact_pii(f"pay to {iban} now") == "pay to [iban] now"


@pytest.mark.parametrize(
    "text",
    [
        "DE89 3704 0044 0532 0130 01",  # wrong check digits
        "GB82 WEST 1234 5698 7654",  # too short for GB
        "XX00 1234 5678 9012 3456",
    ],
)
def test_invalid_ibans_are_not_masked_as_ibans(text: str) -> None:
    assert not iban_valid(text)
    assert "[iban]" not in redact_pii(text)


@pytest.mark.parametrize(
    "phone",
    [
        "+1 415 555 0100",
        "+44 20 7946 0958",
        "(415) 555-0100",
        "415-555-0100",
        "030 1234 5678",
        "+4915112345678",
        "06.12.34.56.78",
    ],
)
def test_phone_numbers(phone: str) -> None:
    assert redact_pii(f"call {phone} please") == "call [phone] please"


@pytest.mark.parametrize(
    "text",
    [
        "Revenue in 2025 was EUR 48.6 million, up 18 percent.",
        "Released on 2024-01-15 as version 3.12.1.",
        "See section 4.2 on page 12.",
        "The X200 weighs 2.5 kg and costs 199.99.",
        "Order 12345 shipped.",
        "15.03.2024",
    ],
)
def test_ordinary_text_is_unchanged(text: str) -> None:
    assert redact_pii(text) == text


def test_everything_in_one_text() -> None:
    text = (
        "Customer Jane (jane@example.com, +1 415 555 0100) paid with 4111 1111 1111 1111 "
        "from DE89 3704 0044 0532 0130 00 on 2024-01-15."
    )
    assert redact_pii(text) == (
        "Customer Jane ([email], [phone]) paid with [card] from [iban] on 2024-01-15."
    )


def test_empty_text() -> None:
    assert redact_pii("") == ""
