"""Durations as people write them: ``90s``, ``15m``, ``1h``, ``30d``, ``2w``.

Used by ``--window``, ``--older-than`` and ``monitor.retention``; a bare number is
seconds. A bad one raises :class:`InputError` saying what was wrong and what works.
"""

from __future__ import annotations

import re

from ragline.errors import InputError

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")


def parse_duration(text: str | float, *, what: str = "duration", zero: bool = False) -> float:
    """Seconds in ``text`` (``"1h"`` → 3600.0); raises ``InputError`` unless positive
    (``zero``: or zero, e.g. ``group_wait: 0s``)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        seconds = float(text)
    else:
        found = _DURATION.match(str(text).lower())
        if found is None:
            raise InputError(
                f"{what} {text!r} is not a duration",
                hint="write a number and a unit: 90s, 15m, 1h, 30d or 2w",
            )
        seconds = float(found.group(1)) * _UNITS[found.group(2) or "s"]
    if (seconds < 0 if zero else not seconds > 0) or seconds == float("inf"):
        raise InputError(f"{what} {text!r} must be longer than zero", hint="e.g. 1h or 30d")
    return seconds


def format_duration(seconds: float) -> str:
    """``3600`` → ``"1h"``: the largest unit that divides it, else seconds."""
    for unit in ("w", "d", "h", "m"):
        size = _UNITS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
