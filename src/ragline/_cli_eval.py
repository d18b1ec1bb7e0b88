"""``ragline eval``: run, report, gate and compare evaluations.

Only typer is imported at module level (``ragline --help`` must stay fast).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from ragline._project import Project
    from ragline.evals._gates import Gate, GateResult
    from ragline.evals._storage import EvalStore

eval_app = typer.Typer(
    help="Evaluate the pipeline on datasets: run, report, gate, compare.",
    no_args_is_help=True,
)

EXIT_GATE_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def _parse_sets(items: list[str] | None) -> dict[str, Any]:
    import yaml

    from ragline.errors import InputError

    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(
                f"--set {item!r} is not KEY=VALUE", hint="e.g. --set retrieval.mode=keyword"
            )
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            out[key.strip()] = value
    return out


def _open_project(config: Path | None, overrides: dict[str, Any] | None = None) -> Project:
    from ragline._project import Project
    from ragline.cli import _state

    merged = {k: v for k, v in _state.overrides.items() if v is not None}
    merged.update(overrides or {})
    return Project(_state.project_dir, overrides=merged, config_file=config or _state.config_file)


def _eval_store(project: Project) -> EvalStore:
    from ragline.evals._storage import open_eval_store

    return open_eval_store(project)


def _config_gates(project: Project) -> list[Gate]:
    from ragline.evals._gates import parse_gates

    return parse_gates(project.settings.evals.gates, source="evals.gates")


def _print_gates(results: list[GateResult]) -> None:
    failed = [r for r in results if not r.passed]
    for r in results:
        mark = "pass" if r.passed else "FAIL"
        value = "—" if r.value is None else f"{r.value:.4g}"
        line = f"  {mark}  {r.gate}  (value {value})"
        if not r.passed:
            line += f"  — {r.reason}"
        sys.stdout.write(line + "\n")
    sys.stdout.write(
        f"gates: {len(results) - len(failed)} of {len(results)} passed"
        + (f"; {len(failed)} failed" if failed else "")
        + "\n"
    )


@eval_app.command("run")
def run_cmd(
    dataset: Annotated[
        str, typer.Argument(help="A JSONL file of cases, or beir:FOLDER for a BEIR evaluation.")
    ],
    config: Annotated[
        Path | None, typer.Option("--config", help="Config file for this run.")
    ] = None,
    repeat: Annotated[int, typer.Option("--repeat", min=1, help="Runs of every case.")] = 1,
    concurrency: Annotated[
        int | None,
        typer.Option("--concurrency", min=1, help="Cases in parallel (default evals.concurrency)."),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="A name for the run.")] = None,
    resume: Annotated[
        str | None, typer.Option("--resume", help="Finish an interrupted run (its id).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    gates_file: Annotated[
        Path | None, typer.Option("--gates", help="Gate the run on these thresholds (YAML).")
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Run every case, even unchanged ones.")
    ] = False,
    sets: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a setting: --set retrieval.mode=keyword."),
    ] = None,
    target: Annotated[
        str | None, typer.Option("--target", help="Evaluate an HTTP endpoint (URL) instead.")
    ] = None,
    request: Annotated[
        str,
        typer.Option("--request", help="JSON body template with {question} / {tenant}."),
    ] = '{"question": "{question}"}',
    answer_path: Annotated[
        str, typer.Option("--answer-path", help="JSON path of the answer text.")
    ] = "answer",
    contexts_path: Annotated[
        str | None,
        typer.Option("--contexts-path", help="JSON path of the contexts, e.g. 'contexts[*].text'."),
    ] = None,
    context_ids_path: Annotated[
        str | None,
        typer.Option("--context-ids-path", help="JSON path of the contexts' document ids."),
    ] = None,
    headers: Annotated[
        list[str] | None,
        typer.Option("--header", help="HTTP header K:V (V=$NAME reads an env var)."),
    ] = None,
    tenant: Annotated[
        str | None,
        typer.Option("--tenant", help="beir: tenant to ingest into (default beir-<folder>)."),
    ] = None,
    split: Annotated[str, typer.Option("--split", help="beir: the qrels split.")] = "test",
    depth: Annotated[
        int, typer.Option("--depth", min=1, help="beir: hits retrieved per query.")
    ] = 100,
) -> None:
    """Run every case of DATASET through the pipeline (or --target) and score it."""
    from ragline.errors import InputError, RaglineError
    from ragline.evals._runner import EvalInterrupted

    try:
        gates = None
        if gates_file is not None:
            from ragline.evals._gates import load_gates

            gates = load_gates(gates_file)
        overrides = _parse_sets(sets)
        beir = dataset.startswith("beir:")
        if beir:
            overrides.setdefault("retrieval.k", depth)
            overrides.setdefault("retrieval.candidates", depth)
        if beir and target:
            raise InputError("beir: runs evaluate the project's retrieval, not a --target")
    except RaglineError as e:
        sys.stderr.write(f"error: {e}\n")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    with _open_project(config, overrides) as project:
        try:
            run = _run(
                project,
                dataset,
                beir=beir,
                repeat=repeat,
                concurrency=concurrency or project.settings.evals.concurrency,
                name=name,
                resume=resume,
                no_cache=no_cache,
                target=target,
                request=request,
                answer_path=answer_path,
                contexts_path=contexts_path,
                context_ids_path=context_ids_path,
                headers=headers or [],
                tenant=tenant,
                split=split,
                depth=depth,
                quiet=as_json,
            )
        except EvalInterrupted as e:
            sys.stderr.write(f"\n{e}\n")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        store = _eval_store(project)
        try:
            results = store.results(run.id)
        finally:
            store.close()
        gate_results = None
        if gates is not None:
            from ragline.evals._gates import evaluate_gates

            gate_results = evaluate_gates(run.summary, gates)
    from ragline.cli import _console, _print_json
    from ragline.evals._report import print_table

    if as_json:
        data: dict[str, Any] = {"run": run.id, "name": run.name, "summary": run.summary}
        if gate_results is not None:
            data["gates"] = [g.to_dict() for g in gate_results]
        _print_json(data)
    else:
        print_table(run, results, _console())
        _console().print(f"run id: {run.id}  (ragline eval report {run.id} --format html)")
        if gate_results is not None:
            _print_gates(gate_results)
    if gate_results is not None and not all(g.passed for g in gate_results):
        raise typer.Exit(EXIT_GATE_FAILED)


def _run(
    project: Project,
    dataset: str,
    *,
    beir: bool,
    repeat: int,
    concurrency: int,
    name: str | None,
    resume: str | None,
    no_cache: bool,
    target: str | None,
    request: str,
    answer_path: str,
    contexts_path: str | None,
    context_ids_path: str | None,
    headers: list[str],
    tenant: str | None,
    split: str,
    depth: int,
    quiet: bool,
) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ragline.cli import _console
    from ragline.evals._runner import EvalRunner, ProjectTarget, Target

    metrics: list[Any]
    metrics_extra: dict[str, Any] = {}
    run_target: Target
    use_cache = not no_cache
    if beir:
        from ragline.evals._metrics import retrieval_metrics

        cases = _prepare_beir(
            project, dataset[len("beir:") :], tenant=tenant, split=split, quiet=quiet
        )
        run_target = ProjectTarget(project, retrieval_only=True)
        metrics = retrieval_metrics(10, recall_k=100 if depth >= 100 else None)
    else:
        from ragline.evals._dataset import load_cases
        from ragline.evals._metrics import default_metrics

        cases = load_cases(dataset)
        judge = None
        if project.settings.evals.judge:
            from ragline.models import build_model

            judge = build_model(project.settings.evals.judge, project.settings)
            metrics_extra["judge"] = project.settings.evals.judge
        metrics = default_metrics(project.embedder, judge, k=project.settings.retrieval.k)
        if target is not None:
            from ragline.evals._external import HttpTarget, parse_headers

            run_target = HttpTarget(
                target,
                request=request,
                answer_path=answer_path,
                contexts_path=contexts_path,
                context_ids_path=context_ids_path,
                headers=parse_headers(headers),
            )
            use_cache = False
        else:
            run_target = ProjectTarget(project)
    progress = Progress(
        TextColumn("evaluating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[cached]}"),
        TimeElapsedColumn(),
        console=_console(stderr=True),
        transient=True,
        disable=quiet,
    )
    task = progress.add_task("", total=None, cached="")

    def on_progress(done: int, total: int, cached: int) -> None:
        progress.update(
            task, completed=done, total=total, cached=f"{cached} cached" if cached else ""
        )

    store = _eval_store(project)
    try:
        with progress:
            runner = EvalRunner(
                store,
                run_target,
                metrics,
                concurrency=concurrency,
                repeat=repeat,
                use_cache=use_cache,
                metrics_extra=metrics_extra,
                on_progress=on_progress,
            )
            return runner.run(cases, dataset_path=dataset, name=name, resume=resume)
    finally:
        store.close()
        close = getattr(run_target, "close", None)
        if callable(close):
            close()


def _prepare_beir(
    project: Project, folder: str, *, tenant: str | None, split: str, quiet: bool
) -> list[Any]:
    """Load a BEIR folder and ingest its corpus (incrementally) into a tenant."""
    from ragline.cli import _console
    from ragline.evals._dataset import load_beir, write_documents

    root = Path(folder).expanduser()
    docs, cases = load_beir(root, split)
    name = root.resolve().name
    tenant_name = tenant or f"beir-{name}"
    work = project.path / ".ragline" / "beir"
    work.mkdir(parents=True, exist_ok=True)
    corpus = write_documents(work / f"{name}-corpus.jsonl", docs)
    report = project.ingest(
        [corpus], tenant=tenant_name, id_field="_id", text_field="text", title_field="title"
    )
    if not quiet:
        totals = report.totals()
        _console(stderr=True).print(
            f"corpus {name} in tenant {tenant_name}: {totals}", markup=False
        )
    return [c.model_copy(update={"tenant": tenant_name}) for c in cases]


@eval_app.command("report")
def report_cmd(
    run_id: Annotated[str, typer.Argument(metavar="RUN", help="Run id (or a prefix, or 'last').")],
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
    with _open_project(None) as project:
        store = _eval_store(project)
        try:
            run = store.get_run(run_id)
            results = store.results(run.id)
        finally:
            store.close()
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
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List evaluation runs, newest first."""
    import time

    from ragline.cli import _console, _print_json

    with _open_project(None) as project:
        store = _eval_store(project)
        try:
            runs = store.list_runs(limit)
        finally:
            store.close()
    if as_json:
        _print_json([r.to_dict() for r in runs])
        return
    if not runs:
        _console().print("no evaluation runs yet — ragline eval run CASES.jsonl")
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
    _console().print(table)


@eval_app.command("gate")
def gate_cmd(
    run_id: Annotated[str, typer.Argument(metavar="RUN", help="Run id (or a prefix, or 'last').")],
    gates_file: Annotated[
        Path | None,
        typer.Option("--gates", help="Thresholds file (default: evals.gates in ragline.yaml)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Exit 0 when every gate passes, 1 listing the failures, 2 on bad input."""
    from ragline.errors import RaglineError
    from ragline.evals._gates import evaluate_gates, load_gates

    try:
        with _open_project(None) as project:
            gates = load_gates(gates_file) if gates_file is not None else _config_gates(project)
            if not gates:
                from ragline.errors import InputError

                raise InputError(
                    "no gates to check",
                    hint="pass --gates FILE or set evals.gates in ragline.yaml",
                )
            store = _eval_store(project)
            try:
                run = store.get_run(run_id)
            finally:
                store.close()
    except RaglineError as e:
        sys.stderr.write(f"error: {e}\n")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    results = evaluate_gates(run.summary, gates)
    ok = all(r.passed for r in results)
    if as_json:
        from ragline.cli import _print_json

        _print_json({"run": run.id, "passed": ok, "gates": [r.to_dict() for r in results]})
    else:
        if run.status != "complete":
            sys.stderr.write(f"warning: run {run.id} is {run.status}; gating its partial results\n")
        _print_gates(results)
    if not ok:
        raise typer.Exit(EXIT_GATE_FAILED)


@eval_app.command("compare")
def compare_cmd(
    run_a: Annotated[str, typer.Argument(metavar="RUN_A", help="The baseline run.")],
    run_b: Annotated[str, typer.Argument(metavar="RUN_B", help="The candidate run.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Per-metric deltas with 95% CIs, McNemar p-values, flipped cases, config diff."""
    from ragline.cli import _console, _print_json
    from ragline.evals._compare import compare_runs, print_comparison

    with _open_project(None) as project:
        store = _eval_store(project)
        try:
            a = store.get_run(run_a)
            b = store.get_run(run_b)
            comparison = compare_runs(a, store.results(a.id), b, store.results(b.id))
        finally:
            store.close()
    if as_json:
        _print_json(comparison.to_dict())
    else:
        print_comparison(comparison, _console())
