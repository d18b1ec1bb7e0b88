"""``ragline replay`` and ``ragline routing test``: the debugging loop.

``replay`` re-runs traced asks under the current config, ``--set key=value``
overrides or ``--config FILE``, and shows what changed per ask (a table wrapped to
the terminal, ``--json`` or ``--html FILE``). It writes nothing: not to the knowledge
base, not a trace, not feedback. ``routing test "query"`` shows which routing rules
match a query, on which words, and the ranking with and without them.

Only typer is imported at module level (``ragline --help`` must stay fast).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ragline.cli._common import (
    ChunksOpt,
    JsonOpt,
    OnlyTenantOpt,
    TenantOpt,
    new_console,
    open_project,
    print_json,
)
from ragline.cli._traces import SinceOpt, UntilOpt

if TYPE_CHECKING:
    from ragline.evals._types import Case


def _trace_ids(ids: list[str] | None, files: list[Path] | None) -> list[str]:
    """``--trace`` ids and the ids in ``--trace-file`` files (one a line, # comments)."""
    from ragline.errors import InputError

    out = list(ids or [])
    for path in files or []:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(
                f"cannot read trace ids from {str(path)!r}: {getattr(e, 'strerror', None) or e}",
                hint="give a text file with one trace id a line",
            ) from None
        found = [ln.split("#", 1)[0].strip() for ln in text.splitlines()]
        found = [f for f in found if f]
        if not found:
            raise InputError(f"{str(path)!r} holds no trace ids", hint="one trace id a line")
        out.extend(found)
    return out


def _cases(path: Path | None) -> list[Case]:
    if path is None:
        return []
    from ragline.errors import InputError
    from ragline.evals._dataset import load_cases

    if not path.is_file():
        raise InputError(f"cases file {str(path)!r} not found", hint="give a JSONL dataset")
    return load_cases(path)


def replay(
    since: SinceOpt = None,
    until: UntilOpt = None,
    tenant: OnlyTenantOpt = None,
    feedback: Annotated[
        str | None,
        typer.Option("--feedback", help="Only traces with this feedback, e.g. hallucination."),
    ] = None,
    rule: Annotated[
        str | None,
        typer.Option(
            "--rule", help="Only asks on which this routing rule fired then or fires now."
        ),
    ] = None,
    text: Annotated[
        str | None, typer.Option("--text", help="Only asks whose question or answer has this text.")
    ] = None,
    trace: Annotated[
        list[str] | None,
        typer.Option("--trace", help="This trace (id or 8+ char prefix; repeatable)."),
    ] = None,
    trace_file: Annotated[
        list[Path] | None, typer.Option("--trace-file", help="A file of trace ids, one a line.")
    ] = None,
    sample: Annotated[
        int | None, typer.Option("--sample", help="A random sample of this many asks.", min=1)
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of --sample.")] = 0,
    assignments: Annotated[
        list[str] | None,
        typer.Option("--set", help="Replay with this setting: key=value (YAML value; repeatable)."),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="Replay under this config file instead.")
    ] = None,
    retrieval_only: Annotated[
        bool, typer.Option("--retrieval-only", help="Compare retrieval only (no answers: faster).")
    ] = False,
    cases: Annotated[
        Path | None,
        typer.Option("--cases", help="Cases made from the traces (JSONL): their verdicts."),
    ] = None,
    metrics: Annotated[
        bool,
        typer.Option("--metrics/--no-metrics", help="Score the relevance of answers that changed."),
    ] = True,
    show_all: Annotated[bool, typer.Option("--all", help="List unchanged asks too.")] = False,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write a self-contained HTML report here.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Re-run past asks from their traces under the current config (or --set/--config)
    and show what changed: rules fired, documents gained/lost, answers, verdicts.
    Writes nothing to the knowledge base, and no traces or feedback."""
    from ragline._time import parse_when
    from ragline.evals._replay import ReplayQuery, parse_assignments
    from ragline.evals._replay_render import render_replay, replay_html

    overrides = parse_assignments(assignments or [])
    query = ReplayQuery(
        since=parse_when(since, option="--since") if since is not None else None,
        until=parse_when(until, option="--until") if until is not None else None,
        tenant=tenant,
        feedback=feedback,
        rule=rule,
        text=text,
        trace_ids=_trace_ids(trace, trace_file),
        sample=sample,
        seed=seed,
    )
    loaded = _cases(cases)
    with open_project() as project, _progress(enabled=not as_json) as on_progress:
        report = project.replay(
            query,
            overrides=overrides,
            config_file=config,
            retrieval_only=retrieval_only,
            cases=loaded,
            metrics=metrics,
            on_progress=on_progress,
        )
    if html is not None:
        from ragline.cli._traces import _write_atomic

        _write_atomic(html, [replay_html(report)])
    if as_json:
        print_json(report.to_dict())
        return
    console = new_console()
    render_replay(report, console=console, show_all=show_all)
    if html is not None:
        console.print(f"wrote {html}")


@contextlib.contextmanager
def _progress(*, enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr while asks are replayed (only on a terminal)."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import Progress

    with Progress(console=new_console(stderr=True), transient=True) as bar:
        task = bar.add_task("replaying", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


routing_app = typer.Typer(help="Test routing rules against a query.", no_args_is_help=True)


@routing_app.command("test")
def routing_test(
    query: Annotated[str, typer.Argument(help="The query to route.")],
    tenant: TenantOpt = None,
    k: ChunksOpt = None,
    assignments: Annotated[
        list[str] | None,
        typer.Option("--set", help="Test with this setting: key=value (YAML value; repeatable)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Which routing rules match QUERY, on which words, and what each boost or filter
    did to the ranking (ranks of the top hits without and with routing)."""
    from ragline.evals._replay import parse_assignments
    from ragline.evals._replay_render import render_explanation

    overrides = parse_assignments(assignments or [])
    with open_project(**overrides) as project:
        explanation = project.explain_routing(query, tenant=tenant, k=k)
    if as_json:
        print_json(explanation.to_dict())
        return
    render_explanation(explanation, console=new_console())
