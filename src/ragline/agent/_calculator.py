"""``calculator``: arithmetic on numbers, evaluated by walking the AST — never ``eval``.

Numbers, ``+ - * / // % **``, unary minus, parentheses, and the functions ``abs``,
``round``, ``min``, ``max``, ``sqrt``. Anything else (names, attributes, calls to other
functions, strings) is a :class:`~ragline.errors.ToolError` naming what is not
allowed. Exponents are capped so ``9**9**9`` cannot hang the process.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from typing import Any

from ragline.errors import ToolError

MAX_CHARS = 500
MAX_EXPONENT = 1_000
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": abs,
    "round": round,
    "min": min,
    "max": max,
    "sqrt": math.sqrt,
}


def _too_big(base: float | int, exponent: float | int) -> bool:
    """Whether ``base ** exponent`` would have more than ~4,000 bits (or overflow)."""
    if abs(base) <= 1 or exponent <= 0:
        return False
    return exponent * math.log2(abs(base)) > 4_096


def _eval(node: ast.AST) -> float | int:
    if isinstance(node, ast.Expression):
        return _eval(node.body)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value  # type: ignore[return-value]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _eval(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow) and (abs(right) > MAX_EXPONENT or _too_big(left, right)):
            raise ToolError(f"{left} ** {right} is too large to compute")
        try:
            return _BINARY[type(node.op)](left, right)  # type: ignore[no-any-return]
        except ZeroDivisionError:
            raise ToolError("division by zero") from None
        except OverflowError:
            raise ToolError("the result is too large") from None
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
    ):
        args = [_eval(a) for a in node.args]
        try:
            return _FUNCTIONS[node.func.id](*args)  # type: ignore[no-any-return]
        except (TypeError, ValueError) as e:
            raise ToolError(f"{node.func.id}(): {e}") from None
    what = type(node).__name__
    if isinstance(node, ast.Name):
        what = f"the name {node.id!r}"
    allowed = ", ".join(_FUNCTIONS)
    raise ToolError(
        f"{what} is not allowed: use numbers, + - * / // % ** and parentheses, "
        f"and the functions {allowed}"
    )


def calculate(expression: str) -> float | int:
    """The value of an arithmetic ``expression``; :class:`ToolError` for anything else."""
    text = _THOUSANDS.sub("", expression.strip().replace("×", "*").replace("÷", "/"))
    if not text:
        raise ToolError("the expression is empty")
    if len(text) > MAX_CHARS:
        raise ToolError(f"the expression is longer than {MAX_CHARS} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise ToolError(f"{expression!r} is not an arithmetic expression") from None
    value = _eval(tree)
    if isinstance(value, float) and not math.isfinite(value):
        raise ToolError("the result is not a finite number")
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return round(value, 10) if isinstance(value, float) else value


__all__ = ["calculate"]
