"""Answer metrics: exact match, token F1, must-contain coverage, semantic similarity,
abstention correctness.

Exact match and token F1 follow the SQuAD evaluation script: answers are normalised
(lowercase, punctuation and the articles a/an/the removed, whitespace collapsed) and
a case scores its best match over ``expected``. They apply to answerable cases with
``expected`` answers; an abstention scores 0 (it answered nothing).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from typing import TYPE_CHECKING

from ragline.evals._metrics._base import BaseMetric, MetricFailure, MetricSkipped
from ragline.evals._metrics._phrases import contains_phrase, fold_text
from ragline.evals._types import Case, CaseOutput, MetricResult

if TYPE_CHECKING:
    from ragline.embed._base import Embedder

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation) | {"‘", "’", "“", "”", "–", "—", "…"}
_CITATION = re.compile(r"\s*\[\s*\d+(?:\s*[,;–-]\s*\d+)*\s*\]")


def strip_citations(text: str) -> str:
    """The answer text without ``[n]`` citation markers."""
    return _CITATION.sub("", text)


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lowercase, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def token_f1(prediction: str, truth: str) -> float:
    pred, gold = normalize_answer(prediction).split(), normalize_answer(truth).split()
    if not pred or not gold:
        return float(pred == gold)
    common = sum((Counter(pred) & Counter(gold)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def _answer_text(output: CaseOutput) -> str:
    return "" if output.abstained else strip_citations(output.answer)


class _ExpectedMetric(BaseMetric):
    def applies(self, case: Case) -> bool:
        return case.answerable and not case.must_refuse and bool(case.expected)


class ExactMatch(_ExpectedMetric):
    name = "exact_match"
    version = "1"

    def compute(self, case: Case, output: CaseOutput) -> MetricResult:
        answer = normalize_answer(_answer_text(output))
        hit = any(answer == normalize_answer(e) for e in case.expected)
        return self.result(1.0 if hit else 0.0, passed=hit)


class TokenF1(_ExpectedMetric):
    name = "token_f1"
    version = "1"

    def compute(self, case: Case, output: CaseOutput) -> MetricResult:
        answer = _answer_text(output)
        scores = [token_f1(answer, e) for e in case.expected]
        best = max(range(len(scores)), key=scores.__getitem__)
        return self.result(scores[best], best_expected=case.expected[best])


class MustContain(BaseMetric):
    """Share of ``must_contain`` facts found in the answer; passes when all are found.

    Case- and whitespace-insensitive; numbers match as numbers (v2): ``3.2`` is not
    found in ``13.25``, and ``EUR 3.2M`` is found in ``€3.2 million`` (see
    :mod:`._phrases`)."""

    name = "must_contain"
    version = "2"

    def applies(self, case: Case) -> bool:
        return bool(case.must_contain) and not case.must_refuse

    def compute(self, case: Case, output: CaseOutput) -> MetricResult:
        answer = _answer_text(output)
        facts = [f for f in case.must_contain if fold_text(f)]
        if not facts:
            raise MetricFailure("empty_facts")
        missing = [f for f in facts if not contains_phrase(answer, f)]
        value = (len(facts) - len(missing)) / len(facts)
        return self.result(value, passed=not missing, missing=missing)


class SemanticSimilarity(_ExpectedMetric):
    """Cosine similarity (floored at 0) of the answer and its closest expected answer,
    with the injected embedder. An abstention or empty answer scores 0."""

    name = "semantic_similarity"
    version = "1"

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.version = f"1+{embedder.name}"

    def compute(self, case: Case, output: CaseOutput) -> MetricResult:
        answer = _answer_text(output).strip()
        if not answer:
            return self.result(0.0, empty_answer=True)
        vectors = self.embedder.embed_documents([answer, *case.expected])
        sims = [float(vectors[0] @ vectors[i]) for i in range(1, len(vectors))]
        best = max(range(len(sims)), key=sims.__getitem__)
        return self.result(min(max(sims[best], 0.0), 1.0), best_expected=case.expected[best])


class AnswerRelevance(BaseMetric):
    """Cosine similarity (floored at 0) of the question and the answer: does the answer
    address what was asked? Needs no reference answer. Applies to answerable,
    non-safety cases; an abstention or an empty answer is skipped."""

    name = "answer_relevance"
    version = "1"

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.version = f"1+{embedder.name}"

    def applies(self, case: Case) -> bool:
        return case.answerable and not case.must_refuse

    def compute(self, case: Case, output: CaseOutput) -> MetricResult:
        if output.abstained:
            raise MetricSkipped("abstained")
        answer = strip_citations(output.answer).strip()
        if not answer:
            raise MetricSkipped("empty_answer")
        vectors = self.embedder.embed_documents([case.question, answer])
        return self.result(min(max(float(vectors[0] @ vectors[1]), 0.0), 1.0))


class AbstentionCorrectness(BaseMetric):
    """Pass/fail: an unanswerable case must abstain, an answerable one must not.

    Must-refuse (safety) cases are scored by ``refusal`` instead."""

    name = "abstention"
    version = "1"

    def applies(self, case: Case) -> bool:
        return not case.must_refuse

    def compute(self, case: Case, output: CaseOutput) -> MetricResult:
        correct = output.abstained != case.answerable
        return self.result(
            1.0 if correct else 0.0,
            passed=correct,
            answerable=case.answerable,
            abstained=output.abstained,
        )


__all__ = [
    "AbstentionCorrectness",
    "AnswerRelevance",
    "ExactMatch",
    "MustContain",
    "SemanticSimilarity",
    "TokenF1",
    "normalize_answer",
    "strip_citations",
    "token_f1",
]
