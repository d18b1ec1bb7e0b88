"""``ragline monitor status`` and ``ragline monitor run``: the alert rules of
``ragline.yaml`` against the store's metrics.

- ``monitor status``: each rule's current value against its threshold, its state and
  since when (read live; nothing is stored or sent).
- ``monitor run --once``: one evaluation (for cron), stored and notified — unless
  another evaluator (a server, another cron job) holds the store's evaluator lock, in
  which case it says so and exits 0. Without ``--once`` it evaluates every
  ``monitor.interval`` until interrupted.

Only typer is imported at module level (``ragline --help`` must stay fast).
"""

from __future__ import annotations

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
        results = evaluator(project.settings, project.parts.backend).preview(time.time())
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
        loop = monitor_loop(project.settings, project.parts.backend)
        try:
            if once:
                _report(loop.run_once(), as_json=as_json)
                return
            _forever(loop, as_json=as_json)
        finally:
            loop.lock.release()


def _forever(loop: Any, *, as_json: bool) -> None:
    import time

    while True:
        _report(loop.run_once(), as_json=as_json)
        time.sleep(loop.interval_s)
