"""PII redaction for traces: the detector of :mod:`ragline.guards._pii`, shared.

Every match is replaced by a typed marker (``[email]``, ``[phone]``, ``[card]``,
``[iban]``, ``[ip]``, ``[ssn]``, ``[nino]``, ``[dni]``, ``[nie]``); see that module for
the rules and checksums. One detector, so a trace never shows what the PII guard
would have redacted from an answer.

>>> redact_pii("Mail jane.doe@example.com or call +1 415 555 0100.")
'Mail [email] or call [phone].'
"""

from __future__ import annotations

from ragline.guards._pii import IBAN_LENGTHS, iban_valid, luhn_valid, redact_pii

__all__ = ["IBAN_LENGTHS", "iban_valid", "luhn_valid", "redact_pii"]
