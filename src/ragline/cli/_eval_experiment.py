"""``ragline eval run DATASET --experiment NAME``: the suite once per variant, compared.

Each variant of the experiment answers every case under the project's settings with
that variant's overrides (its prompt, retrieval and answer keys; as ``experiments:``
applies them, over the project's settings — a tenant's own keys still win), with
tracing off so the offline runs never mix with the live traffic that ``ragline
experiments report`` reads. Each run is stored like any eval run (named
``NAME:VARIANT``; the cache keyed by the settings, so an unchanged variant is not
re-run), and every other variant is compared with the control (the first) as ``ragline
eval compare`` does: paired per case, bootstrap intervals, McNemar p-values.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragline.cli._common import new_console, open_project, print_json

if TYPE_CHECKING:
    from ragline._config_experiments import ExperimentSettings
    from ragline._project import Project


def variant_project(project: Project, experiment: ExperimentSettings, variant: str) -> Project:
    """A project on the same store and embedder whose settings are ``variant``'s."""
    from ragline._config_experiments import ExperimentsSettings
    from ragline._project import Project

    base = project.settings.model_copy(
        update={
            "experiments": ExperimentsSettings([]),
            "tracing": project.settings.tracing.model_copy(update={"enabled": False}),
        }
    )
    settings = experiment.apply(base, variant)
    # shares the open backend and the loaded embedder; never closed (they are ours)
    return Project(
        project.path, settings=settings, store=project.parts.backend, embedder=project.embedder
    )


def run_experiment(
    project: Project,
    experiment: ExperimentSettings,
    run_one: Callable[[Project, str], Any],
    *,
    as_json: bool,
) -> None:
    """``run_one(variant_project, run_name)`` per variant, then the comparisons printed."""
    from ragline.evals._compare import compare_runs, print_comparison

    runs: dict[str, Any] = {}
    for v in experiment.variants:
        if not as_json:
            new_console(stderr=True).print(f"variant {v.name}:", markup=False)
        runs[v.name] = run_one(
            variant_project(project, experiment, v.name), f"{experiment.name}:{v.name}"
        )
    store = project.evals
    control = experiment.variants[0].name
    base = runs[control]
    comparisons = {
        name: compare_runs(base, store.results(base.id), run, store.results(run.id))
        for name, run in runs.items()
        if name != control
    }
    if as_json:
        print_json(
            {
                "experiment": experiment.name,
                "control": control,
                "runs": {name: run.id for name, run in runs.items()},
                "summaries": {name: run.summary for name, run in runs.items()},
                "comparisons": {name: c.to_dict() for name, c in comparisons.items()},
            }
        )
        return
    console = new_console()
    for name, comparison in comparisons.items():
        console.print(f"\n{name} against {control}:", markup=False)
        print_comparison(comparison, console)
    ids = ", ".join(f"{name}={run.id}" for name, run in runs.items())
    console.print(f"\nruns: {ids}  (ragline eval compare A B for one pair)", markup=False)


def eval_experiment(
    config: Path | None,
    overrides: dict[str, Any],
    name: str,
    dataset: str,
    repeat: int,
    concurrency: int | None,
    no_cache: bool,
    as_json: bool,
    strict: bool,
) -> None:
    """``ragline eval run DATASET --experiment NAME`` (see the module docstring)."""
    import sys

    import typer

    from ragline.cli._eval_run import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_STRICT_WARNINGS, _run
    from ragline.cli._experiments import find_experiment
    from ragline.errors import EvalWarningsError
    from ragline.evals._runner import EvalInterrupted

    with open_project(config, **overrides) as project:
        found = find_experiment(project, name)

        def run_one(variant: Project, run_name: str) -> Any:
            return _run(
                variant,
                dataset,
                beir=False,
                repeat=repeat,
                concurrency=concurrency or project.settings.evals.concurrency,
                name=run_name,
                resume=None,
                no_cache=no_cache,
                target=None,
                request="",
                answer_path="answer",
                contexts_path=None,
                context_ids_path=None,
                headers=[],
                tenant=None,
                split="test",
                depth=100,
                quiet=as_json,
                strict=strict,
            )

        try:
            run_experiment(project, found, run_one, as_json=as_json)
        except EvalInterrupted as e:
            sys.stderr.write(f"\n{e}\n")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except EvalWarningsError as e:
            sys.stderr.write(f"error: {e}\n")
            raise typer.Exit(EXIT_STRICT_WARNINGS if e.run_id else EXIT_BAD_INPUT) from None


__all__ = ["eval_experiment", "run_experiment", "variant_project"]
