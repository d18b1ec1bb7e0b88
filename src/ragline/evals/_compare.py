"""``ragline eval compare A B``: what changed between two runs, and is it significant.

The terminal table fits the console's width (:mod:`ragline.evals._fit`): whole headers
where they fit, else abbreviations with a legend; the prose lines wrap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ragline.errors import InputError
from ragline.evals._fingerprint import diff
from ragline.evals._fit import Column, Section, fit_table
from ragline.evals._headline import CategoryHeadline, headline_line, paired_headlines
from ragline.evals._report import ALL
from ragline.evals._stats import Interval, mcnemar, paired_bootstrap
from ragline.store._evals import CaseResult, RunInfo

if TYPE_CHECKING:
    from rich.console import Console


@dataclass(slots=True)
class MetricDelta:
    group: str  # a category, or "all"
    metric: str
    n: int  # cases with a value in both runs
    mean_a: float | None
    mean_b: float | None
    interval: Interval | None
    pass_a: int | None = None  # passed in A (pass/fail metrics, over paired cases)
    pass_b: int | None = None
    flipped_to_fail: int = 0
    flipped_to_pass: int = 0
    mcnemar_p: float | None = None

    def to_dict(self) -> dict[str, Any]:
        iv = self.interval
        return {
            "group": self.group,
            "metric": self.metric,
            "n": self.n,
            "mean_a": self.mean_a,
            "mean_b": self.mean_b,
            "delta": iv.delta if iv else None,
            "ci95": [iv.low, iv.high] if iv else None,
            "significant": iv.significant if iv else None,
            "pass_a": self.pass_a,
            "pass_b": self.pass_b,
            "pass_to_fail": self.flipped_to_fail,
            "fail_to_pass": self.flipped_to_pass,
            "mcnemar_p": self.mcnemar_p,
        }


@dataclass(frozen=True, slots=True)
class Flip:
    metric: str
    case_id: str
    repeat_index: int
    category: str
    question: str
    direction: str  # "pass→fail" or "fail→pass"
    value_a: float | None
    value_b: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Comparison:
    run_a: RunInfo
    run_b: RunInfo
    common: int
    only_a: int
    only_b: int
    deltas: list[MetricDelta] = field(default_factory=list)
    flips: list[Flip] = field(default_factory=list)
    config_diff: list[tuple[str, Any, Any]] = field(default_factory=list)
    #: metrics whose definition (version) differs between the runs: name → (A, B)
    version_changes: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: one headline score per category, paired (:mod:`ragline.evals._headline`)
    headlines: list[CategoryHeadline] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric_version_changes": {k: list(v) for k, v in self.version_changes.items()},
            "run_a": self.run_a.id,
            "run_b": self.run_b.id,
            "common_cases": self.common,
            "only_in_a": self.only_a,
            "only_in_b": self.only_b,
            "categories": [h.to_dict() for h in self.headlines],
            "metrics": [d.to_dict() for d in self.deltas],
            "flipped": [f.to_dict() for f in self.flips],
            "config_diff": [{"key": k, "a": a, "b": b} for k, a, b in self.config_diff],
        }


def compare_runs(
    run_a: RunInfo,
    results_a: Sequence[CaseResult],
    run_b: RunInfo,
    results_b: Sequence[CaseResult],
) -> Comparison:
    """Per-metric (and per-category) deltas over the cases both runs have."""
    by_a = {r.key: r for r in results_a}
    by_b = {r.key: r for r in results_b}
    common = [k for k in by_a if k in by_b]
    if not common:
        raise InputError(
            f"runs {run_a.id} and {run_b.id} have no case in common",
            hint="compare two runs of the same dataset",
        )
    comparison = Comparison(
        run_a,
        run_b,
        common=len(common),
        only_a=len(by_a) - len(common),
        only_b=len(by_b) - len(common),
        config_diff=[
            (k, a, b)
            for k, a, b in diff(run_a.fingerprint, run_b.fingerprint)
            if k != "dataset.path"
        ],
    )
    versions_a = {m.metric: m.version for r in results_a for m in r.metrics}
    versions_b = {m.metric: m.version for r in results_b for m in r.metrics}
    comparison.version_changes = {
        name: (versions_a[name], versions_b[name])
        for name in sorted(set(versions_a) & set(versions_b))
        if versions_a[name] != versions_b[name]
    }
    groups: dict[str, list[tuple[str, int]]] = {ALL: common}
    for key in common:
        groups.setdefault(by_b[key].case.category, []).append(key)
    comparison.headlines = paired_headlines(by_a, by_b, groups)
    order = [g for g in sorted(groups) if g != ALL] + [ALL]
    for group in order:
        keys = groups[group]
        names: list[str] = []
        for key in keys:
            for m in by_a[key].metrics + by_b[key].metrics:
                if m.metric not in names:
                    names.append(m.metric)
        for name in names:
            va: list[float] = []
            vb: list[float] = []
            b_cnt = c_cnt = pa = pb = n_pass = 0
            for key in keys:
                ma, mb = by_a[key].metric(name), by_b[key].metric(name)
                if ma is None or mb is None:
                    continue
                if ma.value is not None and mb.value is not None:
                    va.append(float(ma.value))
                    vb.append(float(mb.value))
                if ma.passed is not None and mb.passed is not None:
                    n_pass += 1
                    pa += int(ma.passed)
                    pb += int(mb.passed)
                    if ma.passed and not mb.passed:
                        b_cnt += 1
                    elif mb.passed and not ma.passed:
                        c_cnt += 1
                    if group == ALL and ma.passed != mb.passed:
                        case = by_b[key].case
                        comparison.flips.append(
                            Flip(
                                name,
                                case.id,
                                key[1],
                                case.category,
                                case.question,
                                "pass→fail" if ma.passed else "fail→pass",
                                ma.value,
                                mb.value,
                            )
                        )
            if not va and not n_pass:
                continue
            delta = MetricDelta(
                group,
                name,
                n=len(va) if va else n_pass,
                mean_a=sum(va) / len(va) if va else None,
                mean_b=sum(vb) / len(vb) if vb else None,
                interval=paired_bootstrap(va, vb) if va else None,
            )
            if n_pass:
                delta.pass_a, delta.pass_b = pa, pb
                delta.flipped_to_fail, delta.flipped_to_pass = b_cnt, c_cnt
                delta.mcnemar_p = mcnemar(b_cnt, c_cnt)
            comparison.deltas.append(delta)
    return comparison


def _f(v: float | None, signed: bool = False) -> str:
    if v is None:
        return "—"
    if abs(v) >= 100:
        return f"{v:+.0f}" if signed else f"{v:.0f}"
    return f"{v:+.3f}" if signed else f"{v:.3f}"


COMPARE_GROUP = Column("group", justify="left", wrap=True)
COMPARE_COLUMNS = (
    Column("metric", justify="left", wrap=True),
    Column("A"),
    Column("B"),
    Column("Δ (B−A)", "Δ", "B − A"),
    Column("95% CI", "CI", "95% interval of Δ"),
    Column("McNemar p", "p", "McNemar p-value of the pass/fail flips"),
    Column("flips", "±", "pass→fail/fail→pass cases"),
    Column("n"),
)


def _line(console: Console, text: str) -> None:
    """One line of prose, wrapped to the console (no markup)."""
    from rich.text import Text

    console.print(Text(text))


def print_comparison(c: Comparison, console: Console, *, max_flips: int = 20) -> None:
    """The comparison for the terminal, fitted to its width (see :mod:`._fit`)."""
    _line(
        console,
        f"A = {c.run_a.id}{' (' + c.run_a.name + ')' if c.run_a.name else ''}   "
        f"B = {c.run_b.id}{' (' + c.run_b.name + ')' if c.run_b.name else ''}   "
        f"{c.common} paired results"
        + (f" ({c.only_a} only in A, {c.only_b} only in B)" if c.only_a or c.only_b else ""),
    )
    for h in c.headlines:
        _line(console, headline_line(h))
    if c.headlines:
        _line(
            console,
            "score: per case, the mean of its category's headline metrics; points: Δ × 100",
        )
    sections: list[Section] = []
    for d in c.deltas:
        if not sections or sections[-1].title != d.group:
            sections.append(Section(d.group, []))
        iv = d.interval
        ci = f"[{_f(iv.low, True)}, {_f(iv.high, True)}]" if iv else "—"
        if iv and iv.significant:
            ci += " *"
        flips = f"-{d.flipped_to_fail}/+{d.flipped_to_pass}" if d.mcnemar_p is not None else ""
        sections[-1].rows.append(
            [
                d.metric,
                _f(d.mean_a),
                _f(d.mean_b),
                _f(iv.delta, True) if iv else "—",
                ci,
                f"{d.mcnemar_p:.3g}" if d.mcnemar_p is not None else "",
                flips,
                str(d.n),
            ]
        )
    fitted = fit_table(COMPARE_GROUP, COMPARE_COLUMNS, sections, console)
    fitted.print(console)
    if fitted.legend:
        _line(console, fitted.legend)
    _line(console, "* the 95% interval excludes 0 (paired bootstrap over cases)")
    for name, (va, vb) in c.version_changes.items():
        _line(
            console,
            f"warning: metric {name} is version {va} in A and {vb} in B: "
            "its values may not be comparable",
        )
    if c.flips:
        to_fail = [f for f in c.flips if f.direction == "pass→fail"]
        to_pass = [f for f in c.flips if f.direction == "fail→pass"]
        for title, group in (("pass → fail", to_fail), ("fail → pass", to_pass)):
            if not group:
                continue
            _line(console, f"{title} ({len(group)}):")
            for f in group[:max_flips]:
                _line(console, f"  {f.metric}: {f.case_id} [{f.category}] {f.question}")
            if len(group) > max_flips:
                _line(console, f"  … {len(group) - max_flips} more (use --json)")
    if c.config_diff:
        _line(console, "configuration diff (A → B):")
        for key, a, b in c.config_diff:
            _line(console, f"  {key}: {a!r} → {b!r}")
    else:
        _line(console, "configuration: identical")
