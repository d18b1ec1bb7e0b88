"""``ragline experiments``: how an experiment's variants do on live traffic.

- ``experiments report NAME`` reads the experiment's traces (served and shadow) and the
  feedback on them, and prints per variant: requests, errors, abstention, thumbs-up,
  latency P50/P95 and citation support, then each variant against the control with a
  95 % interval and a p-value where the test has one — or "not enough data yet" (see
  :mod:`ragline.prompts._report` for the methods). Only typer is imported at module level.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ragline.cli._common import JsonOpt, new_console, open_project, print_json
from ragline.cli._traces import SinceOpt

if TYPE_CHECKING:
    from ragline._config_experiments import ExperimentSettings
    from ragline._project import Project
    from ragline.prompts._report import ExperimentReport

experiments_app = typer.Typer(
    help="Report on experiments (experiments: in ragline.yaml) from live traces.",
    no_args_is_help=True,
)

NameArg = Annotated[
    str, typer.Argument(help="The experiment's name (experiments: in ragline.yaml).")
]


def find_experiment(project: Project, name: str) -> ExperimentSettings:
    """The experiment called ``name``; a ``ConfigError`` listing the known ones if none."""
    from ragline.errors import ConfigError

    found = project.settings.experiments.find(name)
    if found is None:
        known = [e.name for e in project.settings.experiments]
        raise ConfigError(
            f"no experiment named {name!r}",
            hint=("the experiments are " + ", ".join(known))
            if known
            else "add one under experiments: in ragline.yaml",
        )
    return found


@experiments_app.command("report")
def experiments_report(
    name: NameArg,
    since: SinceOpt = None,
    min_n: Annotated[
        int, typer.Option("--min-n", min=2, help="Observations a comparison needs on each side.")
    ] = 30,
    limit: Annotated[int, typer.Option(min=1, help="Read at most this many recent traces.")] = (
        10_000
    ),
    as_json: JsonOpt = False,
) -> None:
    """Per-variant live results with confidence intervals against the control."""
    from ragline._time import parse_when
    from ragline.prompts._report import build_report, collect

    with open_project() as project:
        experiment = find_experiment(project, name)
        project.flush_traces(project.settings.tracing.flush_timeout_s)
        observations = collect(
            project.trace_store,
            experiment,
            since=parse_when(since, option="--since") if since is not None else None,
            limit=limit,
        )
    report = build_report(experiment, observations, min_n=min_n)
    if as_json:
        print_json(report.to_dict())
        return
    render_report(report)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def render_report(report: ExperimentReport) -> None:
    console = new_console()

    def say(line: str = "") -> None:
        console.print(line, markup=False, soft_wrap=True, highlight=False)

    say(f"experiment {report.experiment} (mode {report.mode}; control {report.control})")
    say()
    say(
        f"{'variant':<16}{'requests':>9}{'errors':>9}{'abstain':>9}{'thumbs up':>16}"
        f"{'p50':>9}{'p95':>9}{'citation support':>18}"
    )
    for v in report.variants:
        thumbs = f"{_pct(v.thumbs_up.value if v.thumbs_up.n else None)} (n={v.thumbs_up.n})"
        name = v.variant + (" (shadow)" if v.shadow else "")
        support = f"{_pct(v.citation_support)} (n={v.citation_support_n})"
        say(
            f"{name:<16}{v.requests:>9}{_pct(v.errors.value if v.requests else None):>9}"
            f"{_pct(v.abstention.value if v.abstention.n else None):>9}{thumbs:>16}"
            f"{_ms(v.latency_p50_ms):>9}{_ms(v.latency_p95_ms):>9}{support:>18}"
        )
    if report.comparisons:
        say()
        say(f"against {report.control} (95% intervals of variant - control):")
    for c in report.comparisons:
        head = f"  {c.variant:<14}{c.metric:<18}"
        d = c.difference
        if d is None:
            say(head + c.note)
            continue
        scale, unit = (1.0, " ms") if c.metric == "latency_ms" else (100.0, " pts")
        p = f"  p = {d.p_value:.3g}" if d.p_value is not None else ""
        verdict = "  significant" if d.significant else ""
        say(
            f"{head}{scale * d.delta:+.1f}{unit} [{scale * d.low:+.1f}, {scale * d.high:+.1f}]"
            f"{p}{verdict}  ({d.method})"
        )
    for warning in report.warnings:
        say(f"warning: {warning}")
