"""Summaries and reports of an evaluation run: terminal table, JSON and HTML.

The summary groups metric results by case category (plus ``all``): for each metric
the mean of its values, percentiles, the pass rate of pass/fail metrics, how many
cases it scored and how many failed to compute (with their typed reasons). Every
format shows the run's warnings (:mod:`ragline.evals._warnings`) and a metric that
could not be computed reads "n/a", never 0.
"""

from __future__ import annotations

import html
import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ragline.evals._fit import Column, Section, fit_table
from ragline.evals._headline import case_score, headline_metrics, summary_line
from ragline.store._evals import CaseResult, RunInfo

if TYPE_CHECKING:
    from rich.console import Console

    from ragline.evals._warnings import RunWarning

ALL = "all"
_UNBOUNDED = ("latency", "cost")  # metric names whose values are not 0..1 scores


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _stats(
    values: list[float], passed: list[bool], failures: Counter[str], skipped: int
) -> dict[str, Any]:
    out: dict[str, Any] = {"n": len(values), "failures": sum(failures.values())}
    if skipped:
        out["skipped"] = skipped
    if values:
        out.update(
            mean=sum(values) / len(values),
            min=min(values),
            max=max(values),
            p50=percentile(values, 50),
            p90=percentile(values, 90),
            p95=percentile(values, 95),
            p99=percentile(values, 99),
            sum=sum(values),
        )
    if passed:
        out["pass_rate"] = sum(passed) / len(passed)
    if failures:
        out["failure_reasons"] = dict(failures)
    return out


def _score_stats(category: str, values: list[float], na: int) -> dict[str, Any]:
    """A category's headline score (:mod:`ragline.evals._headline`)."""
    out = _stats(values, [], Counter(), 0)
    del out["failures"]
    return {**out, "na": na, "metrics": list(headline_metrics(category))}


def summarize(results: Iterable[CaseResult]) -> dict[str, Any]:
    """Per category (and ``all``): per metric statistics; counts of cases and errors;
    per category (not ``all``) its headline ``score``."""
    values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    passed: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    failures: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    skipped: dict[str, Counter[str]] = defaultdict(Counter)
    n_cases: Counter[str] = Counter()
    n_errors: Counter[str] = Counter()
    metric_names: dict[str, list[str]] = defaultdict(list)
    n_cached = 0
    scores: dict[str, list[float]] = defaultdict(list)
    scores_na: Counter[str] = Counter()
    for r in results:
        n_cached += int(r.cached)
        score = case_score(r)
        if score is None:
            scores_na[r.case.category] += 1
        else:
            scores[r.case.category].append(score)
        for group in (r.case.category, ALL):
            n_cases[group] += 1
            n_errors[group] += int(r.output.error is not None)
            for m in r.metrics:
                if m.metric not in metric_names[group]:
                    metric_names[group].append(m.metric)
                if m.skipped is not None:
                    skipped[group][m.metric] += 1
                    continue
                if m.failure is not None:
                    failures[group][m.metric][m.failure.split(":", 1)[0]] += 1
                    continue
                if m.value is not None:
                    values[group][m.metric].append(float(m.value))
                if m.passed is not None:
                    passed[group][m.metric].append(bool(m.passed))
    categories: dict[str, Any] = {}
    for group in sorted(n_cases, key=lambda g: (g == ALL, g)):
        categories[group] = {
            "n": n_cases[group],
            "errors": n_errors[group],
            "metrics": {
                name: _stats(
                    values[group][name],
                    passed[group][name],
                    failures[group][name],
                    skipped[group][name],
                )
                for name in metric_names[group]
            },
        }
        if group != ALL:
            categories[group]["score"] = _score_stats(group, scores[group], scores_na[group])
    overall = categories.get(ALL, {"n": 0, "errors": 0, "metrics": {}})
    return {
        "cases": overall["n"],
        "errors": overall["errors"],
        "cached": n_cached,
        "metric_failures": sum(m["failures"] for m in overall["metrics"].values()),
        "categories": categories,
    }


def _badness(r: CaseResult) -> tuple[int, int, float]:
    bounded = [
        float(m.value)
        for m in r.metrics
        if m.value is not None and not m.metric.startswith(_UNBOUNDED) and 0 <= m.value <= 1
    ]
    mean = sum(bounded) / len(bounded) if bounded else 1.0
    fails = sum(1 for m in r.metrics if m.passed is False or m.failure is not None)
    return (int(r.output.error is not None), fails, -mean)


def worst_cases(results: Sequence[CaseResult], n: int = 10) -> list[CaseResult]:
    """Pipeline errors first, then most failed metrics, then the lowest mean score."""
    ranked = sorted(results, key=_badness, reverse=True)
    return [r for r in ranked[:n] if _badness(r) != (0, 0, -1.0)]


def trace_link(trace_id: str | None, *, html_link: bool = False) -> str:
    if not trace_id:
        return ""
    if html_link:
        t = html.escape(trace_id)
        return f'<a href="/traces/{t}">{t}</a> (<code>ragline traces show {t}</code>)'
    return f"ragline traces show {trace_id}"


def _case_brief(r: CaseResult) -> dict[str, Any]:
    return {
        "case_id": r.case.id,
        "repeat_index": r.repeat_index,
        "category": r.case.category,
        "question": r.case.question,
        "answer": r.output.answer,
        "error": r.output.error,
        "trace": trace_link(r.output.trace_id) or None,
        "metrics": {
            m.metric: (m.value if m.failure is None else f"failed: {m.failure}") for m in r.metrics
        },
    }


def warnings_of(run: RunInfo, results: Sequence[CaseResult]) -> list[RunWarning]:
    """The run's warnings: its stored dataset check's, then those of ``results``."""
    from ragline.evals._warnings import run_warnings

    return run_warnings(results, run.summary.get("dataset_check"))


def _full_summary(run: RunInfo, results: Sequence[CaseResult]) -> dict[str, Any]:
    summary = summarize(results)
    if "dataset_check" in run.summary:
        summary["dataset_check"] = run.summary["dataset_check"]
    summary["warnings"] = [w.to_dict() for w in warnings_of(run, results)]
    return summary


def report_json(run: RunInfo, results: Sequence[CaseResult]) -> dict[str, Any]:
    """The whole run as JSON: the run, its summary (with the warnings), the worst cases
    and every result."""
    return {
        "run": {k: v for k, v in run.to_dict().items() if k != "summary"},
        "summary": _full_summary(run, results),
        "worst_cases": [_case_brief(r) for r in worst_cases(results)],
        "results": [r.to_dict() for r in results],
    }


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def print_table(run: RunInfo, results: Sequence[CaseResult], console: Console) -> None:
    """The terminal report: one row per (category, metric), fitted to the width."""
    summary = summarize(results)
    title = f"run {run.id}" + (f" ({run.name})" if run.name else "")
    console.print(
        f"{title} · {run.status} · {summary['cases']} results, {summary['errors']} pipeline "
        f"errors, {summary['metric_failures']} metric failures, {summary['cached']} from cache",
        markup=False,
    )
    print_headlines(summary, console)
    sections: list[Section] = []
    for cat, data in summary["categories"].items():
        rows = [
            [
                name,
                _value(st, "mean"),
                _value(st, "pass_rate"),
                _value(st, "p95"),
                str(st["n"]),
                na_cell(st),
            ]
            for name, st in _ordered(cat, data["metrics"])
            if st["n"] or st["failures"]  # not skipped on every case (no guard verdicts)
        ]
        if rows:
            sections.append(Section(f"{cat} ({data['n']})", rows))
    fit_table(REPORT_GROUP, REPORT_COLUMNS, sections, console).print(console)
    print_warnings(warnings_of(run, results), console)
    from rich.text import Text

    worst = worst_cases(results, 5)
    if worst:
        console.print("worst cases:")
        for r in worst:
            what = f"error: {r.output.error}" if r.output.error else _short(r.output.answer)
            link = trace_link(r.output.trace_id)
            console.print(
                Text(
                    f"  {r.case.id} [{r.case.category}] {_short(r.case.question)} → {what}"
                    + (f"  ({link})" if link else "")
                )
            )


REPORT_GROUP = Column("category", justify="left", wrap=True)
REPORT_COLUMNS = (
    Column("metric", justify="left", wrap=True),
    Column("mean"),
    Column("pass rate", "pass", "pass rate (pass/fail metrics)"),
    Column("p95"),
    Column("n"),
    Column("n/a"),
)


def na_cell(st: dict[str, Any]) -> str:
    """ "K of N": the results a metric could not be computed on, of those it applies to."""
    if not st["failures"]:
        return ""
    return f"{st['failures']} of {st['n'] + st['failures'] + st.get('skipped', 0)}"


def _value(st: dict[str, Any], stat: str) -> str:
    """A statistic, or "n/a" for a metric with no computed value (never a 0)."""
    if stat not in st:
        return "n/a" if not st["n"] and (stat == "mean" or stat == "p95") else "—"
    return _fmt(st[stat])


def print_headlines(summary: dict[str, Any], console: Console) -> None:
    """One line per category: its headline score (the mean of its cases' scores)."""
    from rich.text import Text

    cats = [(c, d) for c, d in summary["categories"].items() if c != ALL]
    for cat, data in cats:
        console.print(Text(summary_line(cat, data.get("score"))))
    if cats:
        console.print(
            Text(
                "score: per case, the mean of its category's headline metrics "
                "(gate it as CATEGORY.score)",
                style="dim",
            )
        )


def print_warnings(warnings: Sequence[RunWarning], console: Console) -> None:
    """The run's warnings, one wrapped paragraph each."""
    from rich.text import Text

    if not warnings:
        return
    console.print(Text(f"warnings ({len(warnings)}):"))
    for w in warnings:
        console.print(Text(f"  ! {w.message}"))


def _ordered(category: str, metrics: dict[str, Any]) -> list[tuple[str, Any]]:
    """The category's headline metrics first (``category_metrics``), then the rest."""
    from ragline.evals._metrics import category_metrics

    first = category_metrics(category) if category != ALL else ()
    rank = {name: i for i, name in enumerate(first)}
    return sorted(metrics.items(), key=lambda kv: rank.get(kv[0], len(rank)))


def _short(text: str, n: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.meta{color:#666}.fail{color:#b00020}code{background:#f3f3f3;padding:0 .2rem}
svg text{font-size:12px}
"""


def _bars(metrics: dict[str, Any]) -> str:
    """Inline SVG bars for the 0..1 metrics of one category."""
    rows = [
        (name, st["mean"])
        for name, st in metrics.items()
        if "mean" in st and not name.startswith(_UNBOUNDED) and 0 <= st["mean"] <= 1
    ]
    if not rows:
        return ""
    h = 22
    parts = [f'<svg width="640" height="{h * len(rows) + 4}" role="img">']
    for i, (name, mean) in enumerate(rows):
        y = i * h + 2
        w = max(1.0, 380 * mean)
        color = "#2e7d32" if mean >= 0.8 else "#f9a825" if mean >= 0.5 else "#c62828"
        parts.append(
            f'<text x="0" y="{y + 15}">{html.escape(name)}</text>'
            f'<rect x="200" y="{y + 3}" width="380" height="14" fill="#eee"/>'
            f'<rect x="200" y="{y + 3}" width="{w:.1f}" height="14" fill="{color}"/>'
            f'<text x="{590}" y="{y + 15}">{mean:.3f}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def report_html(run: RunInfo, results: Sequence[CaseResult]) -> str:
    """A self-contained HTML page (inline CSS and SVG, no scripts, no external files)."""
    e = html.escape
    summary = summarize(results)
    out = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>ragline eval {e(run.id)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Evaluation run {e(run.id)}" + (f" — {e(run.name)}" if run.name else "") + "</h1>",
        f"<p class='meta'>{e(run.status)} · dataset <code>{e(run.dataset_path)}</code> "
        f"({e(run.dataset_hash)}) · target {e(run.target)} · {summary['cases']} results, "
        f"{summary['errors']} pipeline errors, {summary['metric_failures']} metric failures, "
        f"{summary['cached']} from cache</p>",
    ]
    warnings = warnings_of(run, results)
    if warnings:
        out.append(f"<h2 class='fail'>Warnings ({len(warnings)})</h2><ul class='warnings'>")
        out += [f"<li class='fail'>{e(w.message)}</li>" for w in warnings]
        out.append("</ul>")
    for cat, data in summary["categories"].items():
        out.append(f"<h2>{e(cat)} <span class='meta'>({data['n']} results")
        out.append(f", {data['errors']} errors)</span></h2>" if data["errors"] else ")</span></h2>")
        if cat != ALL:
            out.append(f"<p class='headline'>{e(summary_line(cat, data.get('score')))}</p>")
        out.append(_bars(data["metrics"]))
        out.append(
            "<table><tr><th>metric</th><th>mean</th><th>pass rate</th><th>p95</th>"
            "<th>n</th><th>n/a</th></tr>"
        )
        for name, st in _ordered(cat, data["metrics"]):
            if not st["n"] and not st["failures"]:
                continue
            reasons = ", ".join(f"{k}: {v}" for k, v in st.get("failure_reasons", {}).items())
            out.append(
                f"<tr><td>{e(name)}</td><td class='num'>{_value(st, 'mean')}</td>"
                f"<td class='num'>{_value(st, 'pass_rate')}</td>"
                f"<td class='num'>{_value(st, 'p95')}</td><td class='num'>{st['n']}</td>"
                f"<td class='num{' fail' if st['failures'] else ''}'>{e(na_cell(st))}"
                f"{' (' + e(reasons) + ')' if reasons else ''}</td></tr>"
            )
        out.append("</table>")
    worst = worst_cases(results, 20)
    if worst:
        out.append(
            "<h2>Worst cases</h2><table><tr><th>case</th><th>question</th>"
            "<th>answer</th><th>metrics</th><th>trace</th></tr>"
        )
        for r in worst:
            ms = "<br>".join(
                f"{e(m.metric)}: "
                + (f"<span class='fail'>{e(m.failure)}</span>" if m.failure else _fmt(m.value))
                for m in r.metrics
            )
            answer = (
                f"<span class='fail'>error: {e(r.output.error)}</span>"
                if r.output.error
                else e(_short(r.output.answer, 300))
            )
            out.append(
                f"<tr><td>{e(r.case.id)}<br><span class='meta'>{e(r.case.category)}</span></td>"
                f"<td>{e(r.case.question)}</td><td>{answer}</td><td>{ms}</td>"
                f"<td>{trace_link(r.output.trace_id, html_link=True)}</td></tr>"
            )
        out.append("</table>")
    fp = json.dumps(run.fingerprint, indent=2, sort_keys=True, default=str)
    out.append(f"<h2>Configuration</h2><pre>{e(fp)}</pre></body></html>")
    return "\n".join(out)
