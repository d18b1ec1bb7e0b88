"""The ``agent:`` section of ``ragline.yaml``: the support agent's model, tools and limits.
Re-exported by :mod:`ragline.config`.

Every run is bounded by all of these limits at once; the first one reached stops it
with a typed stop reason (see :mod:`ragline.agent._limits`)::

    agent:
      model: openai:gpt-4o-mini        # default: the answer model (``model:``)
      max_steps: 8                      # model turns
      max_tool_calls: 16
      max_wall_s: 60
      max_tokens: 20000                 # prompt + completion, all turns together
      max_cost_usd: 0.05                # only checked when the model has a price
      tool_timeout_s: 10
      tools: [mycompany.tools:lookup_order]
      http_get: {allow: [status.example.com]}   # off by default: see _config_http_get
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from ragline._config_http_get import HttpGetSettings
from ragline._config_memory import AgentMCPSettings

#: the built-in tools, all offered by default
BUILTIN_TOOLS = (
    "search_knowledge_base",
    "get_document",
    "calculator",
    "current_time",
    "handoff_to_human",
)
_TOOL_PATH = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*\Z")


class AgentSettings(AgentMCPSettings):
    """``agent:`` — model, tools, limits; ``mcp_servers`` from :mod:`ragline._config_memory`."""

    model: str | None = Field(
        None, description="the model that calls tools (default: the answer model)"
    )
    max_steps: int = Field(8, ge=1, le=100, description="model turns per run, at most")
    max_tool_calls: int = Field(16, ge=0, le=500, description="tool calls per run, at most")
    max_wall_s: float = Field(60.0, gt=0, le=3_600, description="seconds per run, at most")
    max_tokens: int = Field(
        20_000, ge=64, le=10_000_000, description="prompt + completion tokens per run, at most"
    )
    max_cost_usd: float | None = Field(
        None, gt=0, description="cost per run, at most (checked when the model has a price)"
    )
    tool_timeout_s: float = Field(10.0, gt=0, le=600, description="per tool call")
    max_result_chars: int = Field(
        8_000, ge=200, le=1_000_000, description="a tool result longer than this is cut"
    )
    repeat_limit: int = Field(
        2,
        ge=1,
        le=20,
        description="the same tool call (name and arguments) this many times, at most",
    )
    builtins: list[str] = Field(
        default_factory=lambda: list(BUILTIN_TOOLS), description="the built-in tools offered"
    )
    tools: list[str] = Field(
        default_factory=list, description="user tools: module.path:function (a typed function)"
    )
    search_k: int = Field(5, ge=1, le=50, description="search_knowledge_base: default hits")
    http_get: HttpGetSettings = Field(
        default_factory=HttpGetSettings,
        description="the http_get tool: offered only when allow lists hosts",
    )

    @field_validator("builtins")
    @classmethod
    def _known_builtins(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in BUILTIN_TOOLS]
        if unknown:
            raise ValueError(
                f"unknown built-in tool(s) {unknown}; the built-ins are {list(BUILTIN_TOOLS)}"
            )
        return value

    @field_validator("tools")
    @classmethod
    def _tool_paths(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not _TOOL_PATH.match(v)]
        if bad:
            raise ValueError(f"tool paths must look like package.module:function, not {bad}")
        return value
