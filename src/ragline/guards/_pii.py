"""PII: one detector, shared by the PII guard and trace redaction.

:func:`find_pii` returns the spans of personal data in a text, each with a label;
:func:`redact_pii` replaces each by a typed marker (``[email]``, ``[phone]`` …).
Checksums are used wherever the format has one, so order numbers, versions and
other long digit runs are left alone:

- ``email``;
- ``iban``: ISO 13616, known country length and mod-97;
- ``card``: 13–19 digits (spaces or dashes between them) passing the Luhn check;
- ``ssn`` (US): ``AAA-GG-SSSS`` (dashes or spaces), never area 000, 666 or 900–999,
  group 00 or serial 0000 (the SSA's rules; bare nine-digit runs are not matched);
- ``nino`` (UK National Insurance number): two letters, six digits, suffix A–D; the
  first letter never D F I Q U V, the second never D F I O Q U V, and not the
  prefixes BG GB KN NK NT TN ZZ (HMRC's rules);
- ``dni`` / ``nie`` (Spain): eight digits, or X/Y/Z and seven digits, then the check
  letter ``TRWAGMYFPDXBNJZSQVHLCKE[number % 23]``;
- ``ip``: IPv4 (four octets 0–255) and IPv6 (validated by :mod:`ipaddress`);
- ``phone``: 7–15 digits written like a phone number: starting with ``+`` or ``(``,
  or in groups separated by spaces, dots or dashes (ISO dates are not phones).

Detectors run in that order over one copy of the text in which what an earlier one
found is masked, so a span is labelled once. Every scan is a linear regex pass.
Names and postal addresses are not detected: no offline library does them well
enough without a model we would have to ship (Presidio's recognizers for them need
spaCy's models); that is left to a later, opt-in detector.

>>> redact_pii("Mail jane.doe@example.com or call +1 415 555 0100.")
'Mail [email] or call [phone].'
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Collection

from ragline.guards._base import Action, Finding, GuardContext, GuardStage, Verdict, allow

EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
CARD = re.compile(r"(?<![\d+-])\d(?:[ -]?\d){12,18}(?![\d-])")
SSN = re.compile(r"(?<![\w-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\w-])")
NINO = re.compile(r"(?<![\w])([A-Z]{2}) ?(\d{2}) ?(\d{2}) ?(\d{2}) ?([A-D])(?!\w)", re.IGNORECASE)
DNI = re.compile(r"(?<![\w-])([XYZ]?)(\d{7,8})[ -]?([A-Z])(?!\w)", re.IGNORECASE)
IPV4 = re.compile(r"(?<![\w.:])(?:\d{1,3}\.){3}\d{1,3}(?!\w|\.\d)")
IPV6 = re.compile(r"(?<![\w:.])[0-9A-Fa-f:][0-9A-Fa-f:.]{1,44}(?![\w:])")
PHONE = re.compile(
    # "+31 6 1234 5678", "+33 1 23 45 67 89": one digit may follow the country code
    r"(?<![\w+])(?:\+\d{1,3}[ .-]?(?:\d[ .-])?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){1,4}"
    r"(?![\w-])"
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

PII_LABELS: tuple[str, ...] = ("email", "iban", "card", "ssn", "nino", "dni", "nie", "ip", "phone")
DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
_NINO_BAD_FIRST = set("DFIQUV")
_NINO_BAD_SECOND = set("DFIOQUV")
_NINO_BAD_PREFIXES = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}
#: numbers the SSA never issued though they pass the format rules (advertising samples)
_SSN_NEVER_ISSUED = {"078051120", "219099999", "457555462"}


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
    if not iban.isascii() or not iban.isalnum():
        return False
    rearranged = iban[4:] + iban[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return int(number) % 97 == 1


def ssn_valid(text: str) -> bool:
    """A US Social Security number the SSA could have issued (format ``AAA-GG-SSSS``)."""
    digits = re.sub(r"[- ]", "", text)
    if len(digits) != 9 or not digits.isdigit() or not digits.isascii():
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if area in {"000", "666"} or area >= "900" or group == "00" or serial == "0000":
        return False
    return digits not in _SSN_NEVER_ISSUED


def nino_valid(text: str) -> bool:
    """A UK National Insurance number with an allowed prefix and suffix A–D."""
    nino = text.replace(" ", "").upper()
    if len(nino) != 9 or not nino.isascii():
        return False
    prefix, digits, suffix = nino[:2], nino[2:8], nino[8]
    if not prefix.isalpha() or not digits.isdigit() or suffix not in "ABCD":
        return False
    if prefix[0] in _NINO_BAD_FIRST or prefix[1] in _NINO_BAD_SECOND:
        return False
    return prefix not in _NINO_BAD_PREFIXES


def spanish_id_kind(text: str) -> str | None:
    """``"dni"`` or ``"nie"`` when ``text`` is a Spanish id with the right check letter."""
    value = re.sub(r"[- ]", "", text).upper()
    if not value.isascii() or len(value) != 9:
        return None
    kind = "dni"
    if value[0] in "XYZ":
        value = str("XYZ".index(value[0])) + value[1:]
        kind = "nie"
    number, letter = value[:8], value[8]
    if not number.isdigit() or not letter.isalpha():
        return None
    return kind if DNI_LETTERS[int(number) % 23] == letter else None


def ip_valid(text: str) -> bool:
    """An IPv4 or IPv6 address (``ipaddress`` decides)."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


# -- the detectors: (label, pattern, accept) where accept returns the label or None -----


def _card(m: re.Match[str]) -> str | None:
    digits = re.sub(r"[ -]", "", m.group())
    return "card" if 13 <= len(digits) <= 19 and luhn_valid(digits) else None


def _phone(m: re.Match[str]) -> str | None:
    text = m.group()
    digits = sum(c.isdigit() for c in text)
    if not 7 <= digits <= 15 or _DATE.fullmatch(text.strip()):
        return None
    return "phone"


def _ipv6(m: re.Match[str]) -> str | None:
    text = m.group().rstrip(".")
    if text.count(":") < 2 or sum(c not in ":." for c in text) < 2:
        return None
    return "ip" if ip_valid(text) else None


def _spanish(m: re.Match[str]) -> str | None:
    prefix, digits = m.group(1), m.group(2)
    if len(prefix) + len(digits) != 8:  # a DNI has 8 digits, a NIE a letter and 7
        return None
    return spanish_id_kind(m.group())


_Accept = Callable[[re.Match[str]], str | None]
_DETECTORS: tuple[tuple[re.Pattern[str], _Accept, bool], ...] = (
    # (pattern, accept, needs a digit in the text)
    (EMAIL, lambda m: "email", False),
    (IBAN, lambda m: "iban" if iban_valid(m.group()) else None, True),
    (CARD, _card, True),
    (SSN, lambda m: "ssn" if ssn_valid(m.group()) else None, True),
    (NINO, lambda m: "nino" if nino_valid(m.group()) else None, True),
    (DNI, _spanish, True),
    (IPV4, lambda m: "ip" if ip_valid(m.group()) else None, True),
    (IPV6, _ipv6, True),  # an address without a digit is more likely C++'s a::b
    (PHONE, _phone, True),
)


def find_pii(text: str, *, labels: Collection[str] | None = None) -> list[Finding]:
    """The PII spans of ``text`` in order, each labelled once (see the module docstring);
    ``labels`` keeps only those kinds."""
    if not text:
        return []
    has_digit = any(c.isdigit() for c in text)
    if not has_digit and "@" not in text:
        return []
    findings: list[Finding] = []
    work = text  # what a detector found is masked here, so later ones skip it
    for pattern, accept, needs_digit in _DETECTORS:
        if needs_digit and not has_digit:
            continue
        found: list[Finding] = []
        for m in pattern.finditer(work):
            label = accept(m)
            if label is None:
                continue
            end = m.end()
            if label == "ip":  # a sentence's full stop is not part of the address
                end = m.start() + len(m.group().rstrip("."))
            found.append(Finding(m.start(), end, label))
        if found:
            parts, last = [], 0
            for f in found:
                parts.append(work[last : f.start])
                parts.append("#" * (f.end - f.start))
                last = f.end
            parts.append(work[last:])
            work = "".join(parts)
            findings.extend(found)
    findings.sort(key=lambda f: f.start)
    if labels is not None:
        findings = [f for f in findings if f.label in labels]
    return findings


def redact(text: str, findings: list[Finding]) -> str:
    """``text`` with each finding replaced by ``[label]`` (findings in order, disjoint)."""
    parts, last = [], 0
    for f in findings:
        parts.append(text[last : f.start])
        parts.append(f"[{f.label}]")
        last = f.end
    parts.append(text[last:])
    return "".join(parts)


def redact_pii(text: str) -> str:
    """``text`` with every kind of PII this module finds masked by a typed marker."""
    findings = find_pii(text)
    return redact(text, findings) if findings else text


#: the kinds ``allow_published`` lets through: contact details a company publishes
#: (an IBAN or a card number in a document is no contact detail, and a planted
#: "wire the refund to IBAN …" must stay redacted)
PUBLISHED_LABELS: frozenset[str] = frozenset({"email", "phone"})


def pii_value(label: str, text: str) -> str:
    """What two spellings of one value share: an email case-folded, a number's digits
    (and letters: an IBAN, a NINO), so "020 555 0100" and "020-555-0100" are one."""
    if label == "email":
        return text.strip().casefold()
    return "".join(c for c in text if c.isalnum()).upper()


def compile_allow(allow: Collection[str]) -> tuple[frozenset[str], tuple[re.Pattern[str], ...]]:
    """``guards.pii.allow`` as (literal values, regexes): an entry written ``/…/`` is a
    regular expression a found value must match whole (any case), any other entry a
    literal value (compared as :func:`pii_value` spells it, and case-folded). A
    ValueError names a bad entry (see :func:`ragline._config_guards.check_pii_allow`)."""
    from ragline._config_guards import check_pii_allow

    check_pii_allow(allow)
    literals: set[str] = set()
    patterns: list[re.Pattern[str]] = []
    for entry in allow:
        if len(entry) >= 2 and entry.startswith("/") and entry.endswith("/"):
            patterns.append(re.compile(entry[1:-1], re.IGNORECASE))
        else:
            literals.add(entry.strip().casefold())
            literals.add("".join(c for c in entry if c.isalnum()).upper())
    literals.discard("")
    return frozenset(literals), tuple(patterns)


class PiiGuard:
    """Finds PII (see the module docstring) and applies ``action``: ``redact`` (the text
    goes on with typed markers), ``block`` or ``flag``.

    By default it checks answers (``output``); ``stages`` adds the question or the
    retrieved chunks. ``labels`` limits which kinds count (default: all of
    :data:`PII_LABELS`). The score is 1.0 when anything is found, 0.0 otherwise: a
    checksum either passes or it does not.

    Never counted: a value in ``allow`` (literal values, or ``/regex/`` entries, see
    :func:`compile_allow`), and with ``allow_published`` (the default) an email or
    phone number (:data:`PUBLISHED_LABELS`) that appears in the passages the answer is
    grounded on (``context.passages``): the company's support address in the knowledge
    base is published, a customer's number the answer made up or was told is not.
    """

    name = "pii"

    def __init__(
        self,
        *,
        action: Action = "redact",
        stages: Collection[GuardStage] = frozenset({"output"}),
        labels: Collection[str] | None = None,
        allow_published: bool = True,
        allow: Collection[str] = (),
    ) -> None:
        if action == "allow":
            raise ValueError("a PII guard that allows everything: disable it instead")
        unknown = set(labels or ()) - set(PII_LABELS)
        if unknown:
            raise ValueError(f"unknown PII labels {sorted(unknown)}: choose from {PII_LABELS}")
        self.action: Action = action
        self.stages: frozenset[GuardStage] = frozenset(stages)
        self.labels = frozenset(labels) if labels is not None else None
        self.allow_published = allow_published
        self.allowed, self.allowed_patterns = compile_allow(allow)

    def _allowed(self, text: str, finding: Finding, published: set[str] | None) -> bool:
        value = text[finding.start : finding.end]
        if self.allowed and (
            value.strip().casefold() in self.allowed
            or pii_value(finding.label, value) in self.allowed
        ):
            return True
        if any(p.fullmatch(value.strip()) for p in self.allowed_patterns):
            return True
        return published is not None and pii_value(finding.label, value) in published

    def _published(self, context: GuardContext) -> set[str] | None:
        """The emails and phone numbers of the passages, as :func:`pii_value` spells them."""
        if not self.allow_published or not context.passages:
            return None
        return {
            pii_value(f.label, passage[f.start : f.end])
            for passage in context.passages
            for f in find_pii(passage, labels=PUBLISHED_LABELS)
        }

    def check(self, text: str, context: GuardContext) -> Verdict:
        findings = find_pii(text, labels=self.labels)
        if findings and (self.allowed or self.allowed_patterns or context.passages):
            published = (
                self._published(context)
                if any(f.label in PUBLISHED_LABELS for f in findings)
                else None
            )
            findings = [
                f
                for f in findings
                if not self._allowed(text, f, published if f.label in PUBLISHED_LABELS else None)
            ]
        if not findings:
            return allow(self.name)
        reasons = tuple(sorted({f"pii.{f.label}" for f in findings}))
        return Verdict(
            guard=self.name,
            action=self.action,
            score=1.0,
            reasons=reasons,
            findings=tuple(findings),
            redacted=redact(text, findings) if self.action == "redact" else None,
        )


__all__ = [
    "PII_LABELS",
    "PUBLISHED_LABELS",
    "PiiGuard",
    "compile_allow",
    "find_pii",
    "iban_valid",
    "ip_valid",
    "luhn_valid",
    "nino_valid",
    "pii_value",
    "redact",
    "redact_pii",
    "spanish_id_kind",
    "ssn_valid",
]
