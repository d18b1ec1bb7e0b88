"""``ragline experiments``: how an experiment's variants do on live traffic.

- ``experiments promote NAME VARIANT [--tenant T]`` points the prompt label (default
  ``production``) at the variant's prompt version (refused when the variant has no
  answers traced yet, unless ``--force``); ``experiments rollback NAME`` undoes the
  experiment's last promotion (see :mod:`ragline.prompts._promote`);
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
    help="Report on experiments (experiments: in ragline.yaml); promote or roll back a variant.",
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


TenantArg = Annotated[
    str | None,
    typer.Option("--tenant", "-t", help="The tenant whose label moves (default: every tenant's)."),
]
LabelArg = Annotated[str, typer.Option("--label", "-l", help="The prompt label to move.")]


@experiments_app.command("promote")
def experiments_promote(
    name: NameArg,
    variant: Annotated[str, typer.Argument(help="The winning variant.")],
    tenant: TenantArg = None,
    label: LabelArg = "production",
    force: Annotated[
        bool, typer.Option("--force", help="Promote even with no answers in the traces.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Point the prompt label at the variant's prompt version (audited, atomic)."""
    from ragline.cli._prompts import _registry, _tenant
    from ragline.prompts._promote import promote
    from ragline.prompts._report import collect

    with open_project() as project:
        experiment = find_experiment(project, name)
        owner = _tenant(project, tenant)
        project.flush_traces(project.settings.tracing.flush_timeout_s)
        answers = sum(
            1
            for o in collect(project.trace_store, experiment)
            if o.variant == variant and not o.failed and (tenant is None or o.tenant == owner)
        )
        done = promote(
            _registry(project),
            experiment,
            variant,
            tenant=owner,
            answers=answers,
            label=label,
            force=force,
        )
    if as_json:
        print_json({**done.to_dict(), "answers": answers})
        return
    e = done.event
    was = f" (was {done.previous})" if done.previous and done.previous != e.version else ""
    new_console().print(
        f"{e.name}: {e.label} -> {e.version} for tenant {e.tenant}{was}: variant {variant} "
        f"of {name} ({answers} answers traced); undo: ragline experiments rollback {name}"
        + (f" --tenant {e.tenant}" if tenant else ""),
        markup=False,
        soft_wrap=True,
    )


@experiments_app.command("rollback")
def experiments_rollback(
    name: NameArg,
    tenant: TenantArg = None,
    label: LabelArg = "production",
    as_json: JsonOpt = False,
) -> None:
    """Move the label back to where it pointed before the experiment's last promote."""
    from ragline.cli._prompts import _registry, _tenant
    from ragline.prompts._promote import rollback

    with open_project() as project:
        experiment = find_experiment(project, name)
        done = rollback(
            _registry(project), experiment, tenant=_tenant(project, tenant), label=label
        )
    if as_json:
        print_json(done.to_dict())
        return
    e = done.event
    new_console().print(
        f"{e.name}: {e.label} -> {e.version} for tenant {e.tenant} "
        f"(rolled back from {done.previous})",
        markup=False,
    )
