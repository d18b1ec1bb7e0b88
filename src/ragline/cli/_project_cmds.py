"""``ragline init``, ``ingest``, ``status`` and ``migrate``: set a project up and fill it.

Only typer is imported at module level (``ragline --help`` must stay fast).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ragline.cli._common import (
    ExecutorOpt,
    TenantOpt,
    WorkersOpt,
    display_path,
    file_progress,
    new_console,
    open_project,
    print_json,
    redacted,
    state,
)

if TYPE_CHECKING:
    from ragline.ingest import IngestReport


def init(
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing ragline.yaml.")
    ] = False,
) -> None:
    """Write a commented ragline.yaml in the project folder (with --store and --embedder
    if given)."""
    from ragline.config import load_settings, write_config

    # the app's callback has refused malformed values before this runs
    values = {key: state.overrides.get(key) for key in ("store", "embedder")}
    path = write_config(state.project_dir, force=force, values=values)
    load_settings(state.project_dir)  # the template must always be valid
    new_console().print(f"wrote {path}")


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files and folders to ingest.")],
    sync: Annotated[
        bool, typer.Option("--sync", help="Remove documents whose files are gone.")
    ] = False,
    tenant: TenantOpt = None,
    id_field: Annotated[
        str | None,
        typer.Option("--id-field", help="JSON/JSONL: field holding the document id."),
    ] = None,
    text_field: Annotated[
        str | None,
        typer.Option("--text-field", help="JSON/JSONL: field holding the text."),
    ] = None,
    title_field: Annotated[
        str | None,
        typer.Option("--title-field", help="JSON/JSONL: field holding the title."),
    ] = None,
    meta_fields: Annotated[
        str | None,
        typer.Option("--meta-fields", help="JSON/JSONL: comma-separated fields kept as metadata."),
    ] = None,
    vector_field: Annotated[
        str | None,
        typer.Option(
            "--vector-field",
            help="JSONL: field holding each record's precomputed vector (one chunk per "
            "record; nothing is embedded).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    executor: ExecutorOpt = "local",
    workers: WorkersOpt = None,
) -> None:
    """Ingest .txt .md .html .pdf .docx .json .jsonl files (unchanged files are skipped)."""

    with open_project() as project:
        metas = [m.strip() for m in meta_fields.split(",") if m.strip()] if meta_fields else None
        progress = file_progress("ingesting", quiet=as_json)
        with progress:
            task = progress.add_task("", total=None)

            def on_progress(done: int, total: int, path: str) -> None:
                progress.update(task, completed=done, total=total, description=_short(path))

            report = project.ingest(
                paths,
                tenant=tenant,
                sync=sync,
                id_field=id_field,
                text_field=text_field,
                title_field=title_field,
                meta_fields=metas,
                vector_field=vector_field,
                on_progress=on_progress,
                executor=executor,
                workers=workers,
            )
    if as_json:
        print_json(report.to_dict())
    else:
        _print_ingest_report(report)
    if report.failed and not report.succeeded:
        raise typer.Exit(1)


def _short(path: str, width: int = 50) -> str:
    return path if len(path) <= width else "…" + path[-(width - 1) :]


def _print_ingest_report(report: IngestReport) -> None:
    from rich.table import Table

    console = new_console()
    table = Table(title="ingest summary", title_justify="left", show_lines=False)
    table.add_column("file", overflow="fold")
    table.add_column("status")
    table.add_column("docs", justify="right")
    table.add_column("chunks", justify="right")
    table.add_column("error", overflow="fold")
    colours = {
        "added": "green",
        "updated": "cyan",
        "unchanged": "dim",
        "busy": "magenta",
        "removed": "yellow",
    }
    for r in report.files:
        colour = colours.get(r.status, "red")
        table.add_row(
            display_path(r.path),
            f"[{colour}]{r.status}[/{colour}]",
            str(r.documents),
            str(r.chunks),
            r.error or "",
        )
    console.print(table)
    totals = ", ".join(f"{n} {status}" for status, n in report.totals().items() if n)
    console.print(
        f"{totals or 'nothing to do'} · {report.chunks_embedded} chunks embedded "
        f"in {report.elapsed_s:.1f}s"
    )


def status(tenant: TenantOpt = None) -> None:
    """Show the project's store, embedder and how much is indexed."""
    with open_project() as project:
        s = project.stats(tenant=tenant)
        console = new_console()
        console.print(f"project:  {project.path}")
        console.print(f"store:    {redacted(project.settings.store)}")
        console.print(f"embedder: {project.settings.embedder}")
        console.print(f"model:    {project.settings.model}")
        console.print(f"tenant:   {project.tenant_or_default(tenant)}")
        console.print(f"indexed:  {s['documents']} documents, {s['chunks']} chunks")


def migrate(
    sentences: Annotated[
        bool,
        typer.Option(
            "--sentences",
            help="Also embed and store the answer sentences of chunks ingested before "
            "sentence vectors were precomputed (new questions then embed only themselves).",
        ),
    ] = False,
) -> None:
    """Apply the store's pending schema migrations and list them (SQLite or PostgreSQL)."""
    with open_project() as project:
        applied, all_applied = project.parts.backend.migrate()
        console = new_console()
        for name in applied:
            console.print(f"applied  {name}")
        schema = f"{len(all_applied)} migrations applied" if all_applied else "no schema"
        if not applied:
            console.print(f"up to date ({schema})")
        else:
            console.print(f"done ({schema})")
        if sentences:
            n = project.precompute_sentences()
            console.print(f"sentence vectors: {n} embedded and stored")
