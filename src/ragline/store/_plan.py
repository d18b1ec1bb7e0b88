"""How a search was carried out (exact scan or ANN, overfetch…), for whoever traces it.

The store does not trace (the trace layer depends on the store, not the reverse): a
backend notes its plan's attributes with :func:`note_plan`, and the caller that owns
the span (the retriever's leg) gathers them with :func:`collect_plan`. Outside a
``collect_plan`` block noting costs one context-variable read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_PLAN: ContextVar[dict[str, Any] | None] = ContextVar("ragline_search_plan", default=None)


def note_plan(attributes: Mapping[str, Any]) -> None:
    """Record a search's plan for the enclosing :func:`collect_plan`, if any."""
    sink = _PLAN.get()
    if sink is not None:
        sink.update(attributes)


@contextmanager
def collect_plan() -> Iterator[dict[str, Any]]:
    """The plan attributes the searches inside the block noted."""
    sink: dict[str, Any] = {}
    token = _PLAN.set(sink)
    try:
        yield sink
    finally:
        _PLAN.reset(token)
