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

Optionally (``similarity``, :func:`example_similarity`) a topic's ``examples`` —
phrases in the words users would use — are embedded once, and a *question* whose
cosine similarity to one of them reaches ``min_similarity`` touches the topic too
(input stage only: it costs an embedding per question). Such a hit has no span: with
``action: redact`` it blocks.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ragline.guards._base import Action, Finding, GuardContext, GuardStage, Verdict

if TYPE_CHECKING:
    from ragline.embed import Embedder

#: ``question -> {topic name: best cosine similarity to its examples}``
Similarity = Callable[[str], Mapping[str, float]]

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
    folded, where = _fold(text)
    return folded, list(range(len(text))) if where is None else where


def _fold(text: str) -> tuple[str, list[int] | None]:
    """:func:`fold`, with None for the offsets when they are the identity (ASCII)."""
    if text.isascii():
        return text.lower(), None
    out: list[str] = []
    where: list[int] = []
    for i, c in enumerate(text):
        f = c if c.isascii() and not c.isupper() else _fold_char(c)
        out.append(f)
        where.extend([i] * len(f))
    return "".join(out), where


def _term_body(term: str) -> str:
    words = fold(term)[0].split()
    if not words:
        raise ValueError("a banned term is empty")
    return r"\s+".join(re.escape(w) for w in words)


def term_pattern(term: str) -> str:
    """The regular expression of one banned term: its words, folded and escaped, with
    any whitespace between them, matching whole words only."""
    return r"(?<!\w)" + _term_body(term) + r"(?!\w)"


@dataclass(frozen=True, slots=True)
class Topic:
    """A banned topic: its ``name`` (the reason code is ``topic.<name>``), and the
    ``terms`` (words or phrases) and ``patterns`` (regular expressions) that mark it."""

    name: str
    terms: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    #: phrases compared by embedding similarity (only with a ``similarity`` scorer)
    examples: tuple[str, ...] = ()

    def compile(self) -> re.Pattern[str] | None:
        """One alternation of every term and pattern (ValueError naming a bad one);
        None for a topic matched by its examples only."""
        from ragline.config import check_topic

        check_topic(self.name, self.terms, self.patterns, self.examples)
        if not self.terms and not self.patterns:
            return None
        # the terms share one pair of word boundaries: an alternation of separately
        # bounded terms is much slower on long texts in Python's engine
        parts = [r"(?<!\w)(?:" + "|".join(_term_body(t) for t in self.terms) + r")(?!\w)"]
        parts = parts if self.terms else []
        parts += [f"(?:{p})" for p in self.patterns]
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
        similarity: Similarity | None = None,
        min_similarity: float = 0.6,
    ) -> None:
        if not topics:
            raise ValueError("the topic guard needs at least one banned topic")
        names = [t.name for t in topics]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"banned topics named twice: {dupes}")
        if not 0.0 < min_similarity < 1.0:
            raise ValueError(f"min_similarity must be in (0, 1), not {min_similarity}")
        self.topics = tuple(topics)
        compiled = [(t.name, t.compile()) for t in self.topics]
        self._compiled = [(n, p) for n, p in compiled if p is not None]
        unmatched = [n for n, p in compiled if p is None]
        if unmatched and similarity is None:
            raise ValueError(
                f"banned topics {unmatched} have only examples, and examples need "
                "similarity matching (guards.banned.similarity)"
            )
        self.action: Action = action
        self.stages: frozenset[GuardStage] = frozenset(stages)
        self.similarity = similarity
        self.min_similarity = min_similarity

    def check(self, text: str, context: GuardContext) -> Verdict:
        if not text:
            return Verdict(guard=self.name)
        folded, where = _fold(text)
        reasons: list[str] = []
        findings: list[Finding] = []
        for name, pattern in self._compiled:
            hit = False
            for m in pattern.finditer(folded):
                if m.end() <= m.start():
                    continue
                hit = True
                start, end = (
                    (m.start(), m.end())
                    if where is None
                    else (where[m.start()], where[m.end() - 1] + 1)
                )
                findings.append(Finding(start, end, name))
                if self.action != "redact":
                    break  # one match names the topic; redact needs every one
            if hit:
                reasons.append(f"topic.{name}")
        score = 1.0 if reasons else 0.0
        close: list[str] = []
        if self.similarity is not None and context.stage == "input" and text.strip():
            for name, sim in self.similarity(text).items():
                if f"topic.{name}" not in reasons and sim >= self.min_similarity:
                    close.append(f"topic.{name}")
                    score = max(score, min(max(float(sim), 0.0), 1.0))
        if not reasons and not close:
            return Verdict(guard=self.name, score=score)
        reasons += close
        findings.sort(key=lambda f: (f.start, -f.end))
        action = self.action
        if action == "redact" and close:
            action = "block"  # a topic close in meaning has no words to cut out
        redacted = _cut(text, findings) if action == "redact" else None
        return Verdict(
            guard=self.name,
            action=action,
            score=score,
            reasons=tuple(reasons),
            findings=tuple(findings[:64]),
            redacted=redacted,
        )


def example_similarity(topics: Sequence[Topic], embedder: Callable[[], Embedder]) -> Similarity:
    """The :data:`Similarity` of ``topics``' examples with ``embedder``'s vectors: the
    examples are embedded at the first question (the project's embedder loads lazily),
    each question once."""
    import numpy as np

    pairs = [(t.name, e) for t in topics for e in t.examples]
    names = [n for n, _ in pairs]
    cache: list[object] = []

    def similarity(text: str) -> dict[str, float]:
        if not pairs:
            return {}
        model = embedder()
        if not cache:
            cache.append(model.embed_documents([e for _, e in pairs]))
        matrix = cache[0]
        assert isinstance(matrix, np.ndarray)
        sims = matrix @ model.embed_query(text)
        best: dict[str, float] = {}
        for name, sim in zip(names, sims.tolist(), strict=True):
            best[name] = max(best.get(name, -1.0), float(sim))
        return best

    return similarity


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


__all__ = [
    "REMOVED",
    "Similarity",
    "Topic",
    "TopicGuard",
    "example_similarity",
    "fold",
    "term_pattern",
]
