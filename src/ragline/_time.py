"""Times: given on the command line and in query strings, and measured.

``parse_when`` (``30m`` ago or an ISO time) is shared by ``ragline traces
--since/--until`` and the server's ``/traces?since=…``, so both read the same values
the same way; it lives here, not in the CLI, because the server must not import the
CLI. ``elapsed_ms`` is how every part of the package times a step.
"""

from __future__ import annotations

import datetime as dt
import re
import time

from ragline.errors import InputError

_WHEN_HINT = "use a duration ago like 30m, 2h or 7d, or a time like 2026-11-25T10:00"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_when(value: str, *, option: str = "--since", now: float | None = None) -> float:
    """``30m``/``2h``/``7d``/``1w`` ago, or an ISO date/time → epoch seconds.

    Times without an offset are local time. Raises :class:`InputError` otherwise.
    """
    text = value.strip()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhdw])", text.lower())
    if m:
        return (time.time() if now is None else now) - float(m.group(1)) * _UNITS[m.group(2)]
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"bad {option} value {value!r}", hint=_WHEN_HINT) from None
    return when.timestamp()  # naive → local time


def parse_duration(value: str, *, option: str = "--grace") -> float:
    """``90s``/``30m``/``2h``/``7d``/``1w`` (or ``0``) → seconds. Raises :class:`InputError`."""
    text = value.strip().lower()
    if text == "0":
        return 0.0
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhdw])", text)
    if not m:
        raise InputError(
            f"bad {option} value {value!r}", hint="use a duration like 90s, 30m, 2h or 7d"
        )
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_until(value: str, *, option: str = "--expires", now: float | None = None) -> float:
    """A duration from now (``30d``) or an ISO date/time → epoch seconds."""
    now = time.time() if now is None else now
    if re.fullmatch(r"\s*\d+(?:\.\d+)?\s*[smhdwSMHDW]\s*", value):
        return now + parse_duration(value, option=option)
    try:
        when = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise InputError(
            f"bad {option} value {value!r}",
            hint="use a duration from now like 30d or 12h, or a time like 2027-01-31T00:00",
        ) from None
    return when.timestamp()


def elapsed_ms(start: float) -> float:
    """Milliseconds since ``start``, a :func:`time.perf_counter` reading."""
    return (time.perf_counter() - start) * 1000.0
