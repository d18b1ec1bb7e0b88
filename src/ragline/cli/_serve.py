"""``ragline serve`` (the HTTP API) and ``ragline keys`` (API keys per tenant).

Only typer is imported at module level (``ragline --help`` must stay fast).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ragline.cli._common import open_project

keys_app = typer.Typer(help="Create and list API keys (stored hashed).", no_args_is_help=True)


def serve(
    host: Annotated[
        str | None, typer.Option("--host", help="Interface (default server.host, 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", help="Port (default server.port, 8000).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, help="Processes (default server.workers, 1)."),
    ] = None,
    access_log: Annotated[
        bool, typer.Option("--access-log", help="Log every request (slower).")
    ] = False,
    openapi: Annotated[
        bool, typer.Option("--openapi", help="Print the OpenAPI schema (JSON) and exit.")
    ] = False,
) -> None:
    """Serve the HTTP API: ask (JSON/SSE), chat, documents, search, feedback, traces,
    OpenAI-compatible /v1/chat/completions, /metrics. Stops cleanly on Ctrl-C/SIGTERM."""
    if openapi:
        import json

        from ragline.server import openapi_schema

        sys.stdout.write(json.dumps(openapi_schema(open_project()), indent=2) + "\n")
        return
    from ragline.server import serve as run

    project = open_project()
    s = project.settings.server
    where = f"http://{host or s.host}:{s.port if port is None else port}"
    sys.stderr.write(f"ragline serving {project.path} on {where} (Ctrl-C stops)\n")
    run(project, host=host, port=port, workers=workers, access_log=access_log)


@keys_app.command("create")
def keys_create(
    tenant: Annotated[str, typer.Option("--tenant", help="The tenant the key belongs to.")],
) -> None:
    """Make a new API key for a tenant: prints it once, stores only its hash."""
    from ragline.server._auth import add_key_to_file, keys_file_path, new_key

    project = open_project()
    key = new_key()
    path = keys_file_path(project.settings, project.path)
    add_key_to_file(path, tenant, key)
    sys.stderr.write(f"added a key for tenant {tenant!r} to {path} (shown once, keep it safe):\n")
    sys.stdout.write(key + "\n")


@keys_app.command("list")
def keys_list() -> None:
    """Tenants and how many keys each has (from env variables and the keys file)."""
    from collections import Counter

    from ragline.server._auth import KeyRing

    project = open_project()
    ring = KeyRing.load(project.settings, project.path)
    counts = Counter(ring.tenant_for_hash(h) for h in ring.hashes())
    if not counts:
        sys.stdout.write("no API keys configured (the server runs open, as the default tenant)\n")
        return
    for tenant, n in sorted(counts.items()):
        sys.stdout.write(f"{tenant}\t{n} key{'s' if n != 1 else ''}\n")
