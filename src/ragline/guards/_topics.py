"""Banned topics and terms: what a tenant's assistant must not discuss.

A :class:`Topic` is a name and the words, phrases or regular expressions that mark it
("competitors": ``["Velocita", "Stromer"]``; "speed_tuning": ``["speed limiter",
"derestrict", "tuning kit"]``). :class:`TopicGuard` checks the question (``input``:
block refuses it), the answer (``output``: block refuses it, redact cuts the matched
words out as ``[removed]``) or a retrieved chunk (``retrieval``: block drops it).
Reason codes name the topic: ``topic.<name>``.

Matching is lexical and exact about words: a term matches whole words only
("arms" does not match "harms" or "farmstead"), whatever the case and the accents
("Café" matches "cafe", "CAFÉ" and "café"), and the spaces between a phrase's words
may be any whitespace. A pattern is a regular expression, matched case-insensitively
on the same accent-folded, case-folded text. Text and terms are folded once, character
by character, so a finding's offsets are the original text's. Linear: one pass of one
compiled alternation per topic.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from ragline.guards._base import Action, Finding, GuardContext, GuardStage, Verdict

#: what a redacted match becomes
REMOVED = "[removed]"


@functools.lru_cache(maxsize=4096)
def _fold_char(c: str) -> str:
    return "".join(
        ch for ch in unicodedata.normalize("NFKD", c) if not unicodedata.combining(ch)
    ).casefold()


def fold(text: str) -> tuple[str, list[int]]:
    """``text`` without accents and case-folded, and for each of its characters the
    offset of the character of ``text`` it came from."""
    out: list[str] = []
    where: list[int] = []
    for i, c in enumerate(text):
        f = c if c.isascii() and not c.isupper() else _fold_char(c)
        out.append(f)
        where.extend([i] * len(f))
    return "".join(out), where


def term_pattern(term: str) -> str:
    """The regular expression of one banned term: its words, folded and escaped, with
    any whitespace between them, matching whole words only."""
    words = fold(term)[0].split()
    if not words:
        raise ValueError("a banned term is empty")
    return r"(?<!\w)" + r"\s+".join(re.escape(w) for w in words) + r"(?!\w)"


@dataclass(frozen=True, slots=True)
class Topic:
    """A banned topic: its ``name`` (the reason code is ``topic.<name>``), and the
    ``terms`` (words or phrases) and ``patterns`` (regular expressions) that mark it."""

    name: str
    terms: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()

    def compile(self) -> re.Pattern[str]:
        """One alternation of every term and pattern (ValueError naming a bad one)."""
        if not self.name.strip():
            raise ValueError("a banned topic needs a name")
        if not self.terms and not self.patterns:
            raise ValueError(f"banned topic {self.name!r} has no terms or patterns")
        parts = [term_pattern(t) for t in self.terms]
        for p in self.patterns:
            if not p.strip():
                raise ValueError(f"banned topic {self.name!r} has an empty pattern")
            try:
                re.compile(p)
            except re.error as e:
                raise ValueError(
                    f"banned topic {self.name!r}: pattern {p!r} is not a valid regular "
                    f"expression ({e})"
                ) from None
            if re.compile(p).fullmatch(""):
                raise ValueError(
                    f"banned topic {self.name!r}: pattern {p!r} matches the empty text"
                )
            parts.append(f"(?:{p})")
        return re.compile("|".join(parts), re.IGNORECASE)


class TopicGuard:
    """Blocks, flags or redacts texts that touch a banned :class:`Topic`.

    ``action`` applies at every stage in ``stages``; ``redact`` replaces each match by
    :data:`REMOVED` (on a question too: the rest of it is answered)."""

    name = "banned"

    def __init__(
        self,
        topics: Sequence[Topic],
        *,
        action: Action = "block",
        stages: Collection[GuardStage] = frozenset({"input", "output"}),
    ) -> None:
        if not topics:
            raise ValueError("the topic guard needs at least one banned topic")
        names = [t.name for t in topics]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"banned topics named twice: {dupes}")
        self.topics = tuple(topics)
        self._compiled = [(t.name, t.compile()) for t in self.topics]
        self.action: Action = action
        self.stages: frozenset[GuardStage] = frozenset(stages)

    def check(self, text: str, context: GuardContext) -> Verdict:
        if not text:
            return Verdict(guard=self.name)
        folded, where = fold(text)
        reasons: list[str] = []
        findings: list[Finding] = []
        for name, pattern in self._compiled:
            hit = False
            for m in pattern.finditer(folded):
                if m.end() <= m.start():
                    continue
                hit = True
                findings.append(Finding(where[m.start()], where[m.end() - 1] + 1, name))
                if self.action != "redact":
                    break  # one match names the topic; redact needs every one
            if hit:
                reasons.append(f"topic.{name}")
        if not reasons:
            return Verdict(guard=self.name)
        findings.sort(key=lambda f: (f.start, -f.end))
        redacted = _cut(text, findings) if self.action == "redact" else None
        return Verdict(
            guard=self.name,
            action=self.action,
            score=1.0,
            reasons=tuple(reasons),
            findings=tuple(findings[:64]),
            redacted=redacted,
        )


def _cut(text: str, findings: Sequence[Finding]) -> str:
    """``text`` with every finding (merged where they overlap) replaced by REMOVED."""
    out: list[str] = []
    pos = 0
    for f in findings:  # sorted by start
        if f.end <= pos:
            continue  # inside the previous one
        if f.start >= pos:
            out.append(text[pos : f.start])
            out.append(REMOVED)
        pos = f.end  # an overlapping one extends the cut
    out.append(text[pos:])
    return "".join(out)


__all__ = ["REMOVED", "Topic", "TopicGuard", "fold", "term_pattern"]
