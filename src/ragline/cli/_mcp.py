"""``ragline mcp``: serve the knowledge base as MCP tools (search, ask, get_document).

Over stdio by default (a desktop assistant or another agent starts the command), or
over streamable HTTP with ``--http`` (bearer API keys, as the REST server). The server
itself is :mod:`ragline.server._mcp`; the MCP SDK is imported when the command runs.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ragline.cli._common import TenantOpt, open_project


def mcp(
    tenant: TenantOpt = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar="RAGLINE_API_KEY",
            help="stdio: serve this key's tenant (a wrong key stops the start).",
        ),
    ] = None,
    http: Annotated[
        bool, typer.Option("--http", help="Serve streamable HTTP at /mcp instead of stdio.")
    ] = False,
    host: Annotated[str, typer.Option("--host", help="--http: the address to listen on.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option("--port", help="--http: the port.", min=1, max=65535)] = 8001,
) -> None:
    """Serve the knowledge base as MCP tools: search, ask (with citations), get_document."""
    from ragline.errors import InputError
    from ragline.server._mcp import require_sdk, run_http, run_stdio, stdio_tenant

    require_sdk()
    if http and (tenant is not None or api_key is not None):
        raise InputError(
            "--tenant and --api-key are for stdio; over HTTP each request's key names the tenant",
            hint="drop them, and send Authorization: Bearer <key> with each request",
        )
    with open_project() as project:
        if http:
            run_http(project, host=host, port=port)
        else:
            run_stdio(project, stdio_tenant(project, tenant=tenant, api_key=api_key))
