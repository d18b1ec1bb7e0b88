"""Negative expectations: what a right answer must *not* do.

A regression case made from a hallucination report knows what went wrong: the bad
answer, its unsupported sentences, the documents it should not have leaned on. Each
check is a pass/fail metric that applies only to cases that carry it, so reports and
gates see it next to ``must_contain``:

- ``must_not_contain``: none of ``Case.must_not_contain`` is in the answer (citation
  markers removed), matched as ``must_contain`` matches (:mod:`._phrases`: case- and
  whitespace-insensitive, numbers only as whole numbers — ``3.2M`` is not found in
  ``13.2M`` — and ``EUR 3.2M`` = ``€3.2 million``). The value is the share of the
  strings that are absent.
- ``must_not_cite``: none of ``Case.must_not_cite`` (document ids) is cited by a
  sentence of the answer. The value is the share of those documents not cited. An
  answer with text but no sentence records cannot be checked: failure
  ``no_sentences``.
- ``differs_from_bad``: the answer is not the recorded bad one again. It fails when
  its token F1 (SQuAD-normalised, as ``token_f1``) to ``Case.bad_answer`` is
  :data:`SAME_ANSWER_F1` or more, or when one of ``Case.bad_claims`` reappears — a
  sentence of the answer with token F1 of :data:`SAME_ANSWER_F1` or more to it, or
  the claim's normalised text inside the answer's. The value is 1 (differs) or 0.

An abstention contains and cites nothing and repeats no claim: it passes all three
(``must_contain`` and ``abstention`` are what fail it when an answer was expected).
"""

from __future__ import annotations

import re

from ragline.evals._metrics._answer import normalize_answer, strip_citations, token_f1
from ragline.evals._metrics._base import BaseMetric, MetricFailure
from ragline.evals._metrics._phrases import contains_phrase, fold_text
from ragline.evals._types import Case, CaseOutput, MetricResult

#: token F1 at or above which an answer (or a sentence) counts as the bad one again
SAME_ANSWER_F1 = 0.8

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


class MustNotContain(BaseMetric):
    """Share of ``must_not_contain`` strings absent from the answer; passes when none is
    there (see the module docstring for how numbers match)."""

    name = "must_not_contain"
    version = "1"

    def applies(self, case: Case) -> bool:
        return bool(case.must_not_contain)

    def compute(self, case: Case, output: CaseOutput) -> MetricResult:
        phrases = [p for p in case.must_not_contain if fold_text(p)]
        if not phrases:
            raise MetricFailure("empty_phrases")
        answer = strip_citations(output.answer)
        found = [p for p in phrases if contains_phrase(answer, p)]
        value = (len(phrases) - len(found)) / len(phrases)
        return self.result(value, passed=not found, found=found)


def cited_documents(output: CaseOutput) -> list[str]:
    """The document ids the answer's sentences cite, first citation first.

    A chunk id is mapped to its document through the retrieved contexts, else by the
    chunker's ``DOCUMENT#N`` form."""
    by_chunk = {c.chunk_id: c.document_id for c in output.contexts}
    docs: dict[str, None] = {}
    for sentence in output.sentences:
        for chunk_id in sentence.chunk_ids:
            doc = by_chunk.get(chunk_id)
            if doc is None:
                head, sep, _ = chunk_id.rpartition("#")
                doc = head if sep else chunk_id
            docs.setdefault(doc)
    return list(docs)


class MustNotCite(BaseMetric):
    """Share of ``must_not_cite`` documents the answer does not cite; passes when it
    cites none of them."""

    name = "must_not_cite"
    version = "1"

    def applies(self, case: Case) -> bool:
        return bool(case.must_not_cite)

    def compute(self, case: Case, output: CaseOutput) -> MetricResult:
        forbidden = list(dict.fromkeys(d.strip() for d in case.must_not_cite if d.strip()))
        if not forbidden:
            raise MetricFailure("empty_documents")
        if not output.sentences and not output.abstained and output.answer.strip():
            raise MetricFailure("no_sentences")  # what it cites is unknown: not a pass
        cited = set(cited_documents(output))
        found = [d for d in forbidden if d in cited]
        value = (len(forbidden) - len(found)) / len(forbidden)
        return self.result(value, passed=not found, cited=found)


def _sentences(output: CaseOutput, answer: str) -> list[str]:
    if output.sentences:
        return [s.text for s in output.sentences]
    return [s for s in _SENTENCE_END.split(answer) if s.strip()]


class DiffersFromBad(BaseMetric):
    """Pass/fail: the answer is not the recorded bad answer again, and repeats none of
    its unsupported claims (thresholds in the module docstring)."""

    name = "differs_from_bad"
    version = "1"

    def applies(self, case: Case) -> bool:
        return bool((case.bad_answer and case.bad_answer.strip()) or case.bad_claims)

    def compute(self, case: Case, output: CaseOutput) -> MetricResult:
        answer = "" if output.abstained else strip_citations(output.answer).strip()
        if not answer:
            return self.result(1.0, passed=True, f1=0.0, repeated=[], abstained=output.abstained)
        f1 = token_f1(answer, strip_citations(case.bad_answer)) if case.bad_answer else 0.0
        sentences = _sentences(output, answer)
        whole = normalize_answer(answer)
        repeated = []
        for claim in case.bad_claims:
            text = normalize_answer(strip_citations(claim))
            if not text:
                continue
            if f" {text} " in f" {whole} " or any(
                token_f1(strip_citations(s), claim) >= SAME_ANSWER_F1 for s in sentences
            ):
                repeated.append(claim)
        passed = f1 < SAME_ANSWER_F1 and not repeated
        return self.result(
            1.0 if passed else 0.0, passed=passed, f1=round(f1, 4), repeated=repeated
        )


__all__ = [
    "SAME_ANSWER_F1",
    "DiffersFromBad",
    "MustNotCite",
    "MustNotContain",
    "cited_documents",
]
