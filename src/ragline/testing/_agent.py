"""Agent test helpers: a fake order system for the sample knowledge base, and scripted
tool-calling turns for :class:`~ragline.testing.FakeModel`.

>>> from ragline.testing import FakeModel, tool_turn
>>> model = FakeModel([tool_turn(("lookup_order", {"order_id": 1042})), "Delivered [1]."])

``lookup_order`` answers for the orders in :data:`FAKE_ORDERS` (Helio bikes, as in
``examples/sample-kb``) and raises :class:`~ragline.errors.ToolError` for any other
number, so a test sees the structured tool error reach the model.
"""

from __future__ import annotations

from typing import Any

from ragline.agent._tools import Tool, tool
from ragline.errors import ToolError
from ragline.models._base import Completion, ToolCall, Usage

FAKE_ORDERS: dict[int, dict[str, Any]] = {
    1042: {
        "order_id": 1042,
        "product": "Helio City e-bike",
        "status": "delivered",
        "ordered": "2026-03-02",
        "delivered": "2026-03-09",
        "price_eur": 2499.0,
    },
    1043: {
        "order_id": 1043,
        "product": "Helio Trail e-bike",
        "status": "shipped",
        "ordered": "2026-11-20",
        "delivered": None,
        "price_eur": 3299.0,
    },
    1044: {
        "order_id": 1044,
        "product": "Spare battery 500 Wh",
        "status": "processing",
        "ordered": "2026-11-28",
        "delivered": None,
        "price_eur": 649.0,
    },
}


def _lookup_order(order_id: int) -> dict[str, Any]:
    """Look up a customer's order by its number: product, status, dates and price.

    Args:
        order_id: the order number, e.g. 1042
    """
    order = FAKE_ORDERS.get(order_id)
    if order is None:
        raise ToolError(f"no order {order_id}", hint="check the number with the customer")
    return dict(order)


#: the fake order tool (``lookup_order``), for ``Project.agent(tools=[lookup_order])``
lookup_order: Tool = tool(name="lookup_order")(_lookup_order)


def tool_turn(*calls: tuple[str, dict[str, Any]], text: str = "") -> Completion:
    """A model turn that asks for ``calls`` (name, arguments) — for ``FakeModel``."""
    return Completion(
        text=text,
        model="fake",
        finish_reason="tool_calls",
        tool_calls=[
            ToolCall(f"call_{i}_{name}", name, args) for i, (name, args) in enumerate(calls)
        ],
        usage=Usage(50, 10),
        cost_usd=0.0,
    )


__all__ = ["FAKE_ORDERS", "lookup_order", "tool_turn"]
