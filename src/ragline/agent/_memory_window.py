"""Short-term memory: the part of a stored conversation the model sees, within a token budget.

:func:`conversation_window` reads the last ``max_turns`` turns of a conversation from
the :class:`~ragline.store.ConversationStore` (the one ``ragline chat`` and
``POST /v1/chat`` write) and keeps the newest turns that fit in ``token_budget``
(estimated at 4 characters a token). What does not fit is *older*:

- with a ``summarizer`` model, the older turns are summarised in one call into at most a
  quarter of the budget (the newest turns then get the other three quarters), and the
  summary is shown before them;
- without one — or when that call fails — they are left out, and ``omitted`` says how
  many, so a trace can show that the model saw a shortened conversation.

The newest turn is always kept, cut to the budget if it alone is longer. Chat itself
reads a fixed number of user turns for follow-up rewriting
(:data:`ragline.answer._chat.HISTORY_TURNS`); the agent, which sends whole turns to its
model, uses this window instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ragline.errors import InputError
from ragline.models._base import Message
from ragline.models._pricing import estimate_tokens

if TYPE_CHECKING:
    from ragline.models._base import Model
    from ragline.store._conversations import ConversationStore, Turn

log = logging.getLogger("ragline.agent.memory")

SUMMARY_SHARE = 0.25  #: of the budget, at most, for the summary of older turns

WINDOW_SUMMARY_PROMPT = (
    "Summarise the earlier part of this support conversation for the assistant who "
    "continues it: what the user wants, facts they gave (order numbers, products, "
    "dates), what was promised, and what is still open. Be brief and factual."
)


@dataclass(frozen=True, slots=True)
class ConversationWindow:
    turns: list[Turn]  # the newest turns that fit, oldest first
    summary: str | None = None  # of the older turns, when a model summarised them
    omitted: int = 0  # older turns neither shown nor summarised
    summarized: int = 0  # older turns the summary covers
    tokens: int = 0  # estimated tokens of the turns and the summary
    notes: list[str] = field(default_factory=list)  # e.g. why there is no summary

    def messages(self) -> list[Message]:
        """The window as chat messages: the summary (a system message), then the turns."""
        out = []
        if self.summary:
            out.append(Message("system", f"Summary of the earlier conversation:\n{self.summary}"))
        out += [Message(t.role, t.content) for t in self.turns]
        return out


def _fit(turns: list[Turn], budget: int, count: Callable[[str], int]) -> tuple[int, int]:
    """How many of the newest ``turns`` fit in ``budget``, and their tokens."""
    used, kept = 0, 0
    for turn in reversed(turns):
        cost = count(turn.content)
        if used + cost > budget:
            break
        used += cost
        kept += 1
    return kept, used


def conversation_window(
    store: ConversationStore,
    tenant: str,
    conversation_id: str,
    *,
    token_budget: int,
    max_turns: int = 50,
    summarizer: Model | None = None,
    count_tokens: Callable[[str], int] = estimate_tokens,
) -> ConversationWindow:
    """The conversation's window (see the module docstring); empty for an unknown id."""
    from dataclasses import replace

    if not isinstance(token_budget, int) or token_budget < 16:
        raise InputError(f"token_budget must be at least 16 tokens, not {token_budget!r}")
    if not isinstance(max_turns, int) or max_turns < 1:
        raise InputError(f"max_turns must be a positive whole number, not {max_turns!r}")
    turns = store.turns(tenant, conversation_id, last=max_turns)
    if not turns:
        return ConversationWindow([])
    kept, used = _fit(turns, token_budget, count_tokens)
    if kept == len(turns):
        return ConversationWindow(list(turns), tokens=used)
    notes: list[str] = []
    summary: str | None = None
    budget = token_budget
    if summarizer is not None:
        share = max(8, int(token_budget * SUMMARY_SHARE))
        budget = token_budget - share
        kept, used = _fit(turns, budget, count_tokens)
        older = turns[: len(turns) - max(kept, 1)]
        summary = _summarize(summarizer, older, share, notes)
        if summary is None:  # the model failed: the whole budget goes to the turns again
            budget = token_budget
            kept, used = _fit(turns, budget, count_tokens)
    if kept == 0:  # the newest turn alone is over the budget: keep its start
        newest = turns[-1]
        content = newest.content[: max(1, budget * 4)]
        window = [replace(newest, content=content)]
        used = count_tokens(content)
        notes.append(f"the newest turn was cut to {budget} tokens")
    else:
        window = list(turns[len(turns) - kept :])
    older_count = len(turns) - len(window)
    tokens = used + (count_tokens(summary) if summary else 0)
    if summary:
        return ConversationWindow(window, summary, 0, older_count, tokens, notes)
    if summarizer is None:
        notes.append(f"{older_count} older turn(s) left out: no model to summarise them")
    return ConversationWindow(window, None, older_count, 0, tokens, notes)


def _summarize(model: Model, older: list[Turn], tokens: int, notes: list[str]) -> str | None:
    text = "\n".join(f"{t.role}: {t.content}" for t in older)
    messages = [Message("system", WINDOW_SUMMARY_PROMPT), Message("user", text)]
    try:
        summary = model.complete(messages, max_tokens=tokens, temperature=0).text.strip()
    except Exception as e:  # a summary must never break the answer
        log.warning("conversation summary failed: %s: %s", type(e).__name__, e)
        notes.append(f"summary of {len(older)} older turn(s) failed ({type(e).__name__})")
        return None
    if not summary:
        notes.append("the model returned an empty summary")
        return None
    return summary[: tokens * 4]
