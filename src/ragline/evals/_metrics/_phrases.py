"""Finding a fact in an answer: case-insensitive, with numbers compared as numbers.

``must_contain`` and ``must_not_contain`` both use :func:`contains_phrase`. Both
sides are folded the same way (:func:`fold_text`): casefolded, whitespace collapsed,
thousands separators removed (``3,200,000`` = ``3200000``), a currency sign before an
amount written as its code (``€3.2`` = ``EUR 3.2``, ``$`` = USD, ``£`` = GBP) and a
magnitude after a number written out (``3.2M`` = ``3.2 mn`` = ``3.2 million``; ``bn``,
``k`` likewise). A phrase that starts or ends with a digit matches only a whole
number: ``3.2`` is not found in ``13.2`` or ``3.25``, ``EUR 3`` not in ``EUR 3.5``.
"""

from __future__ import annotations

import re
from functools import lru_cache

_SPACE = re.compile(r"\s+")
_THOUSANDS = re.compile(r"(?<=\d)[,\u202f\u00a0'](?=\d{3}(?!\d))")
_CURRENCY = (
    (re.compile(r"€\s?(?=\d)"), "eur "),
    (re.compile(r"\$\s?(?=\d)"), "usd "),
    (re.compile(r"£\s?(?=\d)"), "gbp "),
)
_MAGNITUDE = (
    (re.compile(r"(?<=\d)\s?(?:m|mn|mio|million)\b"), " million"),
    (re.compile(r"(?<=\d)\s?(?:bn|billion)\b"), " billion"),
    (re.compile(r"(?<=\d)\s?(?:k|thousand)\b"), " thousand"),
)


def fold_text(text: str) -> str:
    """``text`` folded for matching (see the module docstring)."""
    text = _THOUSANDS.sub("", text.casefold())
    for pattern, code in _CURRENCY:
        text = pattern.sub(code, text)
    for pattern, word in _MAGNITUDE:
        text = pattern.sub(word, text)
    return _SPACE.sub(" ", text).strip()


@lru_cache(maxsize=1024)
def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    pattern = re.escape(phrase)
    if phrase[:1].isdigit():  # not the tail of a longer number: 3.2 in 13.2 or 0.32
        pattern = r"(?<!\d)(?<!\d[.,])" + pattern
    if phrase[-1:].isdigit():  # not the head of a longer number: 3 in 3.5 or 32
        pattern += r"(?!\d|[.,]\d)"
    return re.compile(pattern)


def contains_phrase(text: str, phrase: str) -> bool:
    """``phrase`` in ``text`` (both folded); an empty phrase is never found."""
    needle = fold_text(phrase)
    if not needle:
        return False
    return _phrase_pattern(needle).search(fold_text(text)) is not None


__all__ = ["contains_phrase", "fold_text"]
