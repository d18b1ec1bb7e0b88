"""``ragline experiments report NAME``: each variant's live results, and how it compares.

Read from the traces (served asks, and ``ragline.shadow`` runs) whose root records the
experiment, and from the feedback on them. Per variant: requests, errors, abstention,
thumbs-up (``good`` feedback over all feedback on its answers), latency P50/P95 and
citation support (the share of an answer's cited sentences whose support reaches
``ragline.citations.min_support``, as the monitor's ``citation_support``).

Each other variant is compared with the control (the first variant), with the methods
of :mod:`ragline.prompts._significance`. A/B traffic (different requests): rates by
Newcombe's score interval and the two-proportion z-test, latency and citation support
by the unpaired bootstrap. ``mode: shadow`` (a shadow run and the served answer it
shadows, ``ragline.shadow.of``, answered the same request): every metric by the paired
bootstrap over those pairs, with McNemar's test for abstention and errors; thumbs-up
has no shadow side (never shown). A comparison with fewer than
``min_n`` observations on either side is reported as "not enough data yet" instead of an
interval that would mean little.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ragline.prompts._significance import (
    Difference,
    Rate,
    bootstrap_difference,
    paired_difference,
    rate_difference,
    wilson,
)

if TYPE_CHECKING:
    from ragline._config_experiments import ExperimentSettings
    from ragline.store._traces import SpanRecord, TraceStore

MIN_N = 30
ROOTS = ("ragline.ask", "ragline.shadow")


@dataclass(frozen=True, slots=True)
class Observation:
    """One answered (or failed) request of one variant, from its trace."""

    trace_id: str
    variant: str
    latency_ms: float
    failed: bool
    abstained: bool | None
    citation_support: float | None  #: supported share of the cited sentences
    feedback: bool | None = None  #: True: thumbs up (good); False: any other kind
    shadow_of: str | None = None
    tenant: str = ""


@dataclass(slots=True)
class VariantResult:
    variant: str
    shadow: bool  #: answered in the background, never shown
    requests: int
    errors: Rate
    abstention: Rate
    thumbs_up: Rate
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    citation_support: float | None
    citation_support_n: int


@dataclass(frozen=True, slots=True)
class Comparison:
    """One metric of ``variant`` against the control: a difference, or why there is none."""

    variant: str
    metric: str
    difference: Difference | None
    note: str = ""


@dataclass(slots=True)
class ExperimentReport:
    experiment: str
    mode: str
    control: str
    variants: list[VariantResult]
    comparisons: list[Comparison]
    min_n: int
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def observe(root: SpanRecord, children: Sequence[SpanRecord]) -> Observation | None:
    """The observation a trace makes, or None when it is not an experiment's answer."""
    from ragline.monitor._builder import _citations as citations_of  # the monitor's rule

    variant = root.attributes.get("ragline.variant")
    if root.parent_id is not None or root.name not in ROOTS or not isinstance(variant, str):
        return None
    failed = root.status == "error"
    abstained = root.attributes.get("ragline.abstained")
    cited = None if failed or abstained is True else citations_of(children)
    shadow_of = root.attributes.get("ragline.shadow.of")
    return Observation(
        root.trace_id,
        variant,
        max(0.0, root.duration_ms),
        failed,
        abstained if isinstance(abstained, bool) and not failed else None,
        cited[1] / cited[0] if cited else None,
        shadow_of=shadow_of if isinstance(shadow_of, str) else None,
        tenant=root.tenant,
    )


def collect(
    traces: TraceStore,
    experiment: ExperimentSettings,
    *,
    since: float | None = None,
    limit: int = 10_000,
) -> list[Observation]:
    """The observations of ``experiment``'s traces (the newest ``limit`` traces started
    at or after ``since``), each with the feedback on its answer."""
    from dataclasses import replace

    votes: dict[str, bool] = {}
    for item in traces.list_feedback():
        up = item.kind == "good"
        votes[item.trace_id] = votes.get(item.trace_id, True) and up  # any complaint: down
    tenants = experiment.tenants if len(experiment.tenants) == 1 else [None]
    out: list[Observation] = []
    for tenant in tenants:
        for summary in traces.list_traces(tenant=tenant, since=since, limit=limit):
            if summary.name not in ROOTS:
                continue
            spans = traces.get_trace(summary.trace_id)
            root = next((s for s in spans if s.parent_id is None), None)
            if root is None or root.attributes.get("ragline.experiment") != experiment.name:
                continue
            found = observe(root, spans)
            if found is not None:
                out.append(replace(found, feedback=votes.get(found.trace_id)))
    return out


def _percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _result(variant: str, shadow: bool, rows: Sequence[Observation]) -> VariantResult:
    answered = [r for r in rows if not r.failed]
    judged = [r for r in answered if r.abstained is not None]
    rated = [r for r in rows if r.feedback is not None]
    supports = [r.citation_support for r in answered if r.citation_support is not None]
    latencies = [r.latency_ms for r in answered]
    return VariantResult(
        variant,
        shadow,
        len(rows),
        wilson(sum(r.failed for r in rows), len(rows)),
        wilson(sum(bool(r.abstained) for r in judged), len(judged)),
        wilson(sum(bool(r.feedback) for r in rated), len(rated)),
        _percentile(latencies, 0.5),
        _percentile(latencies, 0.95),
        sum(supports) / len(supports) if supports else None,
        len(supports),
    )


def _few(metric: str, variant: str, n_a: int, n_b: int, min_n: int) -> Comparison | None:
    if min(n_a, n_b) >= min_n:
        return None
    return Comparison(
        variant, metric, None, f"not enough data yet (n = {n_a} vs {n_b}; at least {min_n} each)"
    )


def _rate(
    metric: str, variant: str, a: Rate, b: Rate, min_n: int, *, why_empty: str = ""
) -> Comparison:
    if why_empty and b.n == 0:
        return Comparison(variant, metric, None, why_empty)
    few = _few(metric, variant, a.n, b.n, min_n)
    return few or Comparison(variant, metric, rate_difference(a, b))


def _pairs(
    control: Sequence[Observation],
    rows: Sequence[Observation],
    value: Callable[[Observation], float | None],
) -> list[tuple[float, float]]:
    """(served, shadow) values of each shadow run and the answer it shadows."""
    served = {r.trace_id: value(r) for r in control}
    return [
        (a, b)
        for r in rows
        if r.shadow_of is not None
        and (a := served.get(r.shadow_of)) is not None
        and (b := value(r)) is not None
    ]


def _paired(
    metric: str,
    variant: str,
    control: Sequence[Observation],
    rows: Sequence[Observation],
    value: Callable[[Observation], float | None],
    min_n: int,
    *,
    binary: bool = False,
) -> Comparison:
    """Shadow mode: each shadow run against the answer it shadows (paired bootstrap;
    for a yes/no metric also McNemar's test on the discordant pairs)."""
    from dataclasses import replace

    from ragline.evals._stats import mcnemar

    pairs = _pairs(control, rows, value)
    few = _few(metric, variant, len(pairs), len(pairs), min_n)
    if few:
        return few
    found = paired_difference([a for a, _ in pairs], [b for _, b in pairs])
    if binary:
        only_a = sum(1 for a, b in pairs if a and not b)
        only_b = sum(1 for a, b in pairs if b and not a)
        found = replace(
            found, p_value=mcnemar(only_a, only_b), method="bootstrap (paired), McNemar"
        )
    return Comparison(variant, metric, found)


def _means(
    metric: str,
    variant: str,
    control: Sequence[Observation],
    rows: Sequence[Observation],
    value: Callable[[Observation], float | None],
    min_n: int,
) -> Comparison:
    xa = [v for r in control if (v := value(r)) is not None]
    xb = [v for r in rows if (v := value(r)) is not None]
    return _few(metric, variant, len(xa), len(xb), min_n) or Comparison(
        variant, metric, bootstrap_difference(xa, xb)
    )


def build_report(
    experiment: ExperimentSettings,
    observations: Iterable[Observation],
    *,
    min_n: int = MIN_N,
) -> ExperimentReport:
    """The report of ``experiment`` from its traces' observations (feedback attached)."""
    names = [v.name for v in experiment.variants]
    by_variant: dict[str, list[Observation]] = {n: [] for n in names}
    unknown: set[str] = set()
    for row in observations:
        if row.variant in by_variant:
            by_variant[row.variant].append(row)
        else:
            unknown.add(row.variant)
    control = names[0]
    shadow = experiment.mode == "shadow"
    results = [_result(n, shadow and n != control, by_variant[n]) for n in names]
    base = results[0]
    comparisons: list[Comparison] = []
    for result in results[1:]:
        v = result.variant
        rows, first = by_variant[v], by_variant[control]
        unseen = "no feedback: shadow answers are never shown" if result.shadow else ""
        thumbs = _rate("thumbs_up", v, base.thumbs_up, result.thumbs_up, min_n, why_empty=unseen)
        if shadow:  # the same requests answered twice: paired comparisons
            comparisons += [
                thumbs,
                _paired("abstention", v, first, rows, _abstained, min_n, binary=True),
                _paired("errors", v, first, rows, _failed, min_n, binary=True),
                _paired("latency_ms", v, first, rows, _latency, min_n),
                _paired("citation_support", v, first, rows, _support, min_n),
            ]
        else:
            comparisons += [
                thumbs,
                _rate("abstention", v, base.abstention, result.abstention, min_n),
                _rate("errors", v, base.errors, result.errors, min_n),
                _means("latency_ms", v, first, rows, _latency, min_n),
                _means("citation_support", v, first, rows, _support, min_n),
            ]
    warnings = [
        f"variant {r.variant!r} has {r.requests} requests (fewer than {min_n}): "
        "its numbers are not conclusive yet"
        for r in results
        if r.requests < min_n
    ]
    if unknown:
        warnings.append(
            "traces name variants the experiment no longer has: " + ", ".join(sorted(unknown))
        )
    return ExperimentReport(
        experiment.name, experiment.mode, control, results, comparisons, min_n, warnings
    )


def _latency(row: Observation) -> float | None:
    return None if row.failed else row.latency_ms


def _support(row: Observation) -> float | None:
    return row.citation_support


def _abstained(row: Observation) -> float | None:
    return None if row.abstained is None else float(row.abstained)


def _failed(row: Observation) -> float | None:
    return float(row.failed)


__all__ = [
    "MIN_N",
    "Comparison",
    "ExperimentReport",
    "Observation",
    "VariantResult",
    "build_report",
    "collect",
    "observe",
]
