"""The ``ragline`` command: a thin layer over :class:`ragline.Project`.

Only typer is imported at start-up; everything else is imported by the command that
needs it, so ``ragline --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from ragline._project import Project
    from ragline.ingest import IngestReport
    from ragline.types import Answer, Hit

app = typer.Typer(
    name="ragline",
    help="Ingest documents, search them with hybrid retrieval, and answer questions "
    "with citations — offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class _State:
    project_dir: Path = Path(".")
    config_file: Path | None = None
    overrides: dict[str, Any] = {}  # noqa: RUF012


_state = _State()


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


@app.callback()
def _main(
    project: Annotated[
        Path,
        typer.Option(
            "--project", "-C", help="Project folder (holds ragline.yaml).", show_default=False
        ),
    ] = Path("."),
    config: Annotated[
        Path | None,
        typer.Option("--config", help="Config file (default: PROJECT/ragline.yaml)."),
    ] = None,
    store: Annotated[
        str | None,
        typer.Option("--store", help="Store URL, e.g. sqlite:///ragline.db or memory://."),
    ] = None,
    embedder: Annotated[
        str | None,
        typer.Option("--embedder", help="Embedder: minilm, hash, or openai:<model>."),
    ] = None,
) -> None:
    _state.project_dir = project
    _state.config_file = config
    _state.overrides = {"store": store, "embedder": embedder}


def _project(**overrides: Any) -> Project:
    from ragline._project import Project

    merged = {**_state.overrides, **{k: v for k, v in overrides.items() if v is not None}}
    return Project(_state.project_dir, overrides=merged, config_file=_state.config_file)


def _redacted(url: str) -> str:
    from ragline.store._open import redact_url

    return redact_url(url)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


# ---------------------------------------------------------------------------- init


@app.command()
def init(
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing ragline.yaml.")
    ] = False,
) -> None:
    """Write a commented ragline.yaml in the project folder."""
    from ragline.config import load_settings, write_config

    path = write_config(_state.project_dir, force=force)
    load_settings(_state.project_dir)  # the template must always be valid
    _console().print(f"wrote {path}")


# ---------------------------------------------------------------------------- ingest


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files and folders to ingest.")],
    sync: Annotated[
        bool, typer.Option("--sync", help="Remove documents whose files are gone.")
    ] = False,
    tenant: Annotated[str | None, typer.Option("--tenant", "-t", help="Tenant.")] = None,
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
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Ingest .txt .md .html .pdf .docx .json .jsonl files (unchanged files are skipped)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with _project() as project:
        metas = [m.strip() for m in meta_fields.split(",") if m.strip()] if meta_fields else None
        progress = Progress(
            TextColumn("ingesting"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=_console(stderr=True),
            transient=True,
            disable=as_json or not sys.stderr.isatty(),
        )
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
                on_progress=on_progress,
            )
    if as_json:
        _print_json(report.to_dict())
    else:
        _print_ingest_report(report)
    if report.failed and not report.succeeded:
        raise typer.Exit(1)


def _short(path: str, width: int = 50) -> str:
    return path if len(path) <= width else "…" + path[-(width - 1) :]


def _display_path(path: str) -> str:
    """Paths relative to the working directory when that is shorter."""
    import os

    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return rel if not rel.startswith("..") and len(rel) < len(path) else path


def _print_ingest_report(report: IngestReport) -> None:
    from rich.table import Table

    console = _console()
    table = Table(title="ingest summary", title_justify="left", show_lines=False)
    table.add_column("file", overflow="fold")
    table.add_column("status")
    table.add_column("docs", justify="right")
    table.add_column("chunks", justify="right")
    table.add_column("error", overflow="fold")
    colours = {"added": "green", "updated": "cyan", "unchanged": "dim", "removed": "yellow"}
    for r in report.files:
        colour = colours.get(r.status, "red")
        table.add_row(
            _display_path(r.path),
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


# ---------------------------------------------------------------------------- search


FilterOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--filter",
        "-f",
        help="Metadata filter: key=value, key=a|b, key>=N, key<N, key!=v (repeatable).",
    ),
]


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to search for.")],
    k: Annotated[int | None, typer.Option("-k", help="Number of hits.", min=1)] = None,
    filters: FilterOpt = None,
    tenant: Annotated[str | None, typer.Option("--tenant", "-t", help="Tenant.")] = None,
    mode: Annotated[
        str | None,
        typer.Option("--mode", help="hybrid (default), keyword or dense."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print hits as JSON.")] = False,
) -> None:
    """Show the chunks retrieval finds, with each retriever's score and rank."""
    with _project(**{"retrieval.mode": mode}) as project:
        result = project.retrieve(query, tenant=tenant, k=k, filters=filters or [])
    if as_json:
        _print_json(
            {
                "query": query,
                "hits": [h.to_dict() for h in result.hits],
                "rules_fired": list(result.rules_fired),
                "timings_ms": result.timings_ms,
            }
        )
        return
    _print_hits(result.hits)
    if result.rules_fired:
        _console().print(f"routing rules fired: {', '.join(result.rules_fired)}")


def _fmt_leg(hit: Hit, leg: str) -> str:
    if leg not in hit.scores:
        return "—"
    rank = hit.ranks.get(leg)
    return f"{hit.scores[leg]:.3f} (#{rank})" if rank is not None else f"{hit.scores[leg]:.3f}"


def _print_hits(hits: list[Hit]) -> None:
    from rich.markup import escape

    console = _console()
    if not hits:
        console.print("no hits")
        return
    for i, h in enumerate(hits, 1):
        c = h.chunk
        where = c.title + (f" › {c.section}" if c.section else "")
        page = f", page {c.page}" if c.page is not None else ""
        legs = " · ".join(f"{leg} {_fmt_leg(h, leg)}" for leg in ("keyword", "dense"))
        text = " ".join(c.text.split())
        console.print(f"[bold]{i}. {escape(where)}[/bold]  [dim]score {h.score:.4f}[/dim]")
        console.print(f"   document {escape(c.document_id)}{page} · chunk {escape(c.id)}")
        console.print(f"   {legs}", style="dim")
        console.print(f"   {escape(text[:300])}{'…' if len(text) > 300 else ''}\n")


# ---------------------------------------------------------------------------- ask


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    k: Annotated[int | None, typer.Option("-k", help="Chunks to retrieve.", min=1)] = None,
    filters: FilterOpt = None,
    tenant: Annotated[str | None, typer.Option("--tenant", "-t", help="Tenant.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the Answer object as JSON.")
    ] = False,
    model: Annotated[
        str | None,
        typer.Option(
            "--model", "-m", help="Answer model: extractive, openai:<name> or anthropic:<name>."
        ),
    ] = None,
    stream: Annotated[
        bool, typer.Option("--stream", help="Print the answer as it is generated.")
    ] = False,
) -> None:
    """Answer a question from the knowledge base, citing a source for every sentence."""
    with _project(model=model) as project:
        if stream and not as_json:
            _stream_answer(project, question, tenant=tenant, k=k, filters=filters or [])
            return
        answer = project.ask(question, tenant=tenant, k=k, filters=filters or [])
    if as_json:
        _print_json(answer.to_dict())
        return
    _print_answer(answer)


def _stream_answer(
    project: Project, question: str, *, tenant: str | None, k: int | None, filters: list[str]
) -> None:
    from ragline.answer import DeltaEvent, DoneEvent, ErrorEvent

    sys.stdout.write(f"Q: {question}\nA: ")
    sys.stdout.flush()
    for event in project.ask_stream(question, tenant=tenant, k=k, filters=filters):
        if isinstance(event, DeltaEvent):
            sys.stdout.write(event.text)
            sys.stdout.flush()
        elif isinstance(event, ErrorEvent):
            sys.stdout.write("\n")
            sys.stderr.write(f"error: {event.message}\n")
            raise typer.Exit(1)
        elif isinstance(event, DoneEvent):
            sys.stdout.write("\n")
            _print_references_and_timing(event.answer)


def _print_answer(answer: Answer) -> None:
    from rich.markup import escape

    console = _console()
    console.print(f"[bold]Q:[/bold] {escape(answer.question)}")
    console.print(f"[bold]A:[/bold] {escape(answer.text)}")
    _print_references_and_timing(answer)


def _print_references_and_timing(answer: Answer) -> None:
    from rich.markup import escape

    console = _console()
    if answer.references:
        console.print("\n[bold]References[/bold]")
        for ref in answer.references:
            where = _display_path(ref.source) + (
                f", page {ref.page}" if ref.page is not None else ""
            )
            section = f" › {ref.section}" if ref.section else ""
            console.print(
                f"  [{ref.number}] {escape(ref.title)}{escape(section)} — {escape(where)}"
            )
    order = ["embed_query", "keyword", "dense", "fusion", "mmr", "retrieval", "answer", "total"]
    t = answer.timings_ms
    parts = [f"{name} {t[name]:.0f} ms" for name in order if name in t]
    if parts:
        console.print(f"\n[dim]timing: {' · '.join(parts)}[/dim]")
    if "load_model" in t:
        console.print(f"[dim](model load {t['load_model']:.0f} ms, once per process)[/dim]")
    if answer.usage is not None:
        cost = (
            f"unknown cost (set models.{answer.model}.price_input_per_mtok and "
            "price_output_per_mtok in ragline.yaml)"
            if answer.cost_usd is None
            else f"${answer.cost_usd:.6f}"
        )
        console.print(
            f"[dim]{answer.model}: {answer.usage['prompt_tokens']} prompt + "
            f"{answer.usage['completion_tokens']} completion tokens"
            f"{' (estimated)' if answer.usage.get('estimated') else ''}, {cost}[/dim]"
        )
    if answer.trace_id:
        console.print(
            f"[dim]trace {answer.trace_id} (ragline traces show {answer.trace_id[:12]})[/dim]"
        )


# ---------------------------------------------------------------------------- status


@app.command()
def status(
    tenant: Annotated[str | None, typer.Option("--tenant", "-t", help="Tenant.")] = None,
) -> None:
    """Show the project's store, embedder and how much is indexed."""
    with _project() as project:
        s = project.stats(tenant=tenant)
        console = _console()
        console.print(f"project:  {project.path}")
        console.print(f"store:    {_redacted(project.settings.store)}")
        console.print(f"embedder: {project.settings.embedder}")
        console.print(f"model:    {project.settings.model}")
        console.print(f"tenant:   {project.tenant_or_default(tenant)}")
        console.print(f"indexed:  {s['documents']} documents, {s['chunks']} chunks")


@app.command()
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
    from ragline.store._open import migrate_store

    with _project() as project:
        url = project.settings.store
        applied, all_applied = migrate_store(url, base_dir=str(project.path))
        console = _console()
        for name in applied:
            console.print(f"applied  {name}")
        state = f"{len(all_applied)} migrations applied" if all_applied else "no schema"
        if not applied:
            console.print(f"up to date ({state})")
        else:
            console.print(f"done ({state})")
        if sentences:
            n = project.precompute_sentences()
            console.print(f"sentence vectors: {n} embedded and stored")


@app.command()
def doctor() -> None:
    """Check the installation, the config, the store and the embedder; say how to fix what fails."""
    import platform
    import time

    import ragline
    from ragline.errors import RaglineError

    console = _console()
    failures = 0

    def report(ok: bool, what: str, detail: str) -> None:
        nonlocal failures
        failures += 0 if ok else 1
        mark = "[green]ok[/green]  " if ok else "[red]FAIL[/red]"
        console.print(f"{mark} {what}: {detail}")

    report(True, "ragline", f"{ragline.__version__} on Python {platform.python_version()}")
    try:
        project = _project()
    except RaglineError as e:
        report(False, "config", str(e))
        raise typer.Exit(1) from None
    cfg = _state.config_file or project.path / "ragline.yaml"
    report(True, "config", f"{cfg} ({'found' if cfg.exists() else 'not found; defaults'})")
    with project:
        try:
            tenants = project.store.tenants()
            stats = {t: project.stats(tenant=t) for t in tenants}
            counts = ", ".join(
                f"{t}: {s['documents']} docs/{s['chunks']} chunks" for t, s in stats.items()
            )
            report(True, "store", f"{_redacted(project.settings.store)} ({counts or 'empty'})")
        except RaglineError as e:
            report(False, "store", str(e))
        try:
            t0 = time.perf_counter()
            embedder = project.embedder
            vector = embedder.embed_query("ragline doctor")
            ms = (time.perf_counter() - t0) * 1000
            backend = getattr(embedder, "backend", None)
            extra = f", backend {backend}" if backend else ""
            report(
                vector.shape == (embedder.dimension,),
                "embedder",
                f"{embedder.name} (dimension {embedder.dimension}{extra}), loaded in {ms:.0f} ms",
            )
        except RaglineError as e:
            report(False, "embedder", str(e))
        try:
            from ragline.trace._setup import doctor_line

            ok, detail = doctor_line(project)
            report(ok, "tracing", detail)
        except RaglineError as e:
            report(False, "tracing", str(e))
    if failures:
        raise typer.Exit(1)


# ----------------------------------------------------------------- command groups

from ragline._cli_eval import eval_app  # noqa: E402
from ragline._cli_serve import keys_app  # noqa: E402
from ragline._cli_serve import serve as _serve  # noqa: E402
from ragline._cli_trace import cases_app, feedback_app, traces_app  # noqa: E402

app.add_typer(traces_app, name="traces")
app.add_typer(feedback_app, name="feedback")
app.add_typer(cases_app, name="cases")
app.add_typer(eval_app, name="eval")
app.add_typer(keys_app, name="keys")
app.command("serve")(_serve)


# ---------------------------------------------------------------------------- entry


def main() -> None:
    """Console entry point: ragline errors print one line, not a traceback."""
    from ragline.errors import RaglineError

    try:
        app()
    except RaglineError as e:
        sys.stderr.write(f"error: {e}\n")
        sys.exit(1)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)


if __name__ == "__main__":
    # Under ``python -m ragline.cli`` this file runs as ``__main__``; command groups that
    # import ``ragline.cli`` lazily must see the same state, so run the real module.
    from ragline.cli import main as _real_main

    _real_main()
