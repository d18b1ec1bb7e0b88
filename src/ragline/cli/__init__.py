"""The ``ragline`` command: a thin layer over :class:`ragline.Project`.

This module builds the app: the global options, then every command and command
group in the order ``ragline --help`` lists them. The commands live one group per
module (``_project_cmds``, ``_search``, ``_ask``, ``_chat``, ``_doctor``, ``_serve``,
``_traces``, ``_feedback``, ``_eval``, ``_guards``, ``_store``, ``_postgres``, ``_monitor``,
``_alerts``, ``_memory``, ``_tickets``, ``_prompts``, ``_mcp``), and share what they
need through ``_common``. Only typer is imported at start-up; everything else is imported by the
command that needs it, so ``ragline --help`` stays fast. (``_replay`` holds replay and routing.)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ragline.cli import _monitor_rules  # noqa: F401  # registers monitor status, run
from ragline.cli._alerts import alerts_app
from ragline.cli._ask import ask
from ragline.cli._chat import chat
from ragline.cli._common import check_config_flags, state
from ragline.cli._doctor import doctor
from ragline.cli._eval import eval_app
from ragline.cli._experiments import experiments_app
from ragline.cli._feedback import cases_app, feedback_app
from ragline.cli._guards import guards_app
from ragline.cli._mcp import mcp
from ragline.cli._memory import memory_app
from ragline.cli._monitor import monitor_app
from ragline.cli._notifiers import notifiers_app
from ragline.cli._postgres import postgres_app
from ragline.cli._project_cmds import ingest, init, migrate, status
from ragline.cli._prompts import prompts_app
from ragline.cli._replay import replay, routing_app
from ragline.cli._search import search
from ragline.cli._serve import keys_app, serve
from ragline.cli._store import store_app
from ragline.cli._tickets import tickets_app
from ragline.cli._traces import traces_app

__all__ = ["app", "main"]

app = typer.Typer(
    name="ragline",
    help="Ingest documents, search them with hybrid retrieval, and answer questions "
    "with citations — offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


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
    state.project_dir = project
    state.config_file = config
    state.overrides = {"store": store, "embedder": embedder}
    check_config_flags(store, embedder)


for command in (init, ingest, search, ask, chat, status, migrate, doctor, serve, replay):
    app.command()(command)
app.add_typer(traces_app, name="traces")
app.add_typer(feedback_app, name="feedback")
app.add_typer(cases_app, name="cases")
app.add_typer(eval_app, name="eval")
app.add_typer(keys_app, name="keys")
app.add_typer(guards_app, name="guards")
app.add_typer(notifiers_app, name="notifiers")
app.add_typer(routing_app, name="routing")
app.add_typer(store_app, name="store")
app.add_typer(postgres_app, name="postgres")
app.add_typer(monitor_app, name="monitor")
app.add_typer(alerts_app, name="alerts")
app.add_typer(memory_app, name="memory")
app.add_typer(tickets_app, name="tickets")
app.add_typer(prompts_app, name="prompts")
app.add_typer(experiments_app, name="experiments")
app.command()(mcp)


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
