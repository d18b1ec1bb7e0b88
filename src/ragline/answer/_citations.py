"""Check a model's citations: map [n] markers to references and score their support.

:func:`verify_citations` takes the model's text and the hits its prompt numbered
[1]..[n], and

- maps markers (``[1]``, ``[2, 3]``, ``[1][3]``, ``[1-3]``) to hits; a number that
  points to no hit is removed from the text and listed in ``dropped_markers``;
- scores every sentence against its cited chunks with :class:`SupportScorer` (a
  sentence's support is its best cited chunk's); a cited chunk that does not support
  its sentence keeps its marker but is listed in ``weak_citations``, and a sentence
  none of whose cited chunks supports it in ``weak_sentences``;
- attributes a sentence without markers to its best-supporting chunk when that
  support reaches ``attribute_min`` (post-hoc attribution, ``attributed``), and
  otherwise lists it in ``unsupported``;
- skips a sentence with no content words ("Yes!", "Sure."): it is not scored into the
  mean support, never attributed and never listed as unsupported or weak
  (``report.skipped``);
- renumbers references by first use, rewriting the markers in the text to match.

The scorer is the project's support checker (``support.checker``): the built-in
:class:`~ragline.answer._support_model.FactScorer` (fitted word-overlap model + fact
rules; the default) or :class:`SupportScorer` (lexical overlap + embedding cosine).
Both are deterministic, and evaluation uses the same one. With a scorer that can say
why (``judge``), ``report.reasons`` gives each doubtful sentence's reason code
(``missing_entity``, ``number_mismatch``, ``predicate_mismatch``, ``low_support``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from ragline.answer._extractive import content_terms
from ragline.answer._facts import is_content_free
from ragline.answer._sentences import segments
from ragline.embed._base import Embedder
from ragline.types import AnswerSentence, Hit, Reference

_MARKER = re.compile(r"\[\s*(\d+(?:\s*(?:[,;–-]|and)\s*\d+)*)\s*\]")
_MARKER_RUN = re.compile(r"(?:\s*\[\s*\d+(?:\s*(?:[,;–-]|and)\s*\d+)*\s*\])+")
_MARKER_WS = re.compile(r"([ \t]*)" + _MARKER.pattern)
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?])")


def marker_numbers(marker_body: str) -> list[int]:
    """``"2, 3"`` → [2, 3]; ``"1-3"`` → [1, 2, 3] (ranges of at most 20)."""
    out: list[int] = []
    for part in re.split(r"\s*(?:[,;]|and)\s*", marker_body):
        bounds = re.split(r"\s*[–-]\s*", part)
        if len(bounds) == 2 and int(bounds[1]) - int(bounds[0]) in range(20):
            out.extend(range(int(bounds[0]), int(bounds[1]) + 1))
        else:
            out.extend(int(b) for b in bounds if b)
    return list(dict.fromkeys(out))


class SentenceScorer(Protocol):
    """What the cite stage needs from a support checker: a score matrix in [0, 1] whose
    answer threshold is ``answer.min_support`` (0.45 by default)."""

    def score_matrix(
        self, sentences: Sequence[str], chunk_texts: Sequence[str]
    ) -> npt.NDArray[np.float64]: ...


class SupportScorer:
    """How well a chunk supports a sentence, in [0, 1]; the same inputs give the same score.

    ``score = lexical_weight · lexical + (1 − lexical_weight) · max(cosine, 0)`` where
    ``lexical`` is the share of the sentence's content words (stemmed) found in the
    chunk, and ``cosine`` the best embedding similarity of the sentence to the whole
    chunk or to any one of its sentences.
    """

    def __init__(self, embedder: Embedder, *, lexical_weight: float = 0.5) -> None:
        if not 0.0 <= lexical_weight <= 1.0:
            raise ValueError("lexical_weight must be between 0 and 1")
        self.embedder = embedder
        self.lexical_weight = lexical_weight

    def score(self, sentence: str, chunk_text: str) -> float:
        return float(self.score_matrix([sentence], [chunk_text])[0, 0])

    def score_matrix(
        self, sentences: Sequence[str], chunk_texts: Sequence[str]
    ) -> npt.NDArray[np.float64]:
        """Scores of every sentence (rows) against every chunk (columns)."""
        out = np.zeros((len(sentences), len(chunk_texts)), dtype=np.float64)
        if not sentences or not chunk_texts:
            return out
        pieces: list[list[str]] = [
            [c, *(s.text for s in segments(c) if s.kind != "heading")] for c in chunk_texts
        ]
        flat = list(dict.fromkeys([*sentences, *(p for ps in pieces for p in ps)]))
        vectors = self.embedder.embed_documents(flat)
        row = {t: vectors[i] for i, t in enumerate(flat)}
        chunk_terms = [content_terms(c) for c in chunk_texts]
        w = self.lexical_weight
        for i, sentence in enumerate(sentences):
            terms = content_terms(sentence)
            sv = row[sentence]
            for j, ps in enumerate(pieces):
                lexical = len(terms & chunk_terms[j]) / len(terms) if terms else 0.0
                cosine = max(float(sv @ row[p]) for p in ps)
                value = w * lexical + (1.0 - w) * max(cosine, 0.0)
                out[i, j] = round(min(max(value, 0.0), 1.0), 4)
        return out


@dataclass(slots=True)
class CitationReport:
    """What the post-processor changed or doubts; indexes are into ``sentences``."""

    dropped_markers: list[int] = field(default_factory=list)  #: numbers pointing to no hit
    attributed: list[int] = field(default_factory=list)  #: given a citation post hoc
    unsupported: list[int] = field(default_factory=list)  #: no marker, no supporting chunk
    weak_sentences: list[int] = field(default_factory=list)  #: no cited chunk supports it
    #: (sentence index, reference number) of each cited chunk below ``min_support``
    weak_citations: list[tuple[int, int]] = field(default_factory=list)
    #: sentences with no content words: neither supported nor failed, not in the mean
    skipped: list[int] = field(default_factory=list)
    #: why each unsupported or weak sentence is doubtful (when the scorer can say)
    reasons: dict[int, str] = field(default_factory=dict)


@dataclass(slots=True)
class CitedText:
    text: str  #: the model's text, bad markers removed, the rest renumbered
    sentences: list[AnswerSentence]
    references: list[Reference]
    support: float  #: mean support of the sentences (0 when there are none)
    report: CitationReport


def _split(text: str) -> list[tuple[str, list[int]]]:
    """Sentences (markers removed) with the marker numbers each carries."""
    out: list[tuple[str, list[int]]] = []
    for seg in segments(text):
        lead = _MARKER_RUN.match(seg.text)
        rest = seg.text
        if lead and out:  # "... capital. [1] Next" — the leading marker closes the previous
            moved = [n for m in _MARKER.finditer(lead.group(0)) for n in marker_numbers(m[1])]
            out[-1][1].extend(n for n in moved if n not in out[-1][1])
            rest = seg.text[lead.end() :]
        numbers = [n for m in _MARKER.finditer(rest) for n in marker_numbers(m.group(1))]
        body = _SPACE_BEFORE_PUNCT.sub(r"\1", _MARKER_RUN.sub("", seg.text)).strip()
        if body:
            out.append((body, list(dict.fromkeys(numbers))))
    return out


def verify_citations(
    text: str,
    hits: Sequence[Hit],
    scorer: SentenceScorer,
    *,
    min_support: float = 0.45,
    attribute_min: float = 0.55,
) -> CitedText:
    """Map, check and renumber the citations of ``text`` against ``hits`` ([1] = hits[0])."""
    report = CitationReport()

    def keep_valid(m: re.Match[str]) -> str:
        numbers = marker_numbers(m.group(2))
        valid = [n for n in numbers if 1 <= n <= len(hits)]
        report.dropped_markers.extend(n for n in numbers if n not in valid)
        return m.group(1) + "".join(f"[{n}]" for n in valid) if valid else ""

    cleaned = _MARKER_WS.sub(keep_valid, text)
    parts = _split(cleaned)
    chunk_texts = [h.chunk.indexed_text for h in hits]
    scores = scorer.score_matrix([p[0] for p in parts], chunk_texts)

    old_citations: list[list[int]] = []
    supports: list[float] = []
    weak_old: list[tuple[int, int]] = []
    for i, (body, numbers) in enumerate(parts):
        if is_content_free(body):
            report.skipped.append(i)
            old_citations.append(numbers)
            supports.append(1.0)
            continue
        if numbers:
            support = max(scores[i, n - 1] for n in numbers)
            if support < min_support:
                report.weak_sentences.append(i)
            weak_old.extend((i, n) for n in numbers if scores[i, n - 1] < min_support)
        elif hits:
            best = int(np.argmax(scores[i]))
            support = float(scores[i, best])
            if support >= attribute_min:
                numbers = [best + 1]
                report.attributed.append(i)
            else:
                report.unsupported.append(i)
        else:
            support = 0.0
            report.unsupported.append(i)
        old_citations.append(numbers)
        supports.append(round(float(support), 4))

    renumber: dict[int, int] = {}
    for numbers in old_citations:
        for n in numbers:
            renumber.setdefault(n, len(renumber) + 1)
    report.weak_citations = [(i, renumber[n]) for i, n in weak_old]
    report.reasons = _reasons(scorer, parts, old_citations, chunk_texts, report, min_support)
    references = [Reference.for_chunk(hits[old - 1].chunk, new) for old, new in renumber.items()]
    doubtful = {*report.unsupported, *report.weak_sentences}
    sentences = [
        AnswerSentence(
            text=body,
            citations=[renumber[n] for n in numbers],
            support=s,
            supported=i not in doubtful,
        )
        for i, ((body, _), numbers, s) in enumerate(
            zip(parts, old_citations, supports, strict=True)
        )
    ]

    def new_marker(m: re.Match[str]) -> str:
        new = renumber.get(int(m.group(1)))
        return f"[{new}]" if new is not None else ""

    cleaned = _mark_attributed(cleaned, parts, old_citations, report.attributed)
    final_text = _MARKER.sub(new_marker, cleaned).strip()
    counted = [s for i, s in enumerate(supports) if i not in report.skipped]
    mean = round(sum(counted) / len(counted), 4) if counted else 0.0
    return CitedText(final_text, sentences, references, mean, report)


def _reasons(
    scorer: SentenceScorer,
    parts: Sequence[tuple[str, list[int]]],
    citations: Sequence[list[int]],
    chunk_texts: Sequence[str],
    report: CitationReport,
    min_support: float,
) -> dict[int, str]:
    """The reason code of each doubtful sentence, from a scorer that has ``judge``."""
    judge = getattr(scorer, "judge", None)
    if judge is None:
        return {}
    out: dict[int, str] = {}
    for i in sorted({*report.unsupported, *report.weak_sentences}):
        cited = [chunk_texts[n - 1] for n in citations[i]] or list(chunk_texts)
        out[i] = judge(parts[i][0], cited, threshold=min_support).code or "low_support"
    return out


def _mark_attributed(
    text: str,
    parts: Sequence[tuple[str, list[int]]],
    citations: Sequence[list[int]],
    attributed: Sequence[int],
) -> str:
    """Write the marker of each post-hoc attributed sentence into the text itself,
    before its final punctuation, so a reader sees every citation where it applies."""
    if not attributed:
        return text
    todo = set(attributed)
    out: list[str] = []
    cursor = 0
    for i, (body, _) in enumerate(parts):
        stem = body.rstrip(" .!?;:")
        if not stem:
            continue
        at = text.find(stem, cursor)
        if at < 0:
            continue
        end = at + len(stem)
        if i in todo and citations[i]:
            out.append(text[cursor:end] + "".join(f" [{n}]" for n in citations[i]))
            cursor = end
        else:
            out.append(text[cursor:end])
            cursor = end
    out.append(text[cursor:])
    return "".join(out)


__all__ = [
    "CitationReport",
    "CitedText",
    "SentenceScorer",
    "SupportScorer",
    "marker_numbers",
    "verify_citations",
]
