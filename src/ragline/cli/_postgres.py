"""``ragline postgres …``: a local PostgreSQL for the project, and roles on a real one.

``start``/``stop``/``status``/``url`` drive the project's own server
(:class:`ragline.store.LocalPostgres`: the ``pgserver`` wheel's binaries, data in
``.ragline/postgres``); ``create-role`` makes an ordinary login role on an existing
server (:func:`ragline.store.create_postgres_role`). Without the optional
``postgres-local`` extra, the local-server commands print one line saying how to
install it. Only typer is imported at module level.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ragline.cli._common import new_console, redacted, state

if TYPE_CHECKING:
    from ragline.store import LocalPostgres

postgres_app = typer.Typer(
    help="A local PostgreSQL + pgvector server for the project (start, stop, status, "
    "url), and an ordinary role on an existing server (create-role).",
    no_args_is_help=True,
)


def _local() -> LocalPostgres:
    from ragline.errors import ConfigError
    from ragline.store import LocalPostgres
    from ragline.store._pgserver import missing_requirement

    problem = missing_requirement()
    if problem is not None:
        raise ConfigError(problem)
    return LocalPostgres(state.project_dir)


@postgres_app.command()
def start() -> None:
    """Start the project's PostgreSQL (created on first use in .ragline/postgres)."""
    local = _local()
    report = local.start()
    console = new_console()
    if report.already_running:
        console.print(f"already running: {redacted(report.url)}")
    else:
        made = " (new server, role ragline, database ragline)" if report.created else ""
        console.print(f"started PostgreSQL{made}, data in {report.data_dir}")
    console.print(
        f"store URL: {redacted(report.url)} (ragline postgres url prints it with its "
        "password, for store: in ragline.yaml)"
    )


@postgres_app.command()
def stop() -> None:
    """Stop the project's PostgreSQL."""
    stopped = _local().stop()
    new_console().print("stopped" if stopped else "not running")


@postgres_app.command()
def status() -> None:
    """Say whether the project's PostgreSQL is running (exit 1 when it is not)."""
    local = _local()
    console = new_console()
    if local.load() is None:
        console.print("not created (run ragline postgres start)")
        raise typer.Exit(1)
    if local.running():
        console.print(f"running: {redacted(local.url())}, data in {local.data_dir()}")
        return
    console.print(f"stopped (ragline postgres start), data in {local.data_dir()}")
    raise typer.Exit(1)


@postgres_app.command()
def url() -> None:
    """Print the URL of the project's PostgreSQL (an ordinary role): the value for store:."""
    import sys

    sys.stdout.write(_local().url() + "\n")


@postgres_app.command("create-role")
def create_role(
    admin_url: Annotated[
        str, typer.Argument(help="A superuser's URL, e.g. postgresql://postgres:pw@db:5432/.")
    ],
    role: Annotated[str, typer.Option("--role", help="Name of the new role.")] = "ragline",
    database: Annotated[
        str | None,
        typer.Option(
            "--database",
            help="Database for ragline's tables (created, owned by the role, when missing; "
            "default: the URL's).",
        ),
    ] = None,
    password_env: Annotated[
        str | None,
        typer.Option(
            "--password-env",
            help="Environment variable holding the role's password (default: generated).",
        ),
    ] = None,
    index_search: Annotated[
        bool,
        typer.Option(
            "--index-search",
            help="Also mark @@ and @> LEAKPROOF in the database, so keyword search uses "
            "its indexes under row-level security.",
        ),
    ] = False,
) -> None:
    """Create an ordinary login role (no superuser, no BYPASSRLS) and print its URL."""
    import os
    import sys

    from ragline.errors import ConfigError

    password = None
    if password_env:
        password = os.environ.get(password_env)
        if not password:
            raise ConfigError(
                f"environment variable {password_env} is not set",
                hint="export it, or leave --password-env out to generate a password",
            )
    import importlib.util

    if importlib.util.find_spec("psycopg") is None:
        raise ConfigError("create-role needs psycopg", hint="pip install 'ragline[postgres]'")
    from ragline.store import create_postgres_role

    made = create_postgres_role(
        admin_url, role, password=password, database=database, index_search=index_search
    )
    sys.stderr.write(f"created role {role}: put this URL in store: (it holds the password)\n")
    sys.stdout.write(made + "\n")
