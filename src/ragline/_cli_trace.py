"""``ragline traces``, ``ragline feedback`` and ``ragline cases``.

Only typer is imported at module level (``ragline --help`` must stay fast).

- ``traces list`` shows root spans newest first (filters: ``--since/--until`` as a
  duration ago like ``30m``, ``2h``, ``7d`` or a time like ``2026-11-25T10:00`` (local
  time unless it carries an offset), ``--tenant``, ``--status``, ``--min-ms``,
  ``--search`` over the question and answer).
- ``traces show ID`` accepts a unique id prefix of at least 8 characters.
- ``traces export`` writes JSONL, **one span per line** (each line carries its
  ``trace_id``; traces newest first, a trace's spans by start time), so it loads
  straight into jq, pandas or DuckDB.
- ``feedback add``/``list``; ``cases add --trace ID`` or ``--from-feedback kind=K``
  appends regression cases to ``evals/regression.jsonl`` in the project folder.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from ragline._project import Project
    from ragline.trace._records import SpanStatus, TraceStore, TraceSummary

traces_app = typer.Typer(help="List, show and export traces.", no_args_is_help=True)
feedback_app = typer.Typer(help="Record and list user feedback on answers.", no_args_is_help=True)
cases_app = typer.Typer(help="Turn traces into regression cases.", no_args_is_help=True)

DEFAULT_DATASET = Path("evals") / "regression.jsonl"


# ---------------------------------------------------------------------------- helpers


def _trace_store(project: Project) -> TraceStore:
    return project.trace_store


def _cli() -> Any:
    """The ``ragline.cli`` module, whose callback holds ``--project`` etc."""
    import ragline.cli

    return ragline.cli


def _project() -> Project:
    project: Project = _cli()._project()
    return project


def _console(stderr: bool = False) -> Any:
    return _cli()._console(stderr=stderr)


def _print_json(data: Any) -> None:
    _cli()._print_json(data)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _status(value: str | None) -> SpanStatus | None:
    from ragline.errors import InputError

    if value is None:
        return None
    v = value.strip().lower()
    if v == "ok":
        return "ok"
    if v == "error":
        return "error"
    raise InputError(f"bad --status value {value!r}", hint="use ok or error")


def _list(
    store: TraceStore,
    *,
    since: str | None,
    until: str | None,
    tenant: str | None,
    status: str | None,
    min_ms: float | None,
    search: str | None,
    limit: int,
) -> list[TraceSummary]:
    from ragline._time import parse_when

    return store.list_traces(
        tenant=tenant,
        since=parse_when(since, option="--since") if since is not None else None,
        until=parse_when(until, option="--until") if until is not None else None,
        status=_status(status),
        min_latency_ms=min_ms,
        text=search or None,
        limit=limit,
    )


SinceOpt = Annotated[
    str | None,
    typer.Option("--since", help="Only traces started since: 30m, 2h, 7d, or 2026-11-25T10:00."),
]
UntilOpt = Annotated[
    str | None,
    typer.Option("--until", help="Only traces started until: 30m, 2h, 7d, or 2026-11-25T18:00."),
]
TenantOpt = Annotated[str | None, typer.Option("--tenant", "-t", help="Only this tenant.")]
StatusOpt = Annotated[str | None, typer.Option("--status", help="ok or error.")]
MinMsOpt = Annotated[
    float | None, typer.Option("--min-ms", help="Only traces that took at least this long.", min=0)
]
SearchOpt = Annotated[
    str | None, typer.Option("--search", "-s", help="Text in the question or answer.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


# ---------------------------------------------------------------------------- traces


@traces_app.command("list")
def traces_list(
    since: SinceOpt = None,
    until: UntilOpt = None,
    tenant: TenantOpt = None,
    status: StatusOpt = None,
    min_ms: MinMsOpt = None,
    search: SearchOpt = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many.", min=1)] = 50,
    as_json: JsonOpt = False,
) -> None:
    """List traces, newest first: id, time, tenant, duration, status, spans, question."""
    from ragline.trace._render import render_summaries, summary_to_dict

    with _project() as project:
        found = _list(
            _trace_store(project),
            since=since,
            until=until,
            tenant=tenant,
            status=status,
            min_ms=min_ms,
            search=search,
            limit=limit,
        )
    if as_json:
        _print_json([summary_to_dict(t) for t in found])
        return
    render_summaries(found, console=_console())


@traces_app.command("show")
def traces_show(
    trace_id: Annotated[str, typer.Argument(help="Trace id (or a unique prefix, 8+ chars).")],
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one trace: the span waterfall, retrieved chunks with scores, the exact
    prompt, the output, citations and feedback."""
    from ragline.trace._feedback import find_trace, root_span
    from ragline.trace._render import feedback_to_dict, render_trace, span_to_dict

    with _project() as project:
        store = _trace_store(project)
        spans = find_trace(store, trace_id, tenant=tenant)
        root = root_span(spans)
        feedback = store.list_feedback(trace_id=root.trace_id, tenant=root.tenant)
    if as_json:
        _print_json(
            {
                "trace_id": root.trace_id,
                "spans": [span_to_dict(s) for s in spans],
                "feedback": [feedback_to_dict(f) for f in feedback],
            }
        )
        return
    render_trace(spans, feedback=feedback, console=_console())


@traces_app.command("export")
def traces_export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")
    ] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    tenant: TenantOpt = None,
    status: StatusOpt = None,
    min_ms: MinMsOpt = None,
    search: SearchOpt = None,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", help="At most this many traces.", min=1)
    ] = None,
) -> None:
    """Export traces as JSONL, one span per line (each with its trace_id)."""
    import json

    from ragline.trace._render import span_to_dict

    with _project() as project:
        store = _trace_store(project)
        found = _list(
            store,
            since=since,
            until=until,
            tenant=tenant,
            status=status,
            min_ms=min_ms,
            search=search,
            limit=limit or 1_000_000_000,
        )

        def lines() -> Iterator[str]:
            for t in found:
                for span in store.get_trace(t.trace_id, tenant=t.tenant):
                    yield json.dumps(span_to_dict(span), ensure_ascii=False, default=str) + "\n"

        if output is None:
            for line in lines():
                sys.stdout.write(line)
            return
        written = _write_atomic(output, lines())
    what = f"{_plural(written, 'span')} of {_plural(len(found), 'trace')}"
    _console(stderr=True).print(f"exported {what} to {output}")


def _write_atomic(path: Path, lines: Iterable[str]) -> int:
    """Write ``lines`` to a temporary file renamed over ``path``; returns the count."""
    import contextlib
    import os
    import tempfile

    from ragline.errors import InputError
    from ragline.trace._cases import write_error_reason

    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        count = 0
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            for line in lines:
                f.write(line)
                count += 1
        os.replace(tmp, path)
        tmp = None
        return count
    except OSError as e:
        raise InputError(
            f"cannot write {str(path)!r}: {write_error_reason(path, e)}",
            hint="check the folder exists and is writable",
        ) from None
    finally:
        if tmp is not None:  # failed part-way: leave no temporary file behind
            with contextlib.suppress(OSError):
                os.unlink(tmp)


# ---------------------------------------------------------------------------- feedback


@feedback_app.command("add")
def feedback_add(
    trace_id: Annotated[str, typer.Argument(help="Trace id (or a unique prefix, 8+ chars).")],
    kind: Annotated[
        str, typer.Option("--kind", "-k", help="hallucination, wrong_citation, irrelevant or good.")
    ],
    note: Annotated[str | None, typer.Option("--note", help="What was wrong (or right).")] = None,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record feedback on the answer of a trace."""
    from ragline.trace._feedback import add_feedback, check_kind
    from ragline.trace._render import feedback_to_dict

    check_kind(kind)  # before opening the project: a typo fails fast
    with _project() as project:
        fb = add_feedback(_trace_store(project), trace_id, kind, note, tenant=tenant)
    if as_json:
        _print_json(feedback_to_dict(fb))
        return
    _console().print(f"recorded {fb.kind} feedback {fb.id[:12]} on trace {fb.trace_id}")


@feedback_app.command("list")
def feedback_list(
    kind: Annotated[str | None, typer.Option("--kind", "-k", help="Only this kind.")] = None,
    trace_id: Annotated[
        str | None, typer.Option("--trace", help="Only feedback on this trace (id or prefix).")
    ] = None,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List feedback, oldest first."""
    from rich.table import Table
    from rich.text import Text

    from ragline.trace._feedback import check_kind, resolve_trace_id
    from ragline.trace._render import SHORT_ID, feedback_to_dict, local_time

    wanted = check_kind(kind) if kind is not None else None
    with _project() as project:
        store = _trace_store(project)
        full = resolve_trace_id(store, trace_id, tenant=tenant) if trace_id else None
        items = store.list_feedback(tenant=tenant, kind=wanted, trace_id=full)
    if as_json:
        _print_json([feedback_to_dict(f) for f in items])
        return
    console = _console()
    if not items:
        console.print("no feedback")
        return
    table = Table(box=None, pad_edge=False)
    table.add_column("time", no_wrap=True, min_width=19)
    table.add_column("kind", no_wrap=True)
    table.add_column("trace", no_wrap=True, min_width=SHORT_ID)
    table.add_column("tenant", no_wrap=True, min_width=7, max_width=16, overflow="ellipsis")
    table.add_column("note", ratio=1, min_width=10)
    for f in items:
        row = (local_time(f.created_at), f.kind, f.trace_id[:SHORT_ID])
        table.add_row(*row, Text(f.tenant), Text(f.note or ""))
    console.print(table)


# ---------------------------------------------------------------------------- cases


@cases_app.command("add")
def cases_add(
    trace_id: Annotated[
        str | None, typer.Option("--trace", help="Make a case of this trace (id or prefix).")
    ] = None,
    from_feedback: Annotated[
        str | None,
        typer.Option(
            "--from-feedback",
            help="kind=KIND: a case for every trace with that feedback (no duplicates).",
        ),
    ] = None,
    expected: Annotated[
        list[str] | None,
        typer.Option("--expected", help="An acceptable answer (repeatable)."),
    ] = None,
    must_contain: Annotated[
        list[str] | None,
        typer.Option("--must-contain", help="A fact the answer must contain (repeatable)."),
    ] = None,
    gold_docs: Annotated[
        list[str] | None,
        typer.Option("--gold-doc", help="Id of a document that answers it (repeatable)."),
    ] = None,
    category: Annotated[
        str | None,
        typer.Option(
            "--category",
            help="factual_accuracy, citation_quality, response_relevance, safety, or your own "
            "(default: from the feedback).",
        ),
    ] = None,
    tags: Annotated[list[str] | None, typer.Option("--tag", help="A tag (repeatable).")] = None,
    dataset: Annotated[
        Path | None,
        typer.Option("--dataset", help="JSONL dataset (default: evals/regression.jsonl)."),
    ] = None,
    tenant: TenantOpt = None,
) -> None:
    """Append regression cases (JSONL, the format `ragline eval run` reads)."""
    from ragline.errors import InputError
    from ragline.trace._cases import (
        add_case_from_trace,
        add_cases_from_feedback,
        parse_from_feedback,
    )

    if (trace_id is None) == (from_feedback is None):
        raise InputError(
            "give either --trace ID or --from-feedback kind=KIND",
            hint="e.g. `ragline cases add --from-feedback kind=hallucination`",
        )
    kind = parse_from_feedback(from_feedback) if from_feedback is not None else None
    if kind is not None and (expected or must_contain or gold_docs):
        raise InputError(
            "--expected, --must-contain and --gold-doc describe one trace",
            hint="use them with --trace ID, or edit the cases in the dataset afterwards",
        )
    console = _console()
    with _project() as project:
        path = dataset if dataset is not None else project.path / DEFAULT_DATASET
        store = _trace_store(project)
        if kind is not None:
            result = add_cases_from_feedback(
                store, path, kind, tenant=tenant, category=category, tags=tags or []
            )
            extra = f", {result.missing} without a trace" if result.missing else ""
            console.print(
                f"added {_plural(result.added, 'case')} to {path} "
                f"({result.duplicates} skipped as duplicates{extra})"
            )
            return
        assert trace_id is not None
        docs = project.store

        def known(doc_tenant: str, doc_id: str) -> bool:
            return docs.get_document(doc_tenant, doc_id) is not None

        case = add_case_from_trace(
            store,
            path,
            trace_id,
            tenant=tenant,
            expected=expected or [],
            must_contain=must_contain or [],
            gold_doc_ids=gold_docs or [],
            category=category,
            tags=tags or [],
            known_document=known,
        )
    console.print(f"added case {case.id} to {path}")
