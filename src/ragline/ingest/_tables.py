"""Tables as tables: a loader's rows of cells become a section of their own whose
first line is the header and each further line one data row, ``| a | b |`` (the
form :mod:`ragline.answer._tables` reads).

The chunker (:func:`ragline.ingest._chunker.chunk_document`) packs whole rows into
chunks and starts every chunk with the header line, so any chunk of a table says
what its columns are, and the section path ends with the table's caption when it
has one: "Cash flow statement > Net cash from operating activities | 1,234 | 1,100"
is retrievable and quotable on its own.

Real tables are messy; this is bounded and forgiving:

- ragged rows are padded (or their extra cells joined into the last column), at most
  ``MAX_COLUMNS`` columns, cells cut at ``MAX_CELL_CHARS`` (header cells at
  ``MAX_HEADER_CELL_CHARS``), ``|`` inside a cell becomes ``/``;
- cells holding only ``$``, ``€``, ``(``, ``)`` or ``%`` (how SEC filings set figures)
  join their neighbour ("$ | 1,234" → "$1,234"); columns empty in every data row
  (spacer columns) are dropped;
- several header rows (``<th>`` rows, ``<thead>``) are merged per column
  ("Three months ended / 2022");
- a table with fewer than one header and one data row is no table: its text stays
  plain text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from ragline.ingest._loaded import Section

MAX_COLUMNS = 40
MAX_CELL_CHARS = 300
MAX_HEADER_CELL_CHARS = 120
_SPACES = re.compile(r"\s+")
_LEADING = frozenset({"$", "€", "£", "¥", "(", "$(", "($"})
_TRAILING = frozenset({")", "%", ")%", "%)"})


def clean_cell(text: str, limit: int = MAX_CELL_CHARS) -> str:
    """One cell's text on one line, ``|`` replaced, at most ``limit`` characters."""
    text = _SPACES.sub(" ", text.replace("|", "/")).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def _merge_symbols(row: list[str]) -> list[str]:
    """Join ``$``/``(`` cells onto the next value and ``)``/``%`` cells onto the previous
    one; the emptied cells stay, so the row keeps its columns."""
    out = list(row)
    for i, cell in enumerate(out):
        if cell in _LEADING:
            j = next((j for j in range(i + 1, len(out)) if out[j]), None)
            if j is not None and out[j] not in _LEADING | _TRAILING:
                out[j] = cell + out[j]
                out[i] = ""
        elif cell in _TRAILING:
            j = next((j for j in range(i - 1, -1, -1) if out[j]), None)
            if j is not None:
                out[j] = out[j] + cell
                out[i] = ""
    return out


def _fit(row: Sequence[str], width: int) -> list[str]:
    cells = list(row[:width])
    if len(row) > width:  # extra cells of a ragged row join the last column
        cells[-1] = " ".join(c for c in [cells[-1], *row[width:]] if c)
    return cells + [""] * (width - len(cells))


def table_section(
    rows: Sequence[Sequence[str]],
    *,
    header_rows: int = 1,
    path: Sequence[str] = (),
    caption: str = "",
    page: int | None = None,
) -> Section | None:
    """The section for a table (``None`` when it is not a table worth the name).

    ``rows`` are the cells' texts as found; the first ``header_rows`` (at least one)
    are the header.
    """
    cleaned = [[clean_cell(c) for c in r] for r in rows]
    cleaned = [r for r in cleaned if any(r)]
    n_head = max(1, min(header_rows, len(cleaned) - 1))
    if len(cleaned) < 2:
        return None
    width = min(MAX_COLUMNS, max(len(r) for r in cleaned))
    if width < 2:
        return None
    head_rows = [_fit(r, width) for r in cleaned[:n_head]]
    data = [_merge_symbols(_fit(r, width)) for r in cleaned[n_head:]]
    keep = [c for c in range(width) if any(r[c] for r in data)]
    if len(keep) < 2:
        return None
    header: list[str] = []
    for c in keep:
        parts: list[str] = []
        for r in head_rows:
            if r[c] and r[c] not in parts:
                parts.append(r[c])
        header.append(clean_cell(" / ".join(parts), MAX_HEADER_CELL_CHARS))
    lines = [_line(header)]
    lines += [_line([r[c] for c in keep]) for r in data]
    section_path = list(path)
    caption = clean_cell(caption, MAX_HEADER_CELL_CHARS)
    if caption and caption not in section_path:
        section_path.append(caption)
    return Section(section_path, "\n".join(lines), page=page, table=True)


def _line(cells: Sequence[str]) -> str:
    """``| a | b |``: outer pipes too, so a row whose first or last cell is empty still
    has all its cells."""
    return "| " + " | ".join(cells) + " |"


def caption_before(lines: Sequence[str]) -> str:
    """A short title line just before a table ("Table 3: Frame sizes", "Cash flows"),
    else ``""``: the last non-blank line, when it is short, not a sentence, and a
    paragraph of its own (a blank line or nothing before it)."""
    for i in range(len(lines) - 1, -1, -1):
        text = lines[i].strip().strip("*_#").strip()
        if not text:
            continue
        own = i == 0 or not lines[i - 1].strip()
        if own and len(text) <= MAX_HEADER_CELL_CHARS and not text.endswith((".", "!", "?", ";")):
            return text.rstrip(":").strip()
        return ""
    return ""


def row_chunks(text: str, budget: int, split: Callable[[str, int], list[str]]) -> list[str] | None:
    """A table section's text cut into chunks of whole rows, each starting with the
    header line and at most ``budget`` characters long (a row too long for one chunk is
    cut by ``split(text, size)`` into pieces that each get the header). ``None`` when
    the header is too long to repeat (over half the budget): the caller splits the
    table as plain text."""
    lines = text.split("\n")
    header, rows = lines[0], lines[1:]
    if len(header) > budget // 2:
        return None
    room = budget - len(header) - 1
    out: list[str] = []
    current: list[str] = []
    size = len(header)
    for row in rows:
        if len(row) > room:
            if current:
                out.append("\n".join([header, *current]))
                current, size = [], len(header)
            out.extend(header + "\n" + piece for piece in split(row, room))
            continue
        if current and size + 1 + len(row) > budget:
            out.append("\n".join([header, *current]))
            current, size = [], len(header)
        current.append(row)
        size += 1 + len(row)
    if current:
        out.append("\n".join([header, *current]))
    return out
