"""``ragline store copy SRC DST``: move a project's store between backends.

The copy itself is :func:`ragline.store.copy_store` (protocol reads, one
transaction per document); this module opens the two URLs (relative SQLite paths
are relative to the project folder, like ``store:``), refuses copying a store onto
itself, and prints the counts. Only typer is imported at module level.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ragline.cli._common import new_console, plural, redacted, state

store_app = typer.Typer(
    help="Work on a whole store: copy it to another URL (SQLite ↔ PostgreSQL).",
    no_args_is_help=True,
)


@store_app.command("copy")
def copy(
    source: Annotated[str, typer.Argument(help="Store URL to read, e.g. sqlite:///ragline.db.")],
    destination: Annotated[
        str, typer.Argument(help="Store URL to write, e.g. postgresql://user:pw@host/db.")
    ],
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Copy into a store that already holds data (documents with the same id "
            "are replaced, the others kept).",
        ),
    ] = False,
    traces: Annotated[
        bool, typer.Option("--traces/--no-traces", help="Also copy traces and feedback.")
    ] = True,
) -> None:
    """Copy documents, chunks, vectors and metadata (and traces, feedback) of every tenant."""
    from ragline.errors import InputError
    from ragline.store import copy_store, open_backend
    from ragline.store._copy import store_identity

    base = state.project_dir
    if store_identity(source, base_dir=base) == store_identity(destination, base_dir=base):
        raise InputError(
            f"source and destination are the same store ({redacted(source)})",
            hint="name another store URL as the destination",
        )
    console = new_console()
    src = open_backend(source, base_dir=base)
    try:
        dst = open_backend(destination, base_dir=base)
        try:
            console.print(f"copying {src.url} → {dst.url}")
            summary = copy_store(src, dst, force=force, traces=traces)
        finally:
            dst.close()
    finally:
        src.close()
    for row in summary.tenants:
        console.print(
            f"  {row.tenant}: {plural(row.documents, 'document')}, {plural(row.chunks, 'chunk')}"
        )
    line = (
        f"copied {plural(summary.documents, 'document')}, {plural(summary.chunks, 'chunk')} "
        f"in {plural(len(summary.tenants), 'tenant')}"
    )
    if traces:
        line += (
            f"; {plural(summary.traces, 'trace')} ({plural(summary.spans, 'span')}), "
            f"{plural(summary.feedback, 'feedback item')}"
        )
    console.print(line)
