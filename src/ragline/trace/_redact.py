"""PII redaction for traces: emails, phone numbers, card numbers, IBANs.

Every match is replaced by a typed marker (``[email]``, ``[phone]``, ``[card]``,
``[iban]``). Card numbers are 13–19 digits (spaces or dashes allowed between them)
that pass the Luhn check; IBANs must pass the ISO 13616 mod-97 check, so order
numbers and other long digit runs are left alone. Phone numbers are 7–15 digits
written like a phone number: starting with ``+`` or ``(``, or in groups separated by
spaces, dots or dashes (ISO dates such as 2024-01-15 are not phone numbers).

>>> redact_pii("Mail jane.doe@example.com or call +1 415 555 0100.")
'Mail [email] or call [phone].'
"""

from __future__ import annotations

import re

EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
CARD = re.compile(r"(?<![\d+-])\d(?:[ -]?\d){12,18}(?![\d-])")
PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){1,4}(?![\w-])"
    r"|(?<![\w+])\+\d{7,15}(?!\w)"
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{2}[./-]\d{2}[./-]\d{4}|\d{4}\.\d{2}\.\d{2}")

#: length of an IBAN per country (ISO 13616 registry, the common ones)
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24,
    "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31,
    "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TN": 24, "TR": 26, "UA": 29, "VA": 22,
    "VG": 24, "XK": 20,
}  # fmt: skip


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of a digit string (card numbers)."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_valid(text: str) -> bool:
    """ISO 13616: known country length and ``mod 97 == 1`` of the rearranged number."""
    iban = text.replace(" ", "").upper()
    if len(iban) < 15 or not iban[:2].isalpha() or not iban[2:4].isdigit():
        return False
    expected = IBAN_LENGTHS.get(iban[:2])
    if expected is not None and len(iban) != expected:
        return False
    if not iban.isalnum():
        return False
    rearranged = iban[4:] + iban[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return int(number) % 97 == 1


def _card(m: re.Match[str]) -> str:
    digits = re.sub(r"[ -]", "", m.group())
    if 13 <= len(digits) <= 19 and luhn_valid(digits):
        return "[card]"
    return m.group()


def _iban(m: re.Match[str]) -> str:
    return "[iban]" if iban_valid(m.group()) else m.group()


def _phone(m: re.Match[str]) -> str:
    text = m.group()
    digits = sum(c.isdigit() for c in text)
    if not 7 <= digits <= 15 or _DATE.fullmatch(text.strip()):
        return text
    return "[phone]"


def redact_pii(text: str) -> str:
    """``text`` with emails, IBANs, Luhn-valid card numbers and phone numbers masked."""
    if not text:
        return text
    text = EMAIL.sub("[email]", text)
    if any(c.isdigit() for c in text):
        text = IBAN.sub(_iban, text)
        text = CARD.sub(_card, text)
        text = PHONE.sub(_phone, text)
    return text
