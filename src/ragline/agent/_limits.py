"""Run limits and loop detection: why an agent run stops.

Every run ends with one :data:`StopReason`:

- ``completed``: the model answered without asking for a tool;
- ``step_limit``: ``max_steps`` model turns, or ``max_tool_calls`` tool calls, used up;
- ``loop_detected``: see :class:`LoopDetector`;
- ``budget``: ``max_tokens`` or ``max_cost_usd`` spent;
- ``timeout``: ``max_wall_s`` passed;
- ``handoff``: the model handed the conversation to a human;
- ``error``: the model failed (the provider's typed error is in ``detail``);
- ``blocked``: a guard blocked the user's message or the answer (the reasons are in
  ``detail``; the text is the refusal).

:class:`LoopDetector` watches the tool calls while they happen, before they run, and
stops a run that

- makes the *same call* (tool name and arguments, compared as canonical JSON) more
  than ``repeat_limit`` times;
- *oscillates*: the last four turns' calls read A, B, A, B;
- makes *no progress*: the last three turns' tool results were the same (different
  calls that keep returning what the model already has).

It costs a few dictionary look-ups per step (bench/agent_loop.py measures it).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from ragline.models._base import ToolCall

StopReason = Literal[
    "completed", "step_limit", "loop_detected", "budget", "timeout", "handoff", "error", "blocked"
]
STOP_REASONS: tuple[StopReason, ...] = (
    "completed",
    "step_limit",
    "loop_detected",
    "budget",
    "timeout",
    "handoff",
    "error",
    "blocked",
)


@dataclass(frozen=True, slots=True)
class Stop:
    """Why a run stopped: the reason and a sentence saying what happened."""

    reason: StopReason
    detail: str = ""


def call_key(call: ToolCall) -> str:
    """A call's identity: its name and arguments as canonical JSON."""
    args = json.dumps(call.arguments, sort_keys=True, ensure_ascii=False, default=str)
    return f"{call.name}({args})"


@dataclass
class LoopDetector:
    """Stateful per run: :meth:`check_calls` before a turn's calls run, :meth:`check_results`
    after. Each returns a :class:`Stop` when the run should stop, else None."""

    repeat_limit: int = 2
    no_progress_turns: int = 3
    _counts: Counter[str] = field(default_factory=Counter)
    _turns: list[str] = field(default_factory=list)
    _results: list[str] = field(default_factory=list)

    def check_calls(self, calls: Sequence[ToolCall]) -> Stop | None:
        keys = [call_key(c) for c in calls]
        for key in keys:
            self._counts[key] += 1
            if self._counts[key] > self.repeat_limit:
                return Stop(
                    "loop_detected",
                    f"the same tool call {_short(key)} was asked for {self._counts[key]} times",
                )
        self._turns.append("|".join(sorted(keys)))
        t = self._turns
        if len(t) >= 4 and t[-1] == t[-3] and t[-2] == t[-4] and t[-1] != t[-2]:
            return Stop(
                "loop_detected",
                f"the calls oscillate between {_short(t[-2])} and {_short(t[-1])}",
            )
        return None

    def check_results(self, texts: Sequence[str]) -> Stop | None:
        digest = hashlib.blake2b("\x1f".join(sorted(texts)).encode(), digest_size=12).hexdigest()
        self._results.append(digest)
        n = self.no_progress_turns
        if len(self._results) >= n and len(set(self._results[-n:])) == 1:
            return Stop(
                "loop_detected",
                f"no progress: the last {n} turns of tool calls returned the same results",
            )
        return None


def _short(key: str, limit: int = 80) -> str:
    return key if len(key) <= limit else key[: limit - 1] + "…"


__all__ = ["STOP_REASONS", "LoopDetector", "Stop", "StopReason", "call_key"]
