"""What an evaluation stores — cases, outputs, metric results, runs — and the contract.

The evaluation data model lives here, next to the :class:`EvalStore` protocol, so the
backends (``store.sqlite``, ``store.postgres``) can store it without depending on
``ragline.evals``, which re-exports every name. A dataset is JSONL, one :class:`Case`
per line; :class:`CaseOutput` is what the system under test produced for one case;
:class:`MetricResult` one metric's verdict on it; :class:`RunInfo` one run and
:class:`CaseResult` one case of a run. The ``*_row``/``*_from_row`` helpers are the
column layout the SQL backends share.

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
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from ragline.errors import NotFoundError

STATUSES = ("running", "interrupted", "complete")


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


def output_from_dict(data: dict[str, Any]) -> CaseOutput:
    return CaseOutput(
        answer=str(data.get("answer", "")),
        sentences=tuple(
            CitedSentence(s["text"], tuple(s.get("chunk_ids", ())))
            for s in data.get("sentences", ())
        ),
        contexts=tuple(
            RetrievedContext(
                c["chunk_id"], c["document_id"], c.get("text", ""), float(c.get("score", 0.0))
            )
            for c in data.get("contexts", ())
        ),
        abstained=bool(data.get("abstained", False)),
        latency_ms=float(data.get("latency_ms", 0.0)),
        cost_usd=float(data.get("cost_usd", 0.0)),
        trace_id=data.get("trace_id"),
        error=data.get("error"),
        guards=tuple(dict(g) for g in data.get("guards", ())),
    )


def metrics_to_json(metrics: list[MetricResult]) -> str:
    return json.dumps([dataclasses.asdict(m) for m in metrics], ensure_ascii=False, default=str)


def metrics_from_json(text: str) -> list[MetricResult]:
    return [MetricResult(**m) for m in json.loads(text)]


#: the ``eval_runs`` columns :func:`run_row` writes and :func:`run_from_row` reads
RUN_COLS = (
    "id, name, created_at, finished_at, status, target, dataset_path, dataset_hash, "
    "fingerprint_hash, fingerprint, repeats, summary"
)


def run_row(run: RunInfo) -> tuple[Any, ...]:
    """The values of one ``eval_runs`` row, in :data:`RUN_COLS` order."""
    return (
        run.id,
        run.name,
        run.created_at,
        run.finished_at,
        run.status,
        run.target,
        run.dataset_path,
        run.dataset_hash,
        run.fingerprint_hash,
        json.dumps(run.fingerprint, sort_keys=True, default=str),
        run.repeats,
        json.dumps(run.summary, default=str),
    )


def run_from_row(row: Sequence[Any]) -> RunInfo:
    """A :class:`RunInfo` from the ``eval_runs`` columns in :data:`RUN_COLS` order."""
    return RunInfo(
        id=row[0],
        name=row[1],
        created_at=row[2],
        finished_at=row[3],
        status=row[4],
        target=row[5],
        dataset_path=row[6],
        dataset_hash=row[7],
        fingerprint_hash=row[8],
        fingerprint=json.loads(row[9]),
        repeats=row[10],
        summary=json.loads(row[11]),
    )


#: the ``eval_results`` columns :func:`result_from_row` reads, in order
RESULT_COLS = (
    "case_json, repeat_index, output, metrics, cache_key, case_hash, metrics_key, cached, position"
)


def result_from_row(r: Sequence[Any]) -> CaseResult:
    return CaseResult(
        case=Case.model_validate_json(r[0]),
        repeat_index=r[1],
        output=output_from_dict(json.loads(r[2])),
        metrics=metrics_from_json(r[3]),
        cache_key=r[4],
        case_hash=r[5],
        metrics_key=r[6],
        cached=bool(r[7]),
        position=r[8],
    )


def result_row(run_id: str, result: CaseResult) -> tuple[Any, ...]:
    """The values of one ``eval_results`` row, in insert order."""
    return (
        run_id,
        result.case.id,
        result.repeat_index,
        result.position,
        result.case.category,
        result.case.model_dump_json(),
        result.case_hash,
        result.output_json
        or json.dumps(output_to_dict(result.output), ensure_ascii=False, default=str),
        bool(result.output.error),
        result.metrics_json or metrics_to_json(result.metrics),
        result.metrics_key,
        result.cache_key,
        bool(result.cached),
        time.time(),
    )


def pick_run(rows: Sequence[Sequence[Any]], run_id: str) -> RunInfo:
    """The run ``run_id`` names among ``rows`` (by id, then unique prefix or name).

    Raises :class:`NotFoundError` when there is none or the prefix is ambiguous.
    """
    if not rows:
        raise NotFoundError(
            f"no evaluation run {run_id!r}", hint="`ragline eval list` shows the runs"
        )
    if len(rows) > 1 and rows[0][0] != run_id and rows[0][1] != run_id:
        raise NotFoundError(
            f"{run_id!r} matches several runs", hint="give more characters of the run id"
        )
    return run_from_row(rows[0])


def cached_from_row(row: Sequence[Any]) -> CachedOutput:
    """A cache hit from (cache_key, output, case_hash, metrics_key, metrics) columns."""
    return CachedOutput(
        output=output_from_dict(json.loads(row[1])),
        case_hash=row[2],
        metrics_key=row[3],
        metrics=metrics_from_json(row[4]),
        output_json=row[1],
        metrics_json=row[4],
    )


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
