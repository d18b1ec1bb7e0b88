"""No silent zeros: what in a run could not be scored, counted and said out loud.

A run's warnings come from two places:

- the dataset check before the run (:mod:`ragline.evals._preflight`): gold documents or
  gold chunks that are not in the store (their retrieval metrics score 0 however good
  retrieval is), tenants with no documents (their cases can only abstain);
- the results: cases the pipeline failed on (every metric is n/a on them) and, per
  metric, the cases it could not compute (a typed failure such as ``no_citations`` or
  ``judge_unparseable``): they are left out of its mean, so the report says
  "n/a on K of N cases" instead of showing a number that hides them.

The runner stores them in the run's summary (``summary["warnings"]``, with the check
itself under ``summary["dataset_check"]``); every report format shows them, and
``strict`` (``ragline eval run --strict``) turns them into an
:class:`~ragline.errors.EvalWarningsError` whose one line names the counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ragline.store._evals import CaseResult

#: case ids named in a warning
EXAMPLES = 3

#: kinds found before the run (the dataset against the store)
DATASET_KINDS = ("missing_gold", "missing_gold_chunks", "empty_tenant")


@dataclass(frozen=True, slots=True)
class RunWarning:
    """One thing that makes a run's numbers less than they look.

    ``count`` of ``of`` cases (results, with repeats) are affected; ``subject`` is the
    metric or tenant concerned; ``short`` is the few words the strict line uses.
    """

    kind: str  # one of DATASET_KINDS, "pipeline_errors", "metric_na"
    message: str
    count: int
    of: int
    subject: str = ""
    examples: tuple[str, ...] = ()
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def short(self) -> str:
        if self.kind == "missing_gold":
            return f"gold documents missing from the store for {self.count} of {self.of} cases"
        if self.kind == "missing_gold_chunks":
            return f"gold chunks missing from the store for {self.count} of {self.of} cases"
        if self.kind == "empty_tenant":
            return f"tenant {self.subject!r} has no documents ({_cases(self.count)})"
        if self.kind == "pipeline_errors":
            return f"the pipeline failed on {self.count} of {self.of} cases"
        return f"{self.subject} n/a on {self.count} of {self.of} cases"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": self.message,
            "count": self.count,
            "of": self.of,
            "subject": self.subject,
            "examples": list(self.examples),
            "reasons": dict(self.reasons),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunWarning:
        return cls(
            kind=str(data["kind"]),
            message=str(data["message"]),
            count=int(data["count"]),
            of=int(data["of"]),
            subject=str(data.get("subject", "")),
            examples=tuple(str(e) for e in data.get("examples", ())),
            reasons={str(k): int(v) for k, v in dict(data.get("reasons", {})).items()},
        )


def _cases(n: int) -> str:
    return f"{n} case" if n == 1 else f"{n} cases"


def _reasons(counter: Mapping[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(counter.items(), key=lambda kv: -kv[1]))


def result_warnings(results: Iterable[CaseResult]) -> list[RunWarning]:
    """Pipeline errors, then every metric that could not be computed on some cases.

    A metric's failures caused by a pipeline error are counted once, in the pipeline
    line, not again under every metric. Skipped results (a metric that does not apply
    to an abstained answer, say) are by design and not warned about."""
    results = list(results)
    total = len(results)
    errored = [r for r in results if r.output.error is not None]
    out: list[RunWarning] = []
    if errored:
        examples = tuple(f"{r.case.id}: {r.output.error}" for r in errored[:EXAMPLES])
        out.append(
            RunWarning(
                "pipeline_errors",
                f"the pipeline failed on {len(errored)} of {total} cases (e.g. "
                f"{'; '.join(examples)}): every metric is n/a on them, not 0 — "
                "fix the error and rerun (unchanged cases come from the cache)",
                len(errored),
                total,
                examples=tuple(r.case.id for r in errored[:EXAMPLES]),
            )
        )
    applies: Counter[str] = Counter()
    failed: dict[str, Counter[str]] = {}
    failed_ids: dict[str, list[str]] = {}
    order: list[str] = []
    for r in results:
        for m in r.metrics:
            if m.metric not in applies:
                order.append(m.metric)
            applies[m.metric] += 1
            if m.failure is None or m.failure == "pipeline_error":
                continue
            failed.setdefault(m.metric, Counter())[m.failure.split(":", 1)[0]] += 1
            ids = failed_ids.setdefault(m.metric, [])
            if len(ids) < EXAMPLES:
                ids.append(r.case.id)
    for name in order:
        reasons = failed.get(name)
        if not reasons:
            continue
        k, n = sum(reasons.values()), applies[name]
        scope = f"all {n}" if k == n else f"{k} of {n}"
        out.append(
            RunWarning(
                "metric_na",
                f"{name}: n/a on {scope} cases ({_reasons(reasons)}; e.g. "
                f"{', '.join(failed_ids[name])}): they are left out of its mean, not scored 0",
                k,
                n,
                subject=name,
                examples=tuple(failed_ids[name]),
                reasons=dict(reasons),
            )
        )
    return out


def run_warnings(
    results: Sequence[CaseResult], dataset_check: Mapping[str, Any] | None
) -> list[RunWarning]:
    """Every warning of a run: the dataset check's (as stored), then the results'."""
    out: list[RunWarning] = []
    if dataset_check:
        from ragline.evals._preflight import DatasetCheck

        out += DatasetCheck.from_dict(dict(dataset_check)).run_warnings()
    return out + result_warnings(results)


def stored_warnings(summary: Mapping[str, Any]) -> list[RunWarning]:
    """The warnings a run's stored summary holds (none for runs made before them)."""
    return [RunWarning.from_dict(w) for w in summary.get("warnings", ())]


def strict_line(warnings: Sequence[RunWarning]) -> str:
    """The one line ``--strict`` fails with: every problem, with its counts."""
    n = len(warnings)
    return f"{n} evaluation warning{'s' if n != 1 else ''}: " + "; ".join(w.short for w in warnings)


__all__ = [
    "DATASET_KINDS",
    "RunWarning",
    "result_warnings",
    "run_warnings",
    "stored_warnings",
    "strict_line",
]
