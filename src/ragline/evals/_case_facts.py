"""What a bad trace and its feedback say a regression case should check.

- :func:`facts_from_note` reads expected facts out of a feedback note, e.g.
  ``"net income is EUR 3.2M"`` → ``must_contain=["EUR 3.2M"]``. It takes, in this
  order and never twice for the same words: quoted phrases (``"…"``, ``“…”``,
  ``'…'``) verbatim; money amounts (``EUR 3.2M``, ``€ 649``, ``$1.5bn``, ``40 million
  euros``); percentages (``18%``, ``18 percent``); numbers with a unit (``2 years``,
  ``800 cycles``, ``25 km``). A fact right after ``not``, ``never``, ``instead of`` or
  ``rather than`` (``"it is 2 years, not 5 years"``) goes to ``must_not_contain``
  instead. Anything else in the note (plain words, bare numbers such as a year) is
  not guessed at: the note is kept in the case's ``notes``, and ``ragline cases edit``
  adds what the heuristics missed.
- :func:`unsupported_sentences` reads the answer's sentences from the trace (the
  ``ragline.sentences`` span attribute) and returns those whose support is below
  ``answer.min_support``: the unsupported claims a fixed answer must not repeat.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ragline.store._traces import SpanRecord

_NUM = r"\d+(?:[.,]\d+)*"
_MAG = r"(?:\s?(?:m|mn|mio|million|bn|billion|k|thousand)\b)?"
_CODES = r"EUR|USD|GBP|CHF|SEK|NOK|DKK|JPY"
_UNITS = (
    r"years?|months?|weeks?|days?|hours?|minutes?|km|kilometres?|kilometers?|miles?|"
    r"cm|mm|kg|wh|kwh|cycles?|charges?"
)
_QUOTED = re.compile(
    r"\"(?P<a>[^\"\n]{2,200})\"|“(?P<b>[^”\n]{2,200})”|‘(?P<c>[^’\n]{2,200})’"
    r"|(?:^|(?<=[\s(\[]))'(?P<d>[^'\n]{2,200})'(?=$|[\s.,;:!?)\]])"
)
_PATTERNS = (  # money (code or sign first, then last), percentages, numbers with a unit
    re.compile(rf"(?:\b(?:{_CODES})|[€$£])\s?{_NUM}{_MAG}", re.IGNORECASE),
    re.compile(
        rf"(?<![\w.,]){_NUM}{_MAG}\s?(?:(?:{_CODES}|euros?|dollars?|pounds?)\b|[€$£])",
        re.IGNORECASE,
    ),
    re.compile(rf"(?<![\w.,]){_NUM}\s?(?:%|percent\b|per cent\b)", re.IGNORECASE),
    re.compile(rf"(?<![\w.,]){_NUM}\s?(?:{_UNITS})\b", re.IGNORECASE),
)
_NEGATION = re.compile(r"(?:\bnot|n't|\bnever|\binstead of|\brather than)\s*$", re.IGNORECASE)
_TRAILING = ".,;:!?"


@dataclass(slots=True)
class NoteFacts:
    """What :func:`facts_from_note` found: facts to find, and facts said to be wrong."""

    must_contain: list[str] = field(default_factory=list)
    must_not_contain: list[str] = field(default_factory=list)


def facts_from_note(note: str | None) -> NoteFacts:
    """Expected (and negated) facts in a feedback note, in the order they appear."""
    found = NoteFacts()
    if not note or not note.strip():
        return found
    taken: list[tuple[int, int]] = []
    spans: list[tuple[int, str, bool]] = []

    def take(start: int, end: int, text: str) -> None:
        text = text.strip().rstrip(_TRAILING).strip()
        if not text or any(start < e and s < end for s, e in taken):
            return
        taken.append((start, end))
        negated = _NEGATION.search(note[:start]) is not None
        spans.append((start, text, negated))

    for m in _QUOTED.finditer(note):
        group = next(g for g in ("a", "b", "c", "d") if m.group(g) is not None)
        take(m.start(), m.end(), m.group(group))
    for pattern in _PATTERNS:
        for m in pattern.finditer(note):
            take(m.start(), m.end(), m.group(0))
    for _, text, negated in sorted(spans):
        target = found.must_not_contain if negated else found.must_contain
        if text.casefold() not in (t.casefold() for t in target):
            target.append(text)
    return found


def _sentence_records(spans: Sequence[SpanRecord]) -> list[dict[str, object]]:
    """The ``ragline.sentences`` of the span that recorded them last (the cite stage's,
    else the answer's)."""
    for span in sorted(spans, key=lambda s: s.end, reverse=True):
        value = span.attributes.get("ragline.sentences")
        if isinstance(value, list):
            return [s for s in value if isinstance(s, dict)]
    return []


def abstained(spans: Sequence[SpanRecord]) -> bool:
    """True when a span of the trace recorded an abstention."""
    return any(s.attributes.get("ragline.abstained") is True for s in spans)


def unsupported_sentences(spans: Sequence[SpanRecord], min_support: float) -> list[str]:
    """Sentences of the traced answer whose support is below ``min_support``."""
    out: list[str] = []
    for record in _sentence_records(spans):
        text, support = record.get("text"), record.get("support")
        if not (isinstance(text, str) and text.strip() and isinstance(support, (int, float))):
            continue
        if support < min_support and text.strip() not in out:
            out.append(text.strip())
    return out


__all__ = ["NoteFacts", "abstained", "facts_from_note", "unsupported_sentences"]
