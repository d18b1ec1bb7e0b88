"""``ragline eval``: run, report, gate and compare evaluations.

The group and its commands in the order ``ragline eval --help`` lists them; ``run``
lives in :mod:`ragline.cli._eval_run`. ``gate`` exits 0 when every gate passes, 1
listing the failures, 2 on bad input. Only typer is imported at module level
(``ragline --help`` must stay fast).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ragline.cli._common import JsonOpt, new_console, open_project, print_json
from ragline.cli._eval_run import (
    EXIT_BAD_INPUT,
    EXIT_GATE_FAILED,
    print_gates,
    run_cmd,
)

if TYPE_CHECKING:
    from ragline._project import Project
    from ragline.evals._gates import Gate

eval_app = typer.Typer(
    help="Evaluate the pipeline on datasets: run, report, gate, compare.",
    no_args_is_help=True,
)
eval_app.command("run")(run_cmd)

# report and gate: the run they read
RunArg = Annotated[str, typer.Argument(metavar="RUN", help="Run id (or a prefix, or 'last').")]


def _config_gates(project: Project) -> list[Gate]:
    from ragline.evals._gates import parse_gates

    return parse_gates(project.settings.evals.gates, source="evals.gates")


@eval_app.command("report")
def report_cmd(
    run_id: RunArg,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json or html.")] = "table",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file.")
    ] = None,
) -> None:
    """Show a run: metric means by category, failures, the worst cases."""
    import io
    import json

    from ragline.errors import InputError
    from ragline.evals._report import print_table, report_html, report_json

    if fmt not in ("table", "json", "html"):
        raise InputError(f"unknown format {fmt!r}", hint="use table, json or html")
    with open_project() as project:
        store = project.evals  # closed with the project
        run = store.get_run(run_id)
        results = store.results(run.id)
    if fmt == "json":
        text = json.dumps(report_json(run, results), indent=2, ensure_ascii=False, default=str)
    elif fmt == "html":
        text = report_html(run, results)
    else:
        from rich.console import Console

        buf = io.StringIO()
        console = Console(file=buf, highlight=False, width=120 if output else None)
        print_table(run, results, console)
        text = buf.getvalue()
    if output is not None:
        output.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        sys.stderr.write(f"wrote {output}\n")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


@eval_app.command("list")
def list_cmd(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Newest runs shown.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """List evaluation runs, newest first."""
    import time

    with open_project() as project:
        store = project.evals  # closed with the project
        runs = store.list_runs(limit)
    if as_json:
        print_json([r.to_dict() for r in runs])
        return
    if not runs:
        new_console().print("no evaluation runs yet — ragline eval run CASES.jsonl")
        return
    from rich.table import Table

    table = Table()
    for col in ("run", "name", "started", "status", "dataset", "results", "errors"):
        table.add_column(col)
    for r in runs:
        table.add_row(
            r.id,
            r.name or "",
            time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created_at)),
            r.status,
            r.dataset_path,
            str(r.summary.get("cases", "")),
            str(r.summary.get("errors", "")),
        )
    new_console().print(table)


@eval_app.command("gate")
def gate_cmd(
    run_id: RunArg,
    gates_file: Annotated[
        Path | None,
        typer.Option("--gates", help="Thresholds file (default: evals.gates in ragline.yaml)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Exit 0 when every gate passes, 1 listing the failures, 2 on bad input."""
    from ragline.errors import RaglineError
    from ragline.evals._gates import evaluate_gates, load_gates

    try:
        with open_project() as project:
            gates = load_gates(gates_file) if gates_file is not None else _config_gates(project)
            if not gates:
                from ragline.errors import InputError

                raise InputError(
                    "no gates to check",
                    hint="pass --gates FILE or set evals.gates in ragline.yaml",
                )
            store = project.evals  # closed with the project
            run = store.get_run(run_id)
    except RaglineError as e:
        sys.stderr.write(f"error: {e}\n")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    results = evaluate_gates(run.summary, gates)
    ok = all(r.passed for r in results)
    if as_json:
        print_json({"run": run.id, "passed": ok, "gates": [r.to_dict() for r in results]})
    else:
        if run.status != "complete":
            sys.stderr.write(f"warning: run {run.id} is {run.status}; gating its partial results\n")
        print_gates(results)
    if not ok:
        raise typer.Exit(EXIT_GATE_FAILED)


@eval_app.command("compare")
def compare_cmd(
    run_a: Annotated[str, typer.Argument(metavar="RUN_A", help="The baseline run.")],
    run_b: Annotated[str, typer.Argument(metavar="RUN_B", help="The candidate run.")],
    as_json: JsonOpt = False,
) -> None:
    """Per-metric deltas with 95% CIs, McNemar p-values, flipped cases, config diff."""
    from ragline.evals._compare import compare_runs, print_comparison

    with open_project() as project:
        store = project.evals  # closed with the project
        a = store.get_run(run_a)
        b = store.get_run(run_b)
        comparison = compare_runs(a, store.results(a.id), b, store.results(b.id))
    if as_json:
        print_json(comparison.to_dict())
    else:
        print_comparison(comparison, new_console())
