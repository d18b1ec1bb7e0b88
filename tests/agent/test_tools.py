"""Typed tools: the schema comes from the signature, validation failures are tool errors,
and the calculator evaluates arithmetic without ``eval``."""

from __future__ import annotations

from typing import Literal

import pytest

from ragline.agent import calculate, call_tools, tool
from ragline.errors import ToolError
from ragline.models import ToolCall


@tool
def refund(
    order_id: int, reason: Literal["damaged", "late"], amount: float = 0.0
) -> dict[str, object]:
    """Refund an order.

    Args:
        order_id: the order number
        reason: why
        amount: how much, in euros
    """
    return {"order_id": order_id, "reason": reason, "amount": amount}


def test_the_schema_comes_from_the_signature_and_the_docstring() -> None:
    assert refund.name == "refund" and refund.description == "Refund an order."
    schema = refund.parameters
    assert schema["required"] == ["order_id", "reason"]
    assert schema["properties"]["order_id"] == {
        "type": "integer",
        "description": "the order number",
    }
    assert schema["properties"]["reason"]["enum"] == ["damaged", "late"]
    assert schema["properties"]["amount"]["default"] == 0.0
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        ({}, "order_id: Field required"),
        ({"order_id": "x", "reason": "late"}, "order_id"),
        ({"order_id": 1, "reason": "bored"}, "reason"),
        ({"order_id": 1, "reason": "late", "extra": 1}, "extra"),
    ],
)
def test_invalid_arguments_are_a_tool_error_not_a_crash(
    arguments: dict[str, object], says: str
) -> None:
    (result,) = call_tools(
        [ToolCall("c", "refund", arguments)], {"refund": refund}, timeout_s=1, max_chars=1000
    )
    assert not result.ok and result.error is not None
    assert result.error["type"] == "invalid_arguments" and says in result.error["message"]


def test_valid_arguments_are_coerced_and_passed() -> None:
    call = ToolCall("c", "refund", {"order_id": "1042", "reason": "late"})
    (result,) = call_tools([call], {"refund": refund}, timeout_s=1, max_chars=1000)
    assert result.ok and result.content == {"order_id": 1042, "reason": "late", "amount": 0.0}


def test_a_function_without_type_hints_cannot_be_a_tool() -> None:
    def untyped(x):  # type: ignore[no-untyped-def]
        return x

    with pytest.raises(ValueError, match="no type hint"):
        tool(untyped)


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("2 + 3 * 4", 14),
        ("(2499 - 1999) / 2499 * 100", 20.0080032013),
        ("1,299 * 2", 2598),
        ("max(3, 7) - abs(-2)", 5),
        ("sqrt(16)", 4),
        ("2 ** 10", 1024),
        ("7 // 2", 3),
    ],
)
def test_calculator(expression: str, value: float) -> None:
    assert calculate(expression) == pytest.approx(value)


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        ("__import__('os').system('ls')", "not allowed"),
        ("x + 1", "the name 'x'"),
        ("1 / 0", "division by zero"),
        ("9 ** 9 ** 9", "too large"),
        ("open('f')", "not allowed"),
        ("(1).__class__", "not allowed"),
        ("", "empty"),
        ("2 +", "not an arithmetic"),
    ],
)
def test_calculator_refuses_anything_but_arithmetic(expression: str, says: str) -> None:
    with pytest.raises(ToolError, match=says):
        calculate(expression)
