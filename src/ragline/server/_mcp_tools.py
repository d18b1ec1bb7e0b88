"""The MCP tools of ``ragline mcp`` (see :mod:`ragline.server._mcp`).

This module imports the MCP SDK at the top, so that the SDK can read the tools' type
hints; only :mod:`ragline.server._mcp` imports it, when the command runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from ragline.errors import RaglineError
from ragline.server._mcp import TenantOf, ask_result, document_result, search_result
from ragline.server._schemas import FilterValue

if TYPE_CHECKING:
    from ragline._project import Project


def build_mcp_server(project: Project, tenant_of: TenantOf) -> MCPServer:
    """The MCP server of ``project``; ``tenant_of(headers)`` names the caller's tenant
    (``headers``: the HTTP request's, ``None`` over stdio)."""
    from ragline import __version__

    server: MCPServer = MCPServer(
        "ragline",
        version=__version__,
        instructions="Search this knowledge base, read its documents, and get answers with "
        "numbered citations [n] to its documents.",
        log_level="WARNING",
    )

    async def run(work: Callable[[str], dict[str, Any]], ctx: Context) -> dict[str, Any]:
        try:
            tenant = tenant_of(ctx.headers)
            return await anyio.to_thread.run_sync(lambda: work(tenant))
        except RaglineError as e:
            raise ToolError(str(e)) from None

    @server.tool()
    async def search(
        query: str, ctx: Context, k: int = 5, filters: dict[str, FilterValue] | None = None
    ) -> dict[str, Any]:
        """Search the knowledge base: the best chunks for the query, numbered n = 1, 2, …,
        with document_id, title, section, source, page, score and text. filters: metadata
        the hits must have, e.g. {"doc_type": "finance"} (a list value: any of them)."""
        return await run(lambda t: search_result(project, t, query, k, dict(filters or {})), ctx)

    @server.tool()
    async def ask(
        question: str,
        ctx: Context,
        k: int | None = None,
        filters: dict[str, FilterValue] | None = None,
    ) -> dict[str, Any]:
        """Answer a question from the knowledge base. The answer cites its sources with
        [n] markers; citations lists each n with its document, title, section, source and
        page. abstained is true when the knowledge base does not hold the answer. filters:
        as for search."""
        return await run(lambda t: ask_result(project, t, question, k, dict(filters or {})), ctx)

    @server.tool()
    async def get_document(
        document_id: str, ctx: Context, max_chars: int = 20_000
    ) -> dict[str, Any]:
        """One document of the knowledge base by its document_id (from search or ask):
        title, source, metadata and its text, cut at max_chars."""
        return await run(lambda t: document_result(project, t, document_id, max_chars), ctx)

    return server
