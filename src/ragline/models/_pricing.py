"""What a call costs: a price table per model, overridable per model in config.

Prices are list prices in USD per million tokens (input, output), from
https://openai.com/api/pricing and https://www.anthropic.com/pricing as published in
mid-2025. They change: set ``models.<spec>.price_input_per_mtok`` /
``price_output_per_mtok`` in ragline.yaml to use your own (those always win).

A model with no known price has cost ``None`` ("unknown"), never a made-up 0.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ragline.config import ModelSettings
from ragline.models._base import Messages, ToolCall, Usage

logger = logging.getLogger("ragline.models")


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million input (prompt) and output (completion) tokens."""

    input_per_mtok: float
    output_per_mtok: float


# (input, output) USD per 1M tokens; keys are base model ids without date suffixes.
PRICES: dict[str, Price] = {
    # OpenAI — openai.com/api/pricing, 2025-08
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4o-mini": Price(0.15, 0.60),
    "gpt-4.1": Price(2.00, 8.00),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "gpt-4-turbo": Price(10.00, 30.00),
    "gpt-3.5-turbo": Price(0.50, 1.50),
    "gpt-5": Price(1.25, 10.00),
    "gpt-5-mini": Price(0.25, 2.00),
    "gpt-5-nano": Price(0.05, 0.40),
    "o3": Price(2.00, 8.00),
    "o3-mini": Price(1.10, 4.40),
    "o4-mini": Price(1.10, 4.40),
    # Anthropic — anthropic.com/pricing, 2025-08
    "claude-3-5-sonnet": Price(3.00, 15.00),
    "claude-3-7-sonnet": Price(3.00, 15.00),
    "claude-3-5-haiku": Price(0.80, 4.00),
    "claude-3-haiku": Price(0.25, 1.25),
    "claude-3-opus": Price(15.00, 75.00),
    "claude-sonnet-4": Price(3.00, 15.00),
    "claude-sonnet-4-5": Price(3.00, 15.00),
    "claude-opus-4": Price(15.00, 75.00),
    "claude-opus-4-1": Price(15.00, 75.00),
    "claude-haiku-4-5": Price(1.00, 5.00),
}

FREE_SPECS = frozenset({"local", "extractive"})
# A dated or aliased id prices like its base: gpt-4o-2024-08-06, claude-sonnet-4-20250514,
# claude-3-5-haiku-latest, claude-sonnet-4-0.
_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8}|latest|0)$")
_warned: set[str] = set()


def _table_price(model: str) -> Price | None:
    name = model.lower()
    while True:
        if name in PRICES:
            return PRICES[name]
        shorter = _SUFFIX.sub("", name)
        if shorter == name:
            return None
        name = shorter


def price_for(spec: str, settings: ModelSettings | None = None) -> Price | None:
    """The price of ``spec`` (``openai:gpt-4o-mini``, ``local``, …), or None if unknown.

    Config overrides win; when only one of the two is set, the other comes from the
    table (or is 0 for a model the table does not know).
    """
    if spec.split(":", 1)[0] in FREE_SPECS:
        table: Price | None = Price(0.0, 0.0)
    else:
        table = _table_price(spec.split(":", 1)[1] if ":" in spec else spec)
    if settings is not None and (
        settings.price_input_per_mtok is not None or settings.price_output_per_mtok is not None
    ):
        return Price(
            settings.price_input_per_mtok
            if settings.price_input_per_mtok is not None
            else (table.input_per_mtok if table else 0.0),
            settings.price_output_per_mtok
            if settings.price_output_per_mtok is not None
            else (table.output_per_mtok if table else 0.0),
        )
    if table is None and spec not in _warned:
        _warned.add(spec)
        logger.info(
            "no price known for %s: its cost is reported as unknown; set "
            "models.%s.price_input_per_mtok and price_output_per_mtok in ragline.yaml",
            spec,
            spec,
        )
    return table


def estimate_tokens(text: str) -> int:
    """A rough token count (~4 characters per token) for providers that report none."""
    return (len(text) + 3) // 4


def estimate_usage(messages: Messages, text: str, calls: Sequence[ToolCall] = ()) -> Usage:
    """Estimated usage (``estimated=True``) of a call whose provider reported none.

    The prompt is everything sent — message text and the arguments of earlier tool
    calls — and the completion everything received: ``text`` and the ``calls``' arguments.
    """
    sent = [m.content for m in messages]
    sent += [json.dumps(c.arguments) for m in messages for c in m.tool_calls]
    received = text + "".join(json.dumps(c.arguments) for c in calls)
    return Usage(estimate_tokens("\n".join(sent)), estimate_tokens(received), estimated=True)


def cost_usd(usage: Usage, price: Price | None) -> float | None:
    """USD for ``usage`` at ``price``; None when the price is unknown."""
    if price is None:
        return None
    return (
        usage.prompt_tokens * price.input_per_mtok + usage.completion_tokens * price.output_per_mtok
    ) / 1_000_000
