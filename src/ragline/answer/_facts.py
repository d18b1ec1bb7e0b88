"""Hard fact checks of a sentence against a passage: names, figures, roles.

A sentence can share nearly every word and most of its meaning with a passage and
still be wrong: "made by the Colombian manufacturer" when the passage says
Brazilian, "net profit was EUR 18.6 million" when 18.6 is the gross profit, "5 years"
against "2 years", "Jim Tomlinson is a married singer" when the passage's singer is
Stacey Kent. A similarity score ranks those high; these rules say no.

:func:`fact_problem` returns the first problem found, as ``(code, detail)``:

- ``missing_entity`` — a name the sentence uses (a capitalised word that is not a
  stopword: people, places, nationalities, months, codes such as ``Q3``) appears
  nowhere in the passage (a shared stem of four letters or more counts as present:
  Brazil/Brazilian);
- ``number_mismatch`` — a figure written in digits (thousands separators and scale
  words understood: ``EUR 18.6 million`` = ``18,600,000``; ``five years`` counts when
  a unit follows) that the passage does not state, or states for another measure
  (a word before the figure in the sentence that the passage puts next to a
  different figure, and not next to this one);
- ``predicate_mismatch`` — ``<Name> is a … <role>`` where the passage gives that role
  to someone else and never to that name.

:func:`is_content_free` says a sentence has no content words ("Yes!", "Sure.",
"Thanks."): it states nothing to check, so the checker skips it. The rules are
regular expressions over the text (well under a millisecond a sentence) and are
language-agnostic except for the English stopwords and role phrasing.
"""

from __future__ import annotations

import functools
import re

from ragline._text import FILLER, STOPWORDS, is_content_free, stem, words

#: capitalised words that are not names at the start of a sentence
LEADING_TEXT = """
    also however yes no sure according based overall in on at for from as after before
    during while since although though because if when where there here this these those
    today yesterday tomorrow finally first second third next then thus hence therefore
    unfortunately fortunately note please
"""
LEADING = frozenset(LEADING_TEXT.split())

_TOKEN = re.compile(r"[^\W_][\w'’]*", re.UNICODE)  # hyphenated names split in two
_NUMBER = re.compile(
    r"(?<![\w.])(\d+(?:[.,]\d+)*)(?!\d)(?!(?:st|nd|rd|th)\b)"  # not ordinals (7th)
    r"(?:\s?(million|billion|thousand|bn|m|k|mn)\b)?",
    re.IGNORECASE,
)
_SPELLED_TEXT = "zero one two three four five six seven eight nine ten eleven twelve"
_SPELLED = {w: i for i, w in enumerate(_SPELLED_TEXT.split())}
_UNIT_AFTER = re.compile(
    r"\s+(?:years?|months?|weeks?|days?|hours?|minutes?|times|percent|per cent|million|"
    r"billion|thousand|people|employees|members|titles|albums|seasons|episodes)\b",
    re.IGNORECASE,
)
_SPELLED_RE = re.compile(r"\b(" + "|".join(_SPELLED) + r")\b", re.IGNORECASE)
_SCALE = {"million": 1e6, "m": 1e6, "mn": 1e6, "billion": 1e9, "bn": 1e9, "thousand": 1e3}
_SCALE["k"] = 1e3
_APPROX = re.compile(
    r"\b(?:about|around|roughly|approximately|nearly|almost|over|more than|less than|"
    r"under|some|circa|~)\s*(?:\S+\s)?$",
    re.IGNORECASE,
)
_CLAUSE_BREAK = re.compile(r"[,;:()\[\]]")
_COPULA = re.compile(
    r"^\s*((?:[A-Z][\w'’.-]*\s+){0,4}[A-Z][\w'’.-]*)\s+(?:is|was|has been)\s+(?:an?|the)\s+"
    r"((?:[\w-]+\s+){0,3}?[\w-]+)\s*(?:[.,;!?]|$|\s+(?:who|that|and|of|in|from|with|for|by|"
    r"at|on|to)\b)"
)

_SUBJECT = re.compile(r"((?:[A-Z][\w'’.-]*\s+)*[A-Z][\w'’.-]*)\s+(?:is|was)\s+(?:an?|the)\b")


def _fold(word: str) -> str:
    """``"Arthur's"`` → ``arthur``; ``"Dutch-Belgian"`` → ``dutchbelgian``."""
    return "".join(words(re.sub(r"['’]s?$", "", word)))


@functools.lru_cache(maxsize=4096)
def _passage_words(passage: str) -> frozenset[str]:
    return frozenset(words(passage))


def entities(sentence: str) -> list[str]:
    """Folded names in ``sentence``: capitalised non-stopword words, acronyms, codes."""
    out: list[str] = []
    first = True
    for m in _TOKEN.finditer(sentence):
        raw = m.group()
        start = first
        first = False
        if not raw[0].isupper():
            continue
        low = _fold(raw)
        if not low or low in STOPWORDS or low in FILLER:
            continue
        if start and low in LEADING:
            continue
        out.append(low)
    return list(dict.fromkeys(out))


def _present(name: str, vocabulary: frozenset[str]) -> bool:
    if name in vocabulary:
        return True
    if len(name) < 4 or not name.isalpha():
        return False
    root = name[:4]
    for w in vocabulary:
        if w.startswith(root) and len(w) >= 4 and (w.startswith(name) or name.startswith(w)):
            return True
    return stem(name) in {stem(w) for w in vocabulary if w[:3] == name[:3]}


def _value(digits: str, scale: str | None) -> float:
    parts = re.split(r"[.,]", digits)
    if (len(parts) > 1 and all(len(p) == 3 for p in parts[1:]) and "," in digits) or digits.count(
        "."
    ) + digits.count(",") > 1:
        number = float("".join(parts))
    else:
        number = float(digits.replace(",", "."))
    return number * _SCALE.get((scale or "").lower(), 1.0)


def figures(text: str, *, spelled: bool) -> list[tuple[float, int, int]]:
    """``(value, start, end)`` of each figure in ``text``; spelled-out small numbers
    count when ``spelled`` is true, or when a unit follows ("five years")."""
    out = [(_value(m[1], m[2]), m.start(), m.end()) for m in _NUMBER.finditer(text)]
    for m in _SPELLED_RE.finditer(text):
        if spelled or _UNIT_AFTER.match(text, m.end()):
            out.append((float(_SPELLED[m[1].lower()]), m.start(), m.end()))
    return out


def _close(a: float, b: float, *, approximate: bool) -> bool:
    if abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1.0):
        return True
    if a == 0 or b == 0:
        return False
    if approximate:
        return abs(a - b) <= 0.1 * max(abs(a), abs(b))
    return abs(a - b) <= 0.051 * max(abs(a), abs(b)) and min(a, b) >= 1e3  # rounded big sums


def _terms(text: str) -> set[str]:
    return {stem(w) for w in words(text) if w not in STOPWORDS and not w[0].isdigit()}


def _before(text: str, start: int, n_words: int, *, clause: bool) -> set[str]:
    head = text[max(0, start - 80) : start]
    if clause:
        head = _CLAUSE_BREAK.split(head)[-1]
    ws = [w for w in words(head) if w not in STOPWORDS and not w[0].isdigit()]
    return {stem(w) for w in ws[-n_words:]} - _CURRENCY


_CURRENCY = {"eur", "usd", "gbp", "euro", "dollar", "pound", "chf", "jpy", "us"}


def _number_problem(sentence: str, passage: str) -> str | None:
    found = figures(passage, spelled=True)
    for value, start, _ in figures(sentence, spelled=False):
        approximate = bool(_APPROX.search(sentence[max(0, start - 20) : start]))
        matches = [f for f in found if _close(value, f[0], approximate=approximate)]
        label = sentence[start : start + 24].split(",")[0].strip().rstrip(".!?;: ")
        if not matches:
            return f"'{label}' is not in the passage"
        context = _before(sentence, start, 3, clause=True)
        near = [_before(passage, s, 8, clause=False) for _, s, _ in matches]
        others = [
            _before(passage, s, 8, clause=False) for v, s, _ in found if (v, s, _) not in matches
        ]
        elsewhere = set().union(*others) if others else set()
        for term in context:
            if term in elsewhere and not any(term in n for n in near):
                return f"the passage gives '{label}' for something else, not '{term}'"
    return None


def _names(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, folded words)`` of runs of capitalised words."""
    return [
        (m.start(), m.end(), " ".join(entities(m.group()) or [m.group().lower()]))
        for m in re.finditer(r"(?:[A-Z][\w'’.-]*\s+)*[A-Z][\w'’.-]*", text)
    ]


def _predicate_problem(sentence: str, passage: str) -> str | None:
    m = _COPULA.match(sentence)
    if m is None:
        return None
    subject = set(entities(m[1]))
    role = stem(words(m[2])[-1]) if words(m[2]) else ""
    if not subject or not role or role in STOPWORDS:
        return None
    holders: list[set[str]] = []
    names = _names(passage)
    for w in re.finditer(r"[\w-]+", passage):
        if stem(w.group().lower()) != role:
            continue
        after = [n for n in names if 0 <= n[0] - w.end() <= 2]
        if after:
            holders.append(set(after[0][2].split()))
            continue
        clause = re.split(r"[.;]", passage[: w.start()])[-1]
        cm = _SUBJECT.search(clause)
        if cm:
            holders.append(set(entities(cm[1])))
    if not holders or any(h & subject for h in holders):
        return None
    if not subject & _passage_words(passage):
        return None  # the name itself is missing: reported as missing_entity
    return f"the passage does not call {m[1].strip()} a {words(m[2])[-1]}"


def fact_problem(sentence: str, passage: str) -> tuple[str, str] | None:
    """The first hard problem of ``sentence`` against ``passage`` (module doc), or None."""
    vocabulary = _passage_words(passage)
    missing = [e for e in entities(sentence) if not _present(e, vocabulary)]
    if missing:
        return "missing_entity", "not in the passage: " + ", ".join(missing)
    number = _number_problem(sentence, passage)
    if number is not None:
        return "number_mismatch", number
    predicate = _predicate_problem(sentence, passage)
    if predicate is not None:
        return "predicate_mismatch", predicate
    return None


__all__ = ["FILLER", "LEADING", "entities", "fact_problem", "figures", "is_content_free"]
