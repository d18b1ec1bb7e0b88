"""Tables in chunk text, read row by row for extractive answers.

Ingest writes a table as one line per row with cells joined by `` | `` (HTML, DOCX)
or as a Markdown pipe table (``| a | b |`` with a ``|---|`` rule). Sentence splitting
would run those lines together into one dump ("Frame size | Rider height | Inseam S |
155–170 cm | …"); :func:`split_tables` cuts them out, and :func:`row_segments` turns
each data row into one quotable line that carries its column headers:
"Frame size: M; Rider height: 168–182 cm; Inseam: 77–85 cm.".

:func:`row_matches` is how a question naming a number ("I am 180 cm") picks the rows
whose range holds it (168–182 and 180–198 hold 180; 155–170 does not).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")
_RANGE = re.compile(
    r"(?<![\w.,])(\d+(?:[.,]\d+)?)\s*(?:–|—|-|to|a|hasta)\s*(\d+(?:[.,]\d+)?)(?![\d])",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Table:
    """A table found in a chunk's text: its header cells and data rows."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def _cells(line: str) -> list[str] | None:
    """A table line's cells, or None when ``line`` is not a table row."""
    text = line.strip()
    if "|" not in text:
        return None
    if text.startswith("|"):
        text = text[1:]
    if text.endswith("|"):
        text = text[:-1]
    cells = [" ".join(c.split()) for c in text.split("|")]
    return cells if len(cells) >= 2 else None


def split_tables(text: str) -> list[str | Table]:
    """``text`` cut into plain-text parts and :class:`Table` s, in order.

    A table is a run of at least two lines with the same number (≥ 2) of ``|``-separated
    cells (Markdown rules skipped); its first line is the header.
    """
    lines = text.splitlines()
    out: list[str | Table] = []
    plain: list[str] = []
    i = 0
    while i < len(lines):
        first = _cells(lines[i])
        if first is not None:
            rows: list[list[str]] = []
            j = i + 1
            while j < len(lines):
                if _RULE.match(lines[j]):
                    j += 1
                    continue
                cells = _cells(lines[j])
                if cells is None or len(cells) != len(first):
                    break
                rows.append(cells)
                j += 1
            if rows:
                if plain:
                    out.append("\n".join(plain))
                    plain = []
                out.append(Table(tuple(first), tuple(tuple(r) for r in rows)))
                i = j
                continue
        plain.append(lines[i])
        i += 1
    if plain:
        out.append("\n".join(plain))
    return out


def row_text(header: tuple[str, ...], row: tuple[str, ...]) -> str:
    """One data row with its column headers: "Frame size: M; Rider height: 168–182 cm"."""
    parts = []
    for name, value in zip(header, row, strict=False):
        if not value:
            continue
        parts.append(f"{name}: {value}" if name else value)
    text = "; ".join(parts)
    return text + "." if parts else text  # a sentence of its own in the answer text


def row_segments(table: Table) -> list[str]:
    """The quotable text of each data row (empty rows left out)."""
    return [t for t in (row_text(table.header, r) for r in table.rows) if t]


def ranges(text: str) -> list[tuple[float, float]]:
    """The numeric ranges in ``text`` ("155–170 cm" → (155.0, 170.0))."""
    out = []
    for m in _RANGE.finditer(text):
        lo, hi = (float(g.replace(",", ".")) for g in m.groups())
        if lo <= hi:
            out.append((lo, hi))
    return out


def row_matches(text: str, numbers: tuple[float, ...]) -> bool | None:
    """Whether a row's ranges hold one of ``numbers``; None when it has no range."""
    found = ranges(text)
    if not found or not numbers:
        return None
    return any(lo <= n <= hi for lo, hi in found for n in numbers)
