"""The support agent: tool loop, typed tools, limits, loop detection, memory.

Memory: :class:`AgentMemory` is what the agent loop calls; :class:`LongTermMemory`
implements it on the store's per-user memory, and :func:`conversation_window` is the
short-term, token-budgeted view of a conversation. MCP: :func:`mcp_tools` lists the tools
of a server of ``agent.mcp_servers`` as :class:`MCPTool` (name, description, JSON schema,
``call``), for the agent's tool layer to wrap with its limits and tracing.
"""

from __future__ import annotations

from ragline.agent._mcp_client import MCPClient, MCPTool, close_mcp_tools, mcp_tools
from ragline.agent._memory import AgentMemory, LongTermMemory, MemoryHit, render_memories
from ragline.agent._memory_extract import Fact, salient_facts
from ragline.agent._memory_window import ConversationWindow, conversation_window

__all__ = [
    "AgentMemory",
    "ConversationWindow",
    "Fact",
    "LongTermMemory",
    "MCPClient",
    "MCPTool",
    "MemoryHit",
    "close_mcp_tools",
    "conversation_window",
    "mcp_tools",
    "render_memories",
    "salient_facts",
]
