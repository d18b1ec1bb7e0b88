"""What an evaluation stores — cases, outputs, metric results, runs — and the contract.

The evaluation data model lives here, next to the :class:`EvalStore` protocol, so the
backends (``store.sqlite``, ``store.postgres``) can store it without depending on
``ragline.evals``, which re-exports every name. A dataset is JSONL, one :class:`Case`
per line; :class:`CaseOutput` is what the system under test produced for one case;
:class:`MetricResult` one metric's verdict on it; :class:`RunInfo` one run and
:class:`CaseResult` one case of a run. How the SQL backends store them is in
:mod:`ragline.store._eval_rows`.

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

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

STATUSES = ("running", "interrupted", "complete")


class ExpectedCall(BaseModel):
    """A tool call an agent task expects: the tool's name and its key arguments.

    An argument matches when equal, or, for text, when the expected text is found in the
    call's (case-insensitive): ``{"query": "battery warranty"}`` matches the query
    "how long is the battery warranty?". Arguments not named are not checked."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    arguments: dict[str, Any] = Field(default_factory=dict)


AgentStop = Literal[
    "completed", "step_limit", "loop_detected", "budget", "timeout", "handoff", "error", "blocked"
]


class AgentExpect(BaseModel):
    """What an agent task expects (``Case.agent``; ``ragline eval run --agent``).

    ``earlier``: messages the same ``user`` sent in an earlier session (each its own
    conversation, run before the question): the memory-across-sessions tasks.
    ``fail_once``: tools whose first call fails (a tool error the agent must recover
    from)."""

    model_config = ConfigDict(extra="forbid")

    tools: list[ExpectedCall] = Field(default_factory=list)
    forbidden_tools: list[str] = Field(default_factory=list)
    stop_reason: AgentStop = "completed"
    fail_once: list[str] = Field(default_factory=list)
    user: str | None = None
    earlier: list[str] = Field(default_factory=list)


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
    must_not_contain: list[str] = Field(
        default_factory=list,
        description="strings the answer must not contain (case-insensitive; a number "
        "matches only as a whole number: '3.2M' is not found in '13.2M')",
    )
    must_not_cite: list[str] = Field(
        default_factory=list, description="document ids the answer must not cite"
    )
    bad_answer: str | None = Field(
        None,
        description="a wrong answer given before (e.g. from a hallucination report): the "
        "answer must differ from it (token F1 below 0.8)",
    )
    bad_claims: list[str] = Field(
        default_factory=list,
        description="unsupported sentences of the bad answer: none may reappear (a sentence "
        "of the answer with token F1 of 0.8 or more to one of them)",
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
    agent: AgentExpect | None = Field(
        None, description="an agent task: expected tool calls and stop reason (--agent)"
    )


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
    #: an agent run: stop_reason, steps, tokens, memories, tool_calls [{name, arguments, ok}]
    agent: dict[str, Any] | None = None


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


@dataclass(slots=True)
class RunInfo:
    """One evaluation run (without its per-case results)."""

    id: str
    dataset_path: str
    dataset_hash: str
    fingerprint: dict[str, Any]
    fingerprint_hash: str
    target: str = "project"
    name: str | None = None
    status: str = "running"
    repeats: int = 1
    created_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    summary: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(slots=True)
class CaseResult:
    """One case, one repeat: what the system produced and how each metric scored it."""

    case: Case
    repeat_index: int
    output: CaseOutput
    metrics: list[MetricResult]
    cache_key: str = ""
    case_hash: str = ""
    metrics_key: str = ""
    cached: bool = False
    position: int = 0
    #: the stored JSON of ``output`` / ``metrics`` when reused from the cache as is
    output_json: str | None = field(default=None, repr=False, compare=False)
    metrics_json: str | None = field(default=None, repr=False, compare=False)

    @property
    def key(self) -> tuple[str, int]:
        return (self.case.id, self.repeat_index)

    def metric(self, name: str) -> MetricResult | None:
        for m in self.metrics:
            if m.metric == name:
                return m
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "case": self.case.model_dump(mode="json"),
            "repeat_index": self.repeat_index,
            "output": output_to_dict(self.output),
            "metrics": [dataclasses.asdict(m) for m in self.metrics],
            "cached": self.cached,
        }


@dataclass(frozen=True, slots=True)
class CachedOutput:
    output: CaseOutput
    case_hash: str
    metrics_key: str
    metrics: list[MetricResult]
    output_json: str = ""
    metrics_json: str = ""


def output_to_dict(output: CaseOutput) -> dict[str, Any]:
    return dataclasses.asdict(output)


class EvalStore(Protocol):
    """Storage of evaluation runs (one per backend: SQLite, PostgreSQL)."""

    def create_run(self, run: RunInfo) -> None: ...

    def get_run(self, run_id: str) -> RunInfo:
        """The run by id, unique id prefix, or ``last``; raises NotFoundError."""
        ...

    def list_runs(self, limit: int = 50) -> list[RunInfo]: ...

    def finish_run(self, run_id: str, status: str, summary: dict[str, Any]) -> None: ...

    def add_result(self, run_id: str, result: CaseResult) -> None: ...

    def add_results(self, run_id: str, results: list[CaseResult]) -> None:
        """Several results in one transaction (cache hits)."""
        ...

    def results(self, run_id: str) -> list[CaseResult]: ...

    def done_keys(self, run_id: str) -> set[tuple[str, int]]: ...

    def cached(
        self, cache_keys: list[str], *, metrics_key: str | None = None
    ) -> dict[str, CachedOutput]:
        """Stored outputs (without a pipeline error) for these cache keys, by key;
        rows scored by ``metrics_key`` preferred, then the newest."""
        ...

    def close(self) -> None: ...
