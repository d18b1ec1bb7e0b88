"""The ``memory:`` section of ``ragline.yaml`` (the agent's long-term and short-term
memory) and the MCP client entries of ``agent.mcp_servers``. Re-exported by
:mod:`ragline.config`.

``memory:`` is top level, not under ``agent:``, because more than the agent reads it:
``ragline memory list|forget`` and ``GET/DELETE /v1/memory`` use the same store.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ragline._config_base import _Strict


class MemorySettings(_Strict):
    """Long-term memory per (tenant, user), and the conversation window."""

    enabled: bool = Field(True, description="remember salient facts per user and recall them")
    k: int = Field(5, ge=1, le=50, description="memories recalled for a question, at most")
    token_budget: int = Field(
        300, ge=16, le=8_000, description="tokens of recalled memories shown to the model, at most"
    )
    min_relevance: float = Field(
        0.3, ge=-1, le=1, description="cosine below which a memory is not recalled"
    )
    half_life_days: float = Field(
        30.0, gt=0, description="recency decay: a memory this old counts half as recent"
    )
    recency_weight: float = Field(
        0.3,
        ge=0,
        le=1,
        description="share of a memory's score that decays with age (0: relevance only)",
    )
    max_items: int = Field(
        500, ge=1, le=100_000, description="memories kept per user; the oldest go first"
    )
    duplicate_similarity: float = Field(
        0.95, gt=0, le=1, description="a new memory this close to a stored one is not stored"
    )
    summarize: Literal["auto", "rules", "llm"] = Field(
        "auto",
        description="what is remembered: rules (the deterministic extractor), llm (a model "
        "summary as well), auto (llm when a real model is configured)",
    )
    summary_model: str | None = Field(
        None, description="the model that summarises (default: the answer model)"
    )
    window_tokens: int = Field(
        1_500,
        ge=64,
        le=200_000,
        description="short-term memory: conversation tokens shown to the model; older turns "
        "are summarised (with a model) or left out",
    )
    window_turns: int = Field(
        50, ge=2, le=1_000, description="conversation turns read back for the window, at most"
    )


class MCPServerSettings(_Strict):
    """One MCP server whose tools the agent may call: a command (stdio) or a URL."""

    command: str | None = Field(None, description="stdio: the program to start")
    args: list[str] = Field(default_factory=list, description="stdio: its arguments")
    env: dict[str, str] = Field(
        default_factory=dict, description="stdio: extra environment variables for it"
    )
    url: str | None = Field(None, description="streamable HTTP: the server's MCP endpoint")
    api_key_env: str | None = Field(
        None, description="streamable HTTP: env var holding a bearer key sent to the server"
    )
    timeout_s: float = Field(30.0, gt=0, le=600, description="per call (list or tool call)")
    tools: list[str] | None = Field(
        None, description="only these of its tools (default: every tool it lists)"
    )

    @model_validator(mode="after")
    def _one_transport(self) -> MCPServerSettings:
        if (self.command is None) == (self.url is None):
            raise ValueError("give either command (stdio) or url (streamable HTTP), not both")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https:// (got {self.url!r})")
        return self


class AgentMCPSettings(_Strict):
    """``agent:`` keys this module owns: the MCP servers whose tools the agent may use."""

    mcp_servers: dict[str, MCPServerSettings] = Field(
        default_factory=dict, description="name → an MCP server (its tools: name__tool)"
    )
