"""The support agent: tool loop, typed tools, limits, loop detection, memory.

Memory (this module's part so far): :class:`AgentMemory` is what the agent loop calls;
:class:`LongTermMemory` implements it on the store's per-user memory, and
:func:`conversation_window` is the short-term, token-budgeted view of a conversation.
"""

from __future__ import annotations

from ragline.agent._memory import AgentMemory, LongTermMemory, MemoryHit, render_memories
from ragline.agent._memory_extract import Fact, salient_facts
from ragline.agent._memory_window import ConversationWindow, conversation_window

__all__ = [
    "AgentMemory",
    "ConversationWindow",
    "Fact",
    "LongTermMemory",
    "MemoryHit",
    "conversation_window",
    "render_memories",
    "salient_facts",
]
