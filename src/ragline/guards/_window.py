"""What a guard with a cap examines of a long text: its head and its tail.

An attack is usually at the start of a text (typed first) or at its end (appended to
a long, innocent-looking one), so a guard that can afford only ``max_chars`` looks at
the first and the last half of that budget, joined by a marker line, rather than at
the first ``max_chars`` alone.
"""

from __future__ import annotations

#: joins the head and the tail of a cut text
CUT_MARKER = "\n[…]\n"


def head_and_tail(text: str, max_chars: int) -> str:
    """``text`` if it has at most ``max_chars`` characters, else its first and last
    ``max_chars // 2`` characters around :data:`CUT_MARKER`."""
    if len(text) <= max_chars:
        return text
    half = max_chars // 2
    return text[:half] + CUT_MARKER + text[len(text) - half :]


__all__ = ["CUT_MARKER", "head_and_tail"]
