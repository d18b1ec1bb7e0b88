"""``ragline serve`` (the HTTP API) and ``ragline keys`` (API keys per tenant).

Only typer is imported at module level (``ragline --help`` must stay fast).
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from ragline.cli._common import open_project

keys_app = typer.Typer(
    help="Create, list, revoke and rotate API keys (stored hashed; no restart needed).",
    no_args_is_help=True,
)


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
    from ragline.ui import serve as run

    project = open_project()
    s = project.settings.server
    where = f"http://{host or s.host}:{s.port if port is None else port}"
    sys.stderr.write(f"ragline serving {project.path} on {where} (Ctrl-C stops)\n")
    run(project, host=host, port=port, workers=workers, access_log=access_log)


_SCOPE_HELP = "What the key may do: ask (default), ingest, metrics, admin; repeat for several."


@keys_app.command("create")
def keys_create(
    tenant: Annotated[str, typer.Option("--tenant", help="The tenant the key belongs to.")],
    name: Annotated[
        str, typer.Option("--name", help="A name to refer to the key by (e.g. web-frontend).")
    ] = "",
    scope: Annotated[list[str] | None, typer.Option("--scope", help=_SCOPE_HELP)] = None,
    expires: Annotated[
        str | None,
        typer.Option("--expires", help="Stop working after this long (30d, 12h) or at a time."),
    ] = None,
) -> None:
    """Make a new API key for a tenant: prints it once, stores only its hash.

    A running server accepts it within server.keys_reload_s seconds, no restart."""
    from ragline._time import parse_until
    from ragline.server._keys_file import DEFAULT_SCOPES, create_key, keys_file_path

    project = open_project()
    path = keys_file_path(project.settings, project.path)
    until = parse_until(expires) if expires else None
    key, entry = create_key(
        path, tenant, name=name, scopes=scope or sorted(DEFAULT_SCOPES), expires=until
    )
    scopes = ", ".join(sorted(entry.scopes))
    sys.stderr.write(
        f"added key {entry.id} for tenant {tenant!r} (scopes: {scopes}) to {path}; "
        "it is shown once, keep it safe:\n"
    )
    sys.stdout.write(key + "\n")


@keys_app.command("list")
def keys_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every key: id, tenant, name, scopes, created, last used, expiry (never the key)."""
    import time

    from ragline.cli._common import print_json
    from ragline.server._auth import KeyRing
    from ragline.server._keys_file import SCOPES, iso, keys_file_path, read_usage

    project = open_project()
    ring = KeyRing.load(project.settings, project.path)
    used = read_usage(keys_file_path(project.settings, project.path))
    now = time.time()
    rows: list[dict[str, Any]] = [
        {
            "id": k.id,
            "tenant": k.tenant,
            "name": k.name,
            "scopes": sorted(k.scopes, key=SCOPES.index),
            "created": iso(k.created),
            "last_used": iso(used.get(k.id)),
            "expires": iso(k.expires),
            "status": "expired" if k.expired(now) else "active",
            "source": k.source,
        }
        for k in sorted(ring.keys(), key=lambda k: (k.tenant, k.created or 0.0, k.id))
    ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        sys.stdout.write("no API keys configured (the server runs open, as the default tenant)\n")
        return
    header = ("ID", "TENANT", "NAME", "SCOPES", "CREATED", "LAST USED", "EXPIRES", "SOURCE")
    lines = [header]
    for r in rows:
        expires = _short(r["expires"])
        if r["status"] == "expired":
            expires += " (expired)"
        lines.append(
            (
                r["id"],
                r["tenant"],
                r["name"] or "-",
                ",".join(r["scopes"]),
                _short(r["created"]),
                _short(r["last_used"], "never"),
                expires,
                r["source"],
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        sys.stdout.write("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
        sys.stdout.write("\n")


def _short(when: str | None, missing: str = "-") -> str:
    """``2026-12-02T19:40:00Z`` → ``2026-12-02 19:40Z``."""
    return f"{when[:10]} {when[11:16]}Z" if when else missing


@keys_app.command("revoke")
def keys_revoke(
    key: Annotated[str, typer.Argument(help="The key's id (or a unique prefix) or its name.")],
) -> None:
    """Remove a key; a running server refuses it within server.keys_reload_s seconds."""
    from ragline.server._keys_file import keys_file_path, revoke_key

    project = open_project()
    path = keys_file_path(project.settings, project.path)
    _not_an_env_key(project, key)
    gone = revoke_key(path, key)
    label = f" ({gone.name})" if gone.name else ""
    sys.stderr.write(f"revoked key {gone.id}{label} of tenant {gone.tenant!r}\n")


@keys_app.command("rotate")
def keys_rotate(
    key: Annotated[str, typer.Argument(help="The key's id (or a unique prefix) or its name.")],
    grace: Annotated[
        str,
        typer.Option("--grace", help="How long the old key keeps working (0: stop it now)."),
    ] = "24h",
) -> None:
    """Replace a key: prints a new one (same tenant, name, scopes); the old one works for
    the grace period, then stops."""
    from ragline._time import parse_duration
    from ragline.server._keys_file import iso, keys_file_path, rotate_key

    project = open_project()
    path = keys_file_path(project.settings, project.path)
    _not_an_env_key(project, key)
    grace_s = parse_duration(grace, option="--grace")
    plain, fresh, old = rotate_key(path, key, grace_s=grace_s)
    sys.stderr.write(
        f"key {old.id} of tenant {old.tenant!r} works until {iso(old.expires)}; "
        f"its replacement {fresh.id} is shown once, keep it safe:\n"
    )
    sys.stdout.write(plain + "\n")


def _not_an_env_key(project: Any, ref: str) -> None:
    from ragline.errors import InputError
    from ragline.server._auth import KeyRing

    for k in KeyRing.env_keys(project.settings):
        if k.id == ref or (len(ref) >= 6 and k.id.startswith(ref)):
            raise InputError(
                f"key {k.id} comes from the variable {k.source.removeprefix('env ')}",
                hint="remove it from that variable and restart the server",
            )
