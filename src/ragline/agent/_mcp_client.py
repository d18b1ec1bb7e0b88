"""The agent's side of MCP: the tools of an MCP server, as plain data with a callable.

``agent.mcp_servers`` in ``ragline.yaml`` names MCP servers — a command to start
(stdio) or a URL (streamable HTTP)::

    agent:
      mcp_servers:
        kb:                                   # tools become kb__search, kb__ask, …
          command: ragline
          args: [-C, /srv/other-kb, mcp, --tenant, acme]
        crm:
          url: https://crm.internal/mcp
          api_key_env: CRM_MCP_KEY           # sent as Authorization: Bearer …
          tools: [lookup_order]               # only these (default: all it lists)
          timeout_s: 20

:func:`mcp_tools` connects to one server (official ``mcp`` SDK, ``pip install
'ragline[mcp]'``), lists its tools and returns each as an :class:`MCPTool`: its name,
description and JSON schema as the server declares them, and ``call(arguments)`` that
calls it and returns plain data — the tool's structured result (a ``dict``) when it
gives one, else its text. The connection stays open (one session in a background
thread, so ``call`` is an ordinary blocking function) until :meth:`MCPClient.close`,
or the end of the process.

What is left to the agent's tool layer: it wraps each :class:`MCPTool` like a built-in
tool, with the run's limits (steps, tool calls, time, per-tool timeout), loop detection
and a span per call. Every failure here is an :class:`~ragline.errors.MCPToolError`
(server unreachable or refusing the key, tool error, timeout after ``timeout_s``,
a connection lost), with the server's own message, for the agent to hand back to the
model as a structured tool error; nothing here retries.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import threading
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ragline.errors import ConfigError, MCPToolError

if TYPE_CHECKING:
    from ragline.config import MCPServerSettings

log = logging.getLogger("ragline.agent.mcp")

INSTALL_HINT = "pip install 'ragline[mcp]' (the official MCP SDK)"
_NAME = re.compile(r"[^A-Za-z0-9_-]")

Result = str | dict[str, Any]


@dataclass(frozen=True)
class MCPTool:
    """One tool of an MCP server, ready to offer to a model."""

    name: str  # ``<server>__<tool>``: unique across servers, a valid OpenAI tool name
    tool: str  # the name the server gave it
    server: str  # the ``agent.mcp_servers`` entry it comes from
    description: str
    parameters: dict[str, Any]  # the tool's JSON schema (its ``inputSchema``)
    call: Callable[[dict[str, Any]], Result] = field(repr=False, compare=False)
    client: MCPClient | None = field(default=None, repr=False, compare=False)  # its session


def qualified_name(server: str, tool: str) -> str:
    """``server__tool`` with characters outside ``[A-Za-z0-9_-]`` as ``_``, ≤ 64 chars."""
    return _NAME.sub("_", f"{server}__{tool}")[:64]


def _result(result: Any) -> Result:
    """A ``CallToolResult`` as plain data: the structured content, else its text."""
    structured = getattr(result, "structured_content", None)
    if isinstance(structured, dict):
        return structured
    parts = []
    for block in getattr(result, "content", None) or []:
        text = getattr(block, "text", None)
        if isinstance(text, str):
            parts.append(text)
        else:
            mime = getattr(block, "mime_type", None) or getattr(block, "type", "content")
            parts.append(f"[{mime} omitted]")
    return "\n".join(parts)


def _error_text(result: Any) -> str:
    text = _result(result)
    return text if isinstance(text, str) else str(text)


class MCPClient:
    """One open session with an MCP server (see the module docstring)."""

    def __init__(
        self,
        name: str,
        spec: MCPServerSettings,
        *,
        environ: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> None:
        import importlib.util

        if importlib.util.find_spec("mcp") is None:
            raise ConfigError(
                f"agent.mcp_servers.{name}: the MCP SDK is not installed", hint=INSTALL_HINT
            )
        self.name = name
        self.spec = spec
        self._environ = os.environ if environ is None else environ
        self._cwd = cwd
        self._lock = threading.Lock()
        self._stack = ExitStack()
        self._closed = False
        try:
            self._connect()
        except BaseException as e:
            self._stack.close()
            if isinstance(e, MCPToolError | ConfigError):
                raise
            raise MCPToolError(
                f"cannot connect to MCP server {name!r} ({self.where}): {_describe(e)}",
                server=name,
                hint="check the command or URL in agent.mcp_servers, and its key",
            ) from None
        atexit.register(self.close)

    @property
    def where(self) -> str:
        spec = self.spec
        return spec.url if spec.url is not None else " ".join([spec.command or "", *spec.args])

    def _server(self) -> Any:
        spec = self.spec
        if spec.command is not None:
            from mcp import StdioServerParameters

            return StdioServerParameters(
                command=spec.command,
                args=list(spec.args),
                env=dict(spec.env) or None,
                cwd=self._cwd,
            )
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        headers: dict[str, str] = {}
        if spec.api_key_env is not None:
            key = self._environ.get(spec.api_key_env)
            if not key:
                raise ConfigError(
                    f"agent.mcp_servers.{self.name}.api_key_env: {spec.api_key_env} is not set",
                    hint=f"export {spec.api_key_env}=<the server's API key>",
                )
            headers["Authorization"] = f"Bearer {key}"
        client = httpx2.AsyncClient(headers=headers, timeout=spec.timeout_s)
        assert spec.url is not None
        return streamable_http_client(spec.url, http_client=client)

    def _connect(self) -> None:
        from anyio.from_thread import start_blocking_portal
        from mcp import Client

        server = self._server()
        self._portal = self._stack.enter_context(start_blocking_portal())
        client = Client(server, read_timeout_seconds=self.spec.timeout_s)
        self._client = self._stack.enter_context(self._portal.wrap_async_context_manager(client))

    def _run(self, what: str, tool: str, make: Callable[[], Any]) -> Any:
        """Run the coroutine ``make()`` on the session, within ``timeout_s``."""
        import anyio

        timeout = self.spec.timeout_s

        async def bounded() -> Any:
            with anyio.fail_after(timeout):
                return await make()

        with self._lock:
            if self._closed:
                raise MCPToolError(
                    f"the connection to MCP server {self.name!r} is closed", server=self.name
                )
            try:
                return self._portal.call(bounded)
            except TimeoutError:
                raise MCPToolError(
                    f"MCP server {self.name!r}: {what} took longer than {timeout:g} s",
                    server=self.name,
                    tool=tool,
                    hint=f"raise agent.mcp_servers.{self.name}.timeout_s, or check the server",
                ) from None
            except MCPToolError:
                raise
            except Exception as e:
                raise MCPToolError(
                    f"MCP server {self.name!r}: {what} failed: {_describe(e)}",
                    server=self.name,
                    tool=tool,
                ) from None

    def tools(self) -> list[MCPTool]:
        """The server's tools (only those of ``tools:`` when it is set)."""
        listed = self._run("listing tools", "", lambda: self._client.list_tools()).tools
        by_name = {t.name: t for t in listed}
        wanted = self.spec.tools
        if wanted is not None:
            missing = sorted(set(wanted) - set(by_name))
            if missing:
                raise ConfigError(
                    f"agent.mcp_servers.{self.name}.tools: the server has no tool "
                    f"{', '.join(map(repr, missing))}",
                    hint=f"it lists: {', '.join(sorted(by_name)) or 'no tools'}",
                )
            listed = [by_name[n] for n in wanted]
        return [
            MCPTool(
                name=qualified_name(self.name, t.name),
                tool=t.name,
                server=self.name,
                description=t.description or "",
                parameters=dict(t.input_schema or {"type": "object", "properties": {}}),
                call=self._caller(t.name),
                client=self,
            )
            for t in listed
        ]

    def _caller(self, tool: str) -> Callable[[dict[str, Any]], Result]:
        def call(arguments: dict[str, Any]) -> Result:
            return self.call(tool, arguments)

        call.__name__ = qualified_name(self.name, tool)
        return call

    def call(self, tool: str, arguments: dict[str, Any]) -> Result:
        """Call ``tool`` with ``arguments``: its structured result or its text.

        :class:`MCPToolError` when the tool reports an error (``isError``), the call
        times out or the session is gone.
        """
        if not isinstance(arguments, dict):
            raise MCPToolError(
                f"arguments of {tool!r} must be a JSON object, not {type(arguments).__name__}",
                server=self.name,
                tool=tool,
            )
        result = self._run(
            f"tool {tool!r}", tool, lambda: self._client.call_tool(tool, dict(arguments))
        )
        if getattr(result, "is_error", False):
            raise MCPToolError(
                f"MCP tool {tool!r} of {self.name!r} failed: {_error_text(result)}",
                server=self.name,
                tool=tool,
            )
        return _result(result)

    def close(self) -> None:
        """End the session (a stdio server process exits); safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            self._stack.close()
        except BaseException as e:  # closing a dead session: nothing left to lose
            log.debug("closing MCP server %r: %s", self.name, _describe(e))

    def __enter__(self) -> MCPClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _describe(error: BaseException) -> str:
    """The innermost messages of an error (the SDK raises task-group exception groups)."""
    if isinstance(error, BaseExceptionGroup):
        return "; ".join(_describe(e) for e in error.exceptions)
    text = str(error) or type(error).__name__
    return f"{type(error).__name__}: {text}" if text != type(error).__name__ else text


def mcp_tools(
    spec: MCPServerSettings,
    *,
    name: str = "mcp",
    environ: Mapping[str, str] | None = None,
    cwd: str | None = None,
) -> list[MCPTool]:
    """The tools of the MCP server ``spec`` (an ``agent.mcp_servers`` entry called
    ``name``), connected now; the session stays open until :func:`close_mcp_tools` (or
    the end of the process)."""
    client = MCPClient(name, spec, environ=environ, cwd=cwd)
    try:
        return client.tools()
    except BaseException:
        client.close()
        raise


def close_mcp_tools(tools: list[MCPTool]) -> None:
    """Close the sessions behind tools that :func:`mcp_tools` returned."""
    for client in {id(t.client): t.client for t in tools if t.client is not None}.values():
        client.close()
