"""Word tokenization shared by keyword search and answer scoring: words, stopwords, stems.

The SQLite store indexes with FTS5's ``porter unicode61`` tokenizer and only needs
:func:`query_terms` to turn arbitrary user text into safe search terms. The memory
store indexes with :func:`tokenize` (lowercase words, stopwords dropped, a light
English suffix stemmer), which is close enough to FTS5 for the same tests to pass.
"""

from __future__ import annotations

import functools
import re
import unicodedata

_WORD = re.compile(r"\w+", re.UNICODE)

_STOPWORDS_TEXT = """
    a about above after again against all am an and any are as at be because
    been before being below between both but by can cannot could did do does doing
    down during each few for from further had has have having he her here hers herself
    him himself his how i if in into is it its itself just me more most my myself no nor
    not now of off on once only or other our ours ourselves out over own same she should
    so some such than that the their theirs them themselves then there these they this
    those through to too under until up very was we were what when where which while who
    whom why will with would you your yours yourself yourselves s t
"""

STOPWORDS: frozenset[str] = frozenset(_STOPWORDS_TEXT.split())

#: words that carry no claim on their own: a sentence of only these is content-free
_FILLER_TEXT = """
    yes yeah yep no nope sure ok okay thanks thank please hello hi hey great certainly
    absolutely indeed course right well oh ah alright fine good glad help happy welcome
    sorry anything else let know hope
"""
FILLER: frozenset[str] = frozenset(_FILLER_TEXT.split())


def _fold(text: str) -> str:
    """Lowercase and strip diacritics, as ``unicode61 remove_diacritics 2`` does."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    """Lowercase, diacritic-free word tokens (letters, digits, underscore)."""
    return _WORD.findall(_fold(text))


def is_content_free(sentence: str) -> bool:
    """True when ``sentence`` has no word outside the stopwords and fillers ("Yes!",
    "Sure.", "Thanks!"): it states nothing a passage could support or contradict."""
    return all(w in STOPWORDS or w in FILLER for w in words(sentence))


def query_terms(text: str, *, max_terms: int = 64) -> list[str]:
    """Distinct non-stopword words of ``text`` in first-seen order (at most ``max_terms``)."""
    seen: dict[str, None] = {}
    for w in words(text):
        if w not in STOPWORDS and w not in seen:
            seen[w] = None
            if len(seen) >= max_terms:
                break
    return list(seen)


@functools.lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A light English suffix stemmer (plurals, -ing, -ed, -ly); never below 3 letters."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix, repl in (
        ("ational", "ate"),
        ("ization", "ize"),
        ("fulness", "ful"),
        ("iveness", "ive"),
        ("ies", "y"),
        ("sses", "ss"),
        ("ing", ""),
        ("edly", ""),
        ("ed", ""),
        ("ly", ""),
        ("s", ""),
    ):
        if word.endswith(suffix) and len(word) - len(suffix) + len(repl) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            base = word[: len(word) - len(suffix)] + repl
            doubled = len(base) > 3 and base[-1] == base[-2] and base[-1] not in "lsz"
            if suffix in ("ing", "ed") and doubled:
                base = base[:-1]  # running -> run, stopped -> stop
            return base
    return word


def tokenize(text: str) -> list[str]:
    """Index/query tokens for the memory store's BM25: stemmed non-stopword words."""
    return [stem(w) for w in words(text) if w not in STOPWORDS]
