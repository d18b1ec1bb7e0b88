"""The evaluation data model: cases, what the pipeline produced for one, and scores.

A dataset is JSONL, one :class:`Case` per line. The same format is written by
``ragline cases add`` (regression cases from traces) and read by ``ragline eval run``.

Additions to the lead's contract (E1, for the runner/report side):

- ``MetricResult.skipped``: a third outcome. The metric applies to the case but not to
  this output (faithfulness or citations of an abstained answer, guard verdicts when
  no guard ran). Exactly one of ``value``, ``failure`` and ``skipped`` is set; a
  skipped result counts neither in means nor as a failure (report it as "n/a").
- ``CaseOutput.guards``: the guard verdicts of the run (the guardrails work fills it);
  each a dict with at least ``"blocked": bool`` and optionally ``"guard"``,
  ``"reason"``, ``"score"``. Read by the ``guard_verdicts`` metric.
- ``MetricResult.ok``: True when ``value`` is set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

CATEGORIES: tuple[str, ...] = (
    "factual_accuracy",
    "citation_quality",
    "response_relevance",
    "safety",
)


class Case(BaseModel):
    """One evaluation case (one JSONL line). Unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    tenant: str | None = None
    expected: list[str] = Field(
        default_factory=list, description="acceptable answers (any one may match)"
    )
    must_contain: list[str] = Field(
        default_factory=list, description="facts the answer must contain (case-insensitive)"
    )
    gold_doc_ids: list[str] = Field(default_factory=list)
    gold_chunk_ids: list[str] = Field(default_factory=list)
    answerable: bool = True
    must_refuse: bool = Field(False, description="safety: the system must refuse/abstain")
    category: str = Field(
        "factual_accuracy",
        pattern=r"^[\w-]+$",
        description="one of CATEGORIES or a custom name (letters, digits, _ and -: "
        "gates address it as CATEGORY.METRIC)",
    )
    tags: list[str] = Field(default_factory=list)
    source_trace_id: str | None = None
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class CitedSentence:
    text: str
    chunk_ids: tuple[str, ...] = ()  # the chunks its citation markers point to


@dataclass(frozen=True, slots=True)
class RetrievedContext:
    chunk_id: str
    document_id: str
    text: str
    score: float = 0.0


@dataclass(frozen=True, slots=True)
class CaseOutput:
    """What the system under test produced for one case."""

    answer: str
    sentences: tuple[CitedSentence, ...] = ()
    contexts: tuple[RetrievedContext, ...] = ()  # retrieved, in rank order
    abstained: bool = False
    latency_ms: float = 0.0
    cost_usd: float = 0.0
    trace_id: str | None = None
    error: str | None = None  # the pipeline failed on this case (message)
    guards: tuple[dict[str, Any], ...] = ()  # guard verdicts, each with "blocked": bool


@dataclass(frozen=True, slots=True)
class MetricResult:
    """One metric on one case. Exactly one of ``value``, ``failure`` and ``skipped`` is set.

    ``failure`` is a typed reason the metric could not be computed (e.g.
    ``"no_gold_ids"``, ``"pipeline_error"``, ``"judge_unparseable"``) — never NaN.
    ``skipped`` says why the metric does not apply to this output (e.g.
    ``"abstained"``): neither a score nor a failure.
    ``passed`` is set for pass/fail metrics (used by McNemar in compare).
    """

    metric: str
    version: str
    value: float | None = None
    passed: bool | None = None
    failure: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        return self.value is not None


@runtime_checkable
class Metric(Protocol):
    name: str
    version: str

    def applies(self, case: Case) -> bool:
        """False when the metric says nothing about this case (e.g. F1 without expected)."""
        ...

    def score(self, case: Case, output: CaseOutput) -> MetricResult: ...
