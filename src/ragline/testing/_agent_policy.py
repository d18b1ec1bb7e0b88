"""Scripted agent policies for offline agent evaluation (``ragline eval run --agent``).

:func:`reference_policy` is a deterministic :class:`~ragline.testing.FunctionModel`
that follows each task's expected tool calls (``Case.agent.tools``) in order, calls a
tool again after a tool error, and then answers with what the tools returned and what
memory showed it — never with the case's expected facts. So it checks the harness
end to end: a fact is in its answer only when the knowledge base search, the order
tool, the calculator or long-term memory really produced it. With memory off, the
memory tasks fail; with a broken search, the knowledge tasks fail.

:func:`broken_policy` calls the wrong tool (``current_time``) again and again, so
loop detection stops every run: the agent metrics must score it low.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ragline.models._base import Completion, Message, ToolCall, ToolSpec, Usage
from ragline.store._evals import Case, ExpectedCall
from ragline.testing._models import FunctionModel

_MEMORY_HEADING = "Memory of earlier conversations"


def _turn(messages: list[Message]) -> tuple[str, list[Message], list[str]]:
    """The user's message, the messages of this turn after it, and the memory lines."""
    last = max(i for i, m in enumerate(messages) if m.role == "user")
    memory = [
        line[2:]
        for m in messages[:last]
        if m.role == "system" and m.content.startswith(_MEMORY_HEADING)
        for line in m.content.splitlines()[1:]
    ]
    return messages[last].content, messages[last + 1 :], memory


def _call(step: int, call: ExpectedCall | tuple[str, dict[str, Any]]) -> Completion:
    name, args = (call.name, call.arguments) if isinstance(call, ExpectedCall) else call
    return Completion(
        text="",
        model="reference",
        finish_reason="tool_calls",
        tool_calls=[ToolCall(f"call_{step}", name, dict(args))],
        usage=Usage(50, 10),
        cost_usd=0.0,
    )


def reference_policy(cases: Sequence[Case], *, name: str = "reference") -> FunctionModel:
    """The scripted reference policy for ``cases`` (see the module docstring)."""
    plans = {c.question.strip(): list(c.agent.tools) for c in cases if c.agent is not None}

    def policy(
        messages: list[Message], tools: list[ToolSpec] | None, options: dict[str, Any]
    ) -> Completion | str:
        question, turn, memory = _turn(messages)
        plan = plans.get(question.strip(), [])
        results = [m for m in turn if m.role == "tool"]
        asked = [m for m in turn if m.role == "assistant" and m.tool_calls]
        if results and results[-1].content.startswith('{"error"') and asked:
            last = asked[-1].tool_calls[-1]
            return _call(len(asked), (last.name, last.arguments))  # retry after an error
        done = sum(1 for m in results if not m.content.startswith('{"error"'))
        if done < len(plan):
            return _call(len(asked), plan[done])
        found = [m.content for m in results if not m.content.startswith('{"error"')]
        if not found and not memory:
            return "Noted, thank you."
        parts = [*(f"You told me earlier: {line}" for line in memory), *found]
        return "Here is what I found: " + " ".join(parts)

    return FunctionModel(policy, name=name)


def broken_policy(*, name: str = "broken") -> FunctionModel:
    """A policy that calls the wrong tool in a loop (every run: ``loop_detected``)."""

    def policy(
        messages: list[Message], tools: list[ToolSpec] | None, options: dict[str, Any]
    ) -> Completion | str:
        _, turn, _ = _turn(messages)
        asked = sum(1 for m in turn if m.role == "assistant" and m.tool_calls)
        return _call(asked, ("current_time", {}))

    return FunctionModel(policy, name=name)


__all__ = ["broken_policy", "reference_policy"]
