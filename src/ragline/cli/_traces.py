"""``ragline traces``: list, show and export the traces that asks and ingests leave.

Only typer is imported at module level (``ragline --help`` must stay fast).

- ``traces list`` shows root spans newest first (filters: ``--since/--until`` as a
  duration ago like ``30m``, ``2h``, ``7d`` or a time like ``2026-11-25T10:00`` (local
  time unless it carries an offset), ``--tenant``, ``--status``, ``--min-ms``,
  ``--search`` over the question and answer).
- ``traces show ID`` accepts a unique id prefix of at least 8 characters.
- ``traces export`` writes JSONL, **one span per line** (each line carries its
  ``trace_id``; traces newest first, a trace's spans by start time), so it loads
  straight into jq, pandas or DuckDB.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ragline.cli._common import (
    JsonOpt,
    OnlyTenantOpt,
    TraceIdArg,
    new_console,
    open_project,
    plural,
    print_json,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from ragline.store._traces import SpanStatus, TraceStore, TraceSummary

traces_app = typer.Typer(help="List, show and export traces.", no_args_is_help=True)


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
StatusOpt = Annotated[str | None, typer.Option("--status", help="ok or error.")]
MinMsOpt = Annotated[
    float | None, typer.Option("--min-ms", help="Only traces that took at least this long.", min=0)
]
SearchOpt = Annotated[
    str | None, typer.Option("--search", "-s", help="Text in the question or answer.")
]


# ---------------------------------------------------------------------------- traces


@traces_app.command("list")
def traces_list(
    since: SinceOpt = None,
    until: UntilOpt = None,
    tenant: OnlyTenantOpt = None,
    status: StatusOpt = None,
    min_ms: MinMsOpt = None,
    search: SearchOpt = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many.", min=1)] = 50,
    as_json: JsonOpt = False,
) -> None:
    """List traces, newest first: id, time, tenant, duration, status, spans, question."""
    from ragline.trace._render import render_summaries, summary_to_dict

    with open_project() as project:
        found = _list(
            project.trace_store,
            since=since,
            until=until,
            tenant=tenant,
            status=status,
            min_ms=min_ms,
            search=search,
            limit=limit,
        )
    if as_json:
        print_json([summary_to_dict(t) for t in found])
        return
    render_summaries(found, console=new_console())


@traces_app.command("show")
def traces_show(
    trace_id: TraceIdArg,
    tenant: OnlyTenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one trace: the span waterfall, retrieved chunks with scores, the exact
    prompt, the output, citations and feedback."""
    from ragline.trace._feedback import find_trace, root_span
    from ragline.trace._render import render_trace, trace_to_dict

    with open_project() as project:
        store = project.trace_store
        spans = find_trace(store, trace_id, tenant=tenant)
        root = root_span(spans)
        feedback = store.list_feedback(trace_id=root.trace_id, tenant=root.tenant)
    if as_json:
        print_json(trace_to_dict(root.trace_id, spans, feedback))
        return
    render_trace(spans, feedback=feedback, console=new_console())


@traces_app.command("export")
def traces_export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")
    ] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    tenant: OnlyTenantOpt = None,
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

    with open_project() as project:
        store = project.trace_store
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
    what = f"{plural(written, 'span')} of {plural(len(found), 'trace')}"
    new_console(stderr=True).print(f"exported {what} to {output}")


def _write_atomic(path: Path, lines: Iterable[str]) -> int:
    """Write ``lines`` to a temporary file renamed over ``path``; returns the count."""
    import contextlib
    import os
    import tempfile

    from ragline.errors import InputError
    from ragline.evals._cases import write_error_reason

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


# ---------------------------------------------------------------------------- prune


@traces_app.command("prune")
def traces_prune(
    older_than: Annotated[
        str | None,
        typer.Option(
            "--older-than",
            help="Delete traces (spans, feedback) older than this: 30d, 12h… "
            "(default: monitor.retention.traces).",
        ),
    ] = None,
    rollups_older_than: Annotated[
        str | None,
        typer.Option(
            "--rollups-older-than",
            help="Also delete per-minute rollups older than this, e.g. 90d "
            "(default: monitor.retention.rollups).",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be deleted; delete nothing.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete old traces (and, with --rollups-older-than, old rollups)."""
    import time

    from ragline._duration import format_duration, parse_duration
    from ragline.errors import InputError
    from ragline.monitor._retention import prune

    with open_project() as project:
        retention = project.settings.monitor.retention
        traces_age = older_than if older_than is not None else retention.traces
        rollups_age = rollups_older_than if rollups_older_than is not None else retention.rollups
        if traces_age is None and rollups_age is None:
            raise InputError(
                "nothing to prune: no age given",
                hint="pass --older-than 30d (and/or --rollups-older-than 90d), or set "
                "monitor.retention.traces / .rollups in ragline.yaml",
            )
        now = time.time()
        t_s = parse_duration(traces_age, what="--older-than") if traces_age is not None else None
        r_s = (
            parse_duration(rollups_age, what="--rollups-older-than")
            if rollups_age is not None
            else None
        )
        project.flush_traces(project.settings.tracing.flush_timeout_s)
        report = prune(
            project.trace_store,
            project.parts.backend.rollups if r_s is not None else None,
            traces_before=now - t_s if t_s is not None else None,
            rollups_before=now - r_s if r_s is not None else None,
            dry_run=dry_run,
        )
    if as_json:
        print_json(report.to_dict())
        return
    verb = "would delete" if dry_run else "deleted"
    parts = []
    if t_s is not None:
        parts.append(
            f"{plural(report.traces, 'trace')} ({plural(report.spans, 'span')}, "
            f"{plural(report.feedback, 'feedback item')}) older than {format_duration(t_s)}"
        )
    if r_s is not None:
        parts.append(
            f"{plural(report.rollup_rows, 'rollup row')} older than {format_duration(r_s)}"
        )
    new_console().print(f"{verb} " + "; ".join(parts))
