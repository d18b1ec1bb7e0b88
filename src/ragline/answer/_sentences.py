"""Sentence splitting for extractive answers.

Handles what plain ``split(". ")`` gets wrong: abbreviations (``Dr.``, ``e.g.``,
``U.S.``), initials (``J. R. R. Tolkien``), decimals and versions (``3.5``,
``v2.1``), list items (``- item``, ``1. item``, ``•``), Markdown headings and
short title lines, sentences wrapped over several lines, and text scraped without a
space after the period (``…in disease.Recent advances…``: a sentence longer than
``GLUED_MIN_WORDS`` words is split where a word, ``)`` or ``%`` is glued by a period to
a capitalised word — only in such overlong sentences, so ``ragline.Project is…`` in an
ordinary sentence stays whole).

Every :class:`Segment` is whitespace-normalised text that appears, modulo
whitespace, in the input (list markers and ``#`` are stripped off the front).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ABBREVIATIONS = """
    mr mrs ms dr prof sr jr st mt ft gen col lt sgt capt cmdr adm gov sen rep rev hon
    pres inc ltd co corp bros dept univ assn est approx appt apt vs etc al cf fig figs
    eq eqs no nos vol vols ch chap sec pp ed eds trans op cit ibid viz ca jan feb mar apr
    jun jul aug sep sept oct nov dec mon tue tues wed thu thurs fri sat sun e.g i.e u.s
    u.k u.n a.m p.m b.c a.d ph.d m.d b.a m.a b.sc m.sc d.c e.u n.b
"""
#: words that end with a period without ending the sentence (lower case, no final dot)
ABBREVIATIONS: frozenset[str] = frozenset(_ABBREVIATIONS.split())

_HEADING_MD = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*(?:[-*•‣◦▪–]|\(?\d{1,3}[.)]|\(?[a-zA-Z][.)])\s+(?=\S)")
_RULE = re.compile(r"^\s*([-*_=~])\1{2,}\s*$")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{3,}")
# a candidate boundary: terminal punctuation, optional closing quotes/brackets, space
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*\s+")
_TERMINAL = re.compile(r"[.!?…:;][\"'”’)\]]*$")
# "word.Word " with no space after the period; group 1 is what precedes the period
_GLUED = re.compile(r"([^\W_]+|[)\]%])\.(?=[A-Z][a-z]+[\s,;:])")
#: sentences at least this long are checked for glued boundaries
GLUED_MIN_WORDS = 40


@dataclass(frozen=True, slots=True)
class Segment:
    """A sentence, list item or heading, in reading order within its text."""

    text: str
    kind: str  # "sentence" | "item" | "heading"
    position: int


def _squash(text: str) -> str:
    return " ".join(text.split())


#: abbreviations that often end a sentence: split after them before a capital letter
CAN_END_SENTENCE: frozenset[str] = frozenset({"a.m", "p.m", "etc", "inc", "ltd", "co", "corp"})


def _is_abbreviation(before: str) -> bool:
    """Whether the word ending at a '.' is an abbreviation or an initial."""
    m = re.search(r"([\w.]+)\.$", before)
    if not m:
        return False
    word = m.group(1).lower()
    if word in CAN_END_SENTENCE:
        return False
    if word in ABBREVIATIONS:
        return True
    # initials: "J." "R." (a single letter), and dotted acronyms "U.S.A."
    return (len(word) == 1 and word.isalpha()) or bool(re.fullmatch(r"(?:[a-z]\.)+[a-z]", word))


def split_sentences(paragraph: str) -> list[str]:
    """Split one paragraph (line breaks already irrelevant) into sentences."""
    text = _squash(paragraph)
    if not text:
        return []
    out: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        end = m.end()
        rest = text[end:]
        piece = text[start : m.start() + len(m.group(0).rstrip())]
        if not rest:
            break
        nxt = rest[0]
        # the next sentence must start like one: capital, digit, quote, bracket
        if not (nxt.isupper() or nxt.isdigit() or nxt in "\"'“‘([¿¡"):
            continue
        punct = m.group(0).strip()
        if punct.startswith(".") and not punct.startswith(".."):
            before = text[start : m.start() + 1]
            if _is_abbreviation(before):
                continue
        out.append(piece.strip())
        start = end
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return [part for s in out if s for part in _split_glued(s)]


def _split_glued(sentence: str) -> list[str]:
    """Split an overlong sentence where a period has no space after it (see module doc)."""
    if sentence.count(" ") + 1 < GLUED_MIN_WORDS:
        return [sentence]
    out: list[str] = []
    start = 0
    for m in _GLUED.finditer(sentence):
        before = m.group(1)
        if before[0].isalnum() and (len(before) < 2 or _is_abbreviation(before + ".")):
            continue
        out.append(sentence[start : m.end()])
        start = m.end()
    out.append(sentence[start:])
    return [s for s in out if s]


def _looks_like_title(line: str, next_line: str | None) -> bool:
    """A short line without end punctuation, standing alone above other text."""
    words = line.split()
    if not words or len(words) > 10 or len(line) > 80 or _TERMINAL.search(line):
        return False
    if next_line is None:
        return False
    return line[0].isupper() or line[0].isdigit()


def segments(text: str) -> list[Segment]:
    """Split a chunk's text into sentences, list items and headings, in order."""
    lines = text.splitlines()
    out: list[Segment] = []
    para: list[str] = []
    item: list[str] = []  # a list item and its continuation lines (wrapped text)

    def flush() -> None:
        if para:
            for s in split_sentences(" ".join(para)):
                out.append(Segment(s, "sentence", len(out)))
            para.clear()
        if item:
            for s in split_sentences(" ".join(item)):
                out.append(Segment(s, "item", len(out)))
            item.clear()

    for i, raw in enumerate(lines):
        line = raw.strip()
        if not line or _RULE.match(line) or _TABLE_SEP.match(line):
            flush()
            continue
        heading = _HEADING_MD.match(line)
        if heading:
            flush()
            if heading.group(1):
                out.append(Segment(_squash(heading.group(1)), "heading", len(out)))
            continue
        bullet = _BULLET.match(line)
        if bullet:
            flush()
            item.append(line[bullet.end() :])
            continue
        if item:  # a wrapped list item goes on until a blank line, a heading or a bullet
            item.append(line)
            continue
        nxt = next((ln.strip() for ln in lines[i + 1 :] if ln.strip()), None)
        prev_blank = i == 0 or not lines[i - 1].strip()
        next_blank = i + 1 >= len(lines) or not lines[i + 1].strip()
        next_list = i + 1 < len(lines) and _BULLET.match(lines[i + 1]) is not None
        if prev_blank and (next_blank or next_list) and _looks_like_title(line, nxt):
            flush()
            out.append(Segment(_squash(line), "heading", len(out)))
            continue
        para.append(line)
    flush()
    return out
