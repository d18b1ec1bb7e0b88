"""The support agent: tool loop, typed tools, limits, loop detection, memory.

The loop: :class:`Agent` (``Project.agent()`` builds one) runs a model over typed
:class:`Tool` objects (:func:`tool` makes one from a Python function), within
:class:`AgentLimits`, watched by a :class:`LoopDetector`; every run ends with an
:class:`AgentRun` carrying its :data:`StopReason`. ``Agent.stream`` yields the events
of :mod:`ragline.agent._events`.

Memory: :class:`AgentMemory` is what the agent loop calls; :class:`LongTermMemory`
implements it on the store's per-user memory, and :func:`conversation_window` is the
short-term, token-budgeted view of a conversation. MCP: :func:`mcp_tools` lists the tools
of a server of ``agent.mcp_servers`` as :class:`MCPTool` (name, description, JSON schema,
``call``), for the agent's tool layer to wrap with its limits and tracing.
"""

from __future__ import annotations

from ragline.agent._agent import SYSTEM_PROMPT, Agent
from ragline.agent._builtins import CitationBook, Handoff, KnowledgeBase, builtin_tools
from ragline.agent._calculator import calculate
from ragline.agent._events import AgentDoneEvent, AgentEvent, ToolCallEvent, ToolResultEvent
from ragline.agent._limits import STOP_REASONS, LoopDetector, Stop, StopReason
from ragline.agent._mcp_client import MCPClient, MCPTool, close_mcp_tools, mcp_tools
from ragline.agent._memory import AgentMemory, LongTermMemory, MemoryHit, render_memories
from ragline.agent._memory_extract import Fact, salient_facts
from ragline.agent._memory_window import ConversationWindow, conversation_window
from ragline.agent._run import AgentLimits, AgentRun
from ragline.agent._tools import Tool, ToolResult, call_tools, tool

__all__ = [
    "STOP_REASONS",
    "SYSTEM_PROMPT",
    "Agent",
    "AgentDoneEvent",
    "AgentEvent",
    "AgentLimits",
    "AgentMemory",
    "AgentRun",
    "CitationBook",
    "ConversationWindow",
    "Fact",
    "Handoff",
    "KnowledgeBase",
    "LongTermMemory",
    "LoopDetector",
    "MCPClient",
    "MCPTool",
    "MemoryHit",
    "Stop",
    "StopReason",
    "Tool",
    "ToolCallEvent",
    "ToolResult",
    "ToolResultEvent",
    "builtin_tools",
    "calculate",
    "call_tools",
    "close_mcp_tools",
    "conversation_window",
    "mcp_tools",
    "render_memories",
    "salient_facts",
    "tool",
]
