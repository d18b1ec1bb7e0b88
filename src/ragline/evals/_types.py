"""The evaluation data model: cases, what the pipeline produced for one, and scores.

The records are defined with the storage contract in ``ragline.store._evals`` (so the
store backends need not import ``ragline.evals``) and re-exported here, next to the
:class:`Metric` protocol. A dataset is JSONL, one :class:`Case` per line. The same
format is written by ``ragline cases add`` (regression cases from traces) and read by
``ragline eval run``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ragline.store._evals import (
    Case,
    CaseOutput,
    CitedSentence,
    MetricResult,
    RetrievedContext,
)

CATEGORIES: tuple[str, ...] = (
    "factual_accuracy",
    "citation_quality",
    "response_relevance",
    "safety",
)


@runtime_checkable
class Metric(Protocol):
    name: str
    version: str

    def applies(self, case: Case) -> bool:
        """False when the metric says nothing about this case (e.g. F1 without expected)."""
        ...

    def score(self, case: Case, output: CaseOutput) -> MetricResult: ...


__all__ = [
    "CATEGORIES",
    "Case",
    "CaseOutput",
    "CitedSentence",
    "Metric",
    "MetricResult",
    "RetrievedContext",
]
