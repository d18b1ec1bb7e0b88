"""``ragline eval run``: run every case of a dataset through the pipeline and score it.

A dataset is a JSONL file of cases, or ``beir:FOLDER`` (the corpus is ingested into a
tenant of its own and retrieval alone is scored); ``--target URL`` evaluates an HTTP
endpoint instead of the project. Also here, for ``ragline eval gate`` too: the exit
codes, the eval store and the printing of gate results. Warnings (gold ids missing
from the store, empty tenants, metrics n/a on some cases) go to stderr, one line each;
``--strict`` exits 2 before running on a dataset problem, and 1 after a run (stored,
with its warnings) whose results have warnings. Only typer is imported at
module level (``ragline --help`` must stay fast).
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ragline.cli._common import ExecutorOpt, WorkersOpt, new_console, open_project, print_json

if TYPE_CHECKING:
    from ragline._project import Project
    from ragline.batch import ExecutorSpec
    from ragline.evals._gates import GateResult
    from ragline.evals._preflight import DatasetCheck
    from ragline.evals._runner import ProjectTarget

EXIT_GATE_FAILED = 1
EXIT_STRICT_WARNINGS = 1  # --strict, and the finished (stored) run has warnings
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


def print_gates(results: list[GateResult]) -> None:
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
    agent: Annotated[
        bool,
        typer.Option(
            "--agent",
            help="Run the agent on every case (agent tasks: expected tool calls, stop "
            "reason) and score it with the agent metrics.",
        ),
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Refuse to run when gold ids are missing from the store or a tenant is "
            "empty (exit 2); exit 1 when a metric was n/a on some cases.",
        ),
    ] = False,
    experiment: Annotated[
        str | None,
        typer.Option("--experiment", help="Run once per variant of this experiment; compare."),
    ] = None,
    executor: ExecutorOpt = "local",
    workers: WorkersOpt = None,
) -> None:
    """Run every case of DATASET through the pipeline (or --target) and score it."""
    from ragline.errors import EvalWarningsError, InputError, RaglineError
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
        from ragline.batch import parse_executor

        spec = parse_executor(executor)
        if experiment and (beir or target or resume or gates_file or not spec.is_local):
            raise InputError(
                "--experiment runs the project's variants on a JSONL dataset; it does not "
                "combine with beir:, --target, --resume, --gates or --executor ray",
                hint="gate one variant's run with ragline eval gate RUN --gates FILE",
            )
        if target and not spec.is_local:
            raise InputError(
                "--executor ray runs the project's own pipeline, not a --target",
                hint="use --concurrency to evaluate an HTTP endpoint in parallel",
            )
        if agent and (beir or target or experiment or not spec.is_local):
            raise InputError(
                "--agent runs the project's agent on this machine: not with beir:, "
                "--target, --experiment or --executor ray"
            )
    except RaglineError as e:
        sys.stderr.write(f"error: {e}\n")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    strict_error: EvalWarningsError | None = None
    if experiment:
        from ragline.cli._eval_experiment import eval_experiment

        eval_experiment(
            config, overrides, experiment, dataset, repeat, concurrency, no_cache, as_json, strict
        )
        return
    with open_project(config, **overrides) as project:
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
                strict=strict,
                executor=spec,
                workers=workers,
                agent=agent,
            )
        except EvalInterrupted as e:
            sys.stderr.write(f"\n{e}\n")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except EvalWarningsError as e:
            if e.run_id is None:  # refused before the run: nothing stored
                sys.stderr.write(f"error: {e}\n")
                raise typer.Exit(EXIT_BAD_INPUT) from None
            strict_error = e
            run = project.evals.get_run(e.run_id)
        _print_result_warnings(run.summary)
        results = project.evals.results(run.id)
        gate_results = None
        if gates is not None:
            from ragline.evals._gates import evaluate_gates

            gate_results = evaluate_gates(run.summary, gates)
    from ragline.evals._report import print_table

    if as_json:
        data: dict[str, Any] = {"run": run.id, "name": run.name, "summary": run.summary}
        if gate_results is not None:
            data["gates"] = [g.to_dict() for g in gate_results]
        print_json(data)
    else:
        print_table(run, results, new_console())
        new_console().print(f"run id: {run.id}  (ragline eval report {run.id} --format html)")
        if gate_results is not None:
            print_gates(gate_results)
    if strict_error is not None:  # last, so it is the line a CI log ends with
        sys.stderr.write(f"error: {strict_error}\n")
        raise typer.Exit(EXIT_STRICT_WARNINGS)
    if gate_results is not None and not all(g.passed for g in gate_results):
        raise typer.Exit(EXIT_GATE_FAILED)


def _print_result_warnings(summary: dict[str, Any]) -> None:
    """The warnings found in the results (the dataset's were printed before the run)."""
    from ragline.evals._warnings import DATASET_KINDS, stored_warnings

    for w in stored_warnings(summary):
        if w.kind not in DATASET_KINDS:
            sys.stderr.write(f"warning: {w.message}\n")


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
    strict: bool = False,
    executor: ExecutorSpec | None = None,
    workers: int | None = None,
    agent: bool = False,
) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ragline.evals._runner import EvalRunner, ProjectTarget, Target

    check: DatasetCheck | None = None
    metrics: list[Any]
    metrics_extra: dict[str, Any] = {}
    run_target: Target
    use_cache = not no_cache
    if beir:
        from ragline.evals._metrics import retrieval_metrics

        cases = _prepare_beir(
            project, dataset[len("beir:") :], tenant=tenant, split=split, quiet=quiet
        )
        retrieval = ProjectTarget(project, retrieval_only=True)
        check = _check_dataset(retrieval, cases, strict=strict)
        run_target = retrieval
        metrics = retrieval_metrics(10, recall_k=100 if depth >= 100 else None)
    elif agent:
        from ragline.evals._agent_target import AgentTarget
        from ragline.evals._dataset import load_cases
        from ragline.evals._metrics import agent_metrics

        cases = load_cases(dataset)
        agent_target = AgentTarget(project)
        for tenant in {c.tenant for c in cases}:  # a config error: one line, before the run
            agent_target.agent_for(tenant)
        run_target = agent_target
        metrics = agent_metrics()
    else:
        from ragline.evals._dataset import load_cases
        from ragline.evals._metrics import default_metrics

        cases = load_cases(dataset)
        judge: Any = None
        support = project.settings.support
        if support.checker in ("nli", "judge"):
            from ragline.evals._metrics._support_factory import build_support_checker

            judge = build_support_checker(
                project.settings, embedder=project.embedder, base_dir=project.path
            )
            metrics_extra["support"] = judge.name
        elif project.settings.evals.judge:
            from ragline.models import build_model

            judge = build_model(project.settings.evals.judge, project.settings)
            metrics_extra["judge"] = project.settings.evals.judge
        support = project.settings.support
        metrics = default_metrics(
            project.embedder,
            judge,
            k=project.settings.retrieval.k,
            checker=support.checker,
            threshold=support.eval_threshold,
        )
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
            pipeline = ProjectTarget(project)
            check = _check_dataset(pipeline, cases, strict=strict)
            run_target = pipeline
    progress = Progress(
        TextColumn("evaluating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[cached]}"),
        TimeElapsedColumn(),
        console=new_console(stderr=True),
        transient=True,
        disable=quiet,
    )
    task = progress.add_task("", total=None, cached="")

    def on_progress(done: int, total: int, cached: int) -> None:
        progress.update(
            task, completed=done, total=total, cached=f"{cached} cached" if cached else ""
        )

    store = project.evals
    try:
        with ExitStack() as stack:
            if executor is not None and not executor.is_local:
                from ragline.batch._evals import ray_target

                assert isinstance(run_target, ProjectTarget)  # --target is refused before
                on_ray = stack.enter_context(ray_target(executor, run_target, workers=workers))
                run_target, concurrency = on_ray, on_ray.workers
            stack.enter_context(progress)
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
            return runner.run(
                cases, dataset_path=dataset, name=name, resume=resume, check=check, strict=strict
            )
    finally:  # the eval store is the project's: it closes with the project
        close = getattr(run_target, "close", None)
        if callable(close):
            close()


def _check_dataset(target: ProjectTarget, cases: list[Any], *, strict: bool) -> DatasetCheck:
    """Look the cases' gold ids and tenants up, and warn before the run (``--strict``:
    refuse to start instead, with one line naming every count)."""
    check = target.check_dataset(cases)
    if strict and not check.ok:
        raise check.strict_error()  # before the progress bar starts
    for line in check.warnings():  # one line each, unwrapped: they get grepped in CI logs
        sys.stderr.write(f"warning: {line}\n")
    return check


def _prepare_beir(
    project: Project, folder: str, *, tenant: str | None, split: str, quiet: bool
) -> list[Any]:
    """Load a BEIR folder and ingest its corpus (incrementally) into a tenant."""
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
        new_console(stderr=True).print(
            f"corpus {name} in tenant {tenant_name}: {totals}", markup=False
        )
    return [c.model_copy(update={"tenant": tenant_name}) for c in cases]
