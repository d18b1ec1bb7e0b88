"""Metadata filters shared by every store: parsing and a reference matcher.

A filter is a list of :class:`Condition` (all must hold). Built-in fields are the
chunk's own columns; any other name is looked up in the chunk's metadata.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ragline.errors import InputError
from ragline.types import Chunk

Op = Literal["eq", "ne", "in", "gt", "gte", "lt", "lte"]

BUILTIN_FIELDS = ("doc_type", "language", "document_id", "source", "title", "page")

_EXPR = re.compile(r"^\s*([A-Za-z_][\w.\-]*)\s*(!=|>=|<=|=|>|<|:in:)\s*(.*?)\s*$")
_OPS: dict[str, Op] = {"=": "eq", "!=": "ne", ">=": "gte", "<=": "lte", ">": "gt", "<": "lt"}


@dataclass(frozen=True, slots=True)
class Condition:
    """``field op value``; for ``in`` the value is a tuple of allowed values."""

    field: str
    op: Op
    value: Any

    def __post_init__(self) -> None:
        if self.op == "in" and not isinstance(self.value, tuple):
            object.__setattr__(self, "value", tuple(self.value))


_ORDERING = ("gt", "gte", "lt", "lte")
# ISO 8601 dates and times sort correctly as strings: 2024, 2024-06, 2024-06-30T12:00Z
_ISO_DATE = re.compile(
    r"\d{4}-\d{2}(-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?)?"
)


def _orderable(value: Any) -> bool:
    """What ``>``, ``>=``, ``<`` and ``<=`` can compare: a number or an ISO date."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    if not isinstance(value, str):
        return False
    try:
        float(value)
        return True
    except ValueError:
        return _ISO_DATE.fullmatch(value.strip()) is not None


def _scalar(text: str) -> Any:
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d*", text):
        return float(text)
    return text


def parse_filter(expr: str) -> Condition:
    """Parse ``key=value``, ``key!=v``, ``key>=v``, ``key<v``… ``key=a|b`` means *in*.

    ``>``, ``>=``, ``<`` and ``<=`` take a number or an ISO date (``2024-06-30``); any
    other value is an :class:`InputError` (it would silently match nothing).

    >>> parse_filter("doc_type=finance|legal")
    Condition(field='doc_type', op='in', value=('finance', 'legal'))
    """
    m = _EXPR.match(expr)
    if not m or not m.group(3):
        raise InputError(
            f"cannot parse filter {expr!r}",
            hint="write key=value, key=a|b, key>=N, key<=N, key>N, key<N or key!=value",
        )
    key, op_text, raw = m.groups()
    if op_text == "=" and "|" in raw:
        return Condition(key, "in", tuple(_scalar(v.strip()) for v in raw.split("|")))
    value = _scalar(raw)
    if _OPS[op_text] in _ORDERING and not _orderable(value):
        raise InputError(
            f"cannot compare {key}{op_text}{raw}: {raw!r} is neither a number nor an ISO date",
            hint=f"write {key}{op_text}2024 or {key}{op_text}2024-06-30, "
            f"or {key}={raw} for an exact match",
        )
    return Condition(key, _OPS[op_text], value)


def parse_filters(exprs: Sequence[str] | None) -> list[Condition]:
    return [parse_filter(e) for e in exprs or ()]


def field_value(chunk: Chunk, name: str) -> Any:
    if name in BUILTIN_FIELDS:
        return getattr(chunk, name)
    return chunk.metadata.get(name)


def _compare(a: Any, b: Any) -> int | None:
    """Numeric when both are numbers, else string comparison (ISO dates sort right)."""
    if a is None or b is None:
        return None
    if isinstance(a, bool) or isinstance(b, bool):
        a, b = str(a).lower(), str(b).lower()
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return (a > b) - (a < b)
    else:
        try:
            fa, fb = float(a), float(b)
            return (fa > fb) - (fa < fb)
        except (TypeError, ValueError):
            pass
    sa, sb = str(a), str(b)
    return (sa > sb) - (sa < sb)


def _eq(a: Any, b: Any) -> bool:
    if isinstance(a, list):
        return any(_eq(x, b) for x in a)
    return _compare(a, b) == 0


def condition_matches(value: Any, cond: Condition) -> bool:
    if cond.op == "eq":
        return _eq(value, cond.value)
    if cond.op == "ne":
        return not _eq(value, cond.value)
    if cond.op == "in":
        return any(_eq(value, v) for v in cond.value)
    c = _compare(value, cond.value)
    if c is None:
        return False
    return {"gt": c > 0, "gte": c >= 0, "lt": c < 0, "lte": c <= 0}[cond.op]


def matches(chunk: Chunk, conditions: Sequence[Condition]) -> bool:
    """Reference semantics every store must reproduce."""
    return all(condition_matches(field_value(chunk, c.field), c) for c in conditions)


FilterSpec = str | Condition | Mapping[str, Any]


def to_conditions(filters: Iterable[FilterSpec] | Mapping[str, Any] | None) -> list[Condition]:
    """Accept ``["doc_type=finance"]``, ``[Condition(...)]`` or ``{"doc_type": "finance"}``.

    A mapping's list values mean "any of". Raises :class:`InputError` for a bad
    expression, before anything is searched.
    """
    if not filters:
        return []
    if isinstance(filters, Mapping):
        filters = [filters]
    out: list[Condition] = []
    for f in filters:
        if isinstance(f, Condition):
            out.append(f)
        elif isinstance(f, str):
            out.append(parse_filter(f))
        else:
            for key, value in f.items():
                if isinstance(value, (list, tuple, set)):
                    out.append(Condition(key, "in", tuple(value)))
                else:
                    out.append(Condition(key, "eq", value))
    return out
