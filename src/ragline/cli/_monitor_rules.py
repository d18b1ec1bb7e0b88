"""``ragline monitor status`` and ``ragline monitor run``: the alert rules of
``ragline.yaml`` against the store's metrics.

- ``monitor status``: each rule's current value against its threshold, its state and
  since when (read live; nothing is stored or sent).
- ``monitor export --prometheus-rules|--grafana``: the rules as Prometheus alerting
  rules over ``/metrics``, or a Grafana dashboard (:mod:`ragline.monitor._export`).
- ``monitor run --once``: one evaluation (for cron), stored and notified — unless
  another evaluator (a server, another cron job) holds the store's evaluator lock, in
  which case it says so and exits 0. Without ``--once`` it evaluates every
  ``monitor.interval`` until interrupted.

Only typer is imported at module level (``ragline --help`` must stay fast).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ragline.cli._common import JsonOpt, new_console, open_project, print_json
from ragline.cli._monitor import monitor_app

if TYPE_CHECKING:
    from ragline.monitor._evaluator import CycleReport, RuleResult


def when(ts: float | None) -> str:
    """A stored time as local ISO time, to the second."""
    import datetime as dt

    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts).isoformat(sep=" ", timespec="seconds")


def number(v: float | None) -> str:
    from ragline.monitor._rules import format_number

    return format_number(v)


def result_to_dict(r: RuleResult) -> dict[str, Any]:
    mv = r.metric
    return {
        "rule": r.rule,
        "state": r.state,
        "since": r.since,
        "value": r.observed,
        "threshold": r.threshold,
        "summary": r.summary,
        "samples": mv.samples if mv is not None else None,
        "gaps": mv.gaps if mv is not None else None,
        "transition": r.transition,
        "silenced_by": r.silenced_by,
        "error": r.error,
    }


def render_results(results: list[RuleResult], *, title: str) -> None:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in ("rule", "state", "since", "value", "threshold", "details"):
        table.add_column(column, overflow="fold")
    for r in results:
        state = r.state + (f" ({r.transition})" if r.transition else "")
        details = (r.error and f"error: {r.error}") or r.summary
        if r.silenced_by:
            details += f" — silenced by {r.silenced_by}"
        table.add_row(r.rule, state, when(r.since), number(r.observed), f"{r.threshold:g}", details)
    new_console().print(table)


@monitor_app.command("status")
def monitor_status(as_json: JsonOpt = False) -> None:
    """Each alert rule: its current value against the threshold, its state and since when."""
    import time

    from ragline.monitor._wiring import evaluator

    with open_project() as project:
        rules = project.settings.alerts.rules
        results = evaluator(project.settings, project.parts.backend, channels={}).preview(
            time.time()
        )
    if as_json:
        print_json([result_to_dict(r) for r in results])
        return
    if not rules:
        new_console().print("no alert rules (add them under alerts.rules in ragline.yaml)")
        return
    render_results(results, title="alert rules")


def _report(report: CycleReport | None, *, as_json: bool) -> None:
    if report is None:
        message = "skipped: another evaluator holds the store's evaluator lock"
        if as_json:
            print_json({"evaluated": False, "reason": message})
        else:
            new_console(stderr=True).print(message)
        return
    if as_json:
        print_json(
            {
                "evaluated": True,
                "at": report.at,
                "rules": [result_to_dict(r) for r in report.results],
                "notifications": [
                    {"rule": n.rule, "state": n.state, "rules": list(n.rules), "repeat": n.repeat}
                    for n in report.notifications
                ],
                "failures": report.failures,
                "errors": report.errors,
            }
        )
        return
    render_results(report.results, title=f"evaluated at {when(report.at)}")
    console = new_console()
    for n in report.notifications:
        console.print(f"notified: {n.state} {', '.join(n.rules)}")
    for failure in report.failures:
        console.print(f"channel failed: {failure}")


@monitor_app.command("run")
def monitor_run(
    once: Annotated[
        bool, typer.Option("--once", help="Evaluate once and exit (for cron).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Evaluate the alert rules: store their state and history, send notifications.

    One evaluator at a time per store: if a server or another run holds the lock, this
    one skips. Without --once it evaluates every monitor.interval until interrupted.
    """
    from ragline.monitor._wiring import monitor_loop

    with open_project() as project:
        loop = monitor_loop(project.settings, project.parts.backend, project_dir=project.path)
        try:
            if once:
                _report(loop.run_once(), as_json=as_json)
                return
            _forever(loop, as_json=as_json)
        finally:
            loop.lock.release()


def _forever(loop: Any, *, as_json: bool) -> None:
    """Evaluate every interval until interrupted; a failed evaluation is reported and
    the next one goes ahead."""
    import time

    from ragline.errors import RaglineError

    while True:
        try:
            _report(loop.run_once(), as_json=as_json)
        except RaglineError as e:
            new_console(stderr=True).print(f"evaluation failed (will retry): {e}")
        time.sleep(loop.interval_s)


@monitor_app.command("export")
def monitor_export(
    prometheus_rules: Annotated[
        bool,
        typer.Option("--prometheus-rules", help="Prometheus alerting rules (YAML) over /metrics."),
    ] = False,
    grafana: Annotated[
        bool, typer.Option("--grafana", help="A Grafana dashboard (JSON), a panel per rule.")
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")
    ] = None,
) -> None:
    """The alert rules for Prometheus or Grafana; rules without a /metrics counterpart
    are skipped, each with the reason (on stderr)."""
    import json

    from ragline.errors import InputError
    from ragline.monitor._export import grafana_dashboard
    from ragline.monitor._export import prometheus_rules as rules_file

    if prometheus_rules == grafana:
        raise InputError(
            "say what to export", hint="pass exactly one of --prometheus-rules and --grafana"
        )
    with open_project() as project:
        settings = project.settings
    labels = settings.server.metrics_tenant_labels
    if prometheus_rules:
        text, skipped = rules_file(settings.alerts, tenant_labels=labels)
    else:
        dashboard, skipped = grafana_dashboard(settings.alerts, tenant_labels=labels)
        text = json.dumps(dashboard, indent=2, ensure_ascii=False) + "\n"
    err = new_console(stderr=True)
    for name, why in skipped:
        err.print(f"skipped {name}: {why}")
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as e:
        raise InputError(
            f"cannot write {str(output)!r}: {e.strerror}", hint="check the folder exists"
        ) from None
    err.print(f"wrote {output}")
