"""A small Server-Sent Events parser (the subset model APIs use: ``event:``/``data:``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One event; ``complete`` is False for a trailing event the stream cut off before
    its terminating blank line (its data may be truncated)."""

    event: str | None
    data: str
    complete: bool = True


def iter_sse(lines: Iterable[str]) -> Iterator[SSEEvent]:
    """Events from decoded lines (without line endings), per the WHATWG SSE rules:
    comments (``:…``) are skipped, several ``data:`` lines join with newlines."""
    event: str | None = None
    data: list[str] = []
    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            if data:
                yield SSEEvent(event, "\n".join(data))
            event, data = None, []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
    if data:
        yield SSEEvent(event, "\n".join(data), complete=False)
