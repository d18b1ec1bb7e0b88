"""Tables in PDF text, found conservatively: figure rows under a header of years.

PDF text keeps no table structure. What survives extraction reliably is the shape
of a financial statement: rows that end in two or more figures ("Net income $ 5,363
$ 4,869 $ 5,058") under a line that ends in as many years ("(Millions) 2018 2017
2016"). :func:`find_tables` looks for exactly that on a page's lines:

- a *figure row* is a label with letters followed by ``n >= 2`` figures (``1,234``,
  ``(250)``, ``$ 5,363``, ``12.5%``, ``—``);
- a table is at least ``MIN_ROWS`` figure rows with the same ``n``, under a header
  line, at most ``HEADER_GAP`` lines above the first row, whose last ``n`` tokens
  are years; label-only lines between rows (sub-headings such as "Cash flows from
  operating activities") are kept as rows; the table ends at the first line that is
  neither;
- without such a header nothing is a table: columns without names would be no
  better than the text, and guessing them from x-positions goes wrong on real
  filings more often than not.

Each table becomes a table section (``ingest._tables``), with the header line's
leading words as the label column's name; the lines stay in order on the page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MIN_ROWS = 3
HEADER_GAP = 3
MAX_TABLE_ROWS = 2000
_FIGURE = re.compile(r"\(?-?[$€£]?\d[\d,]*(?:\.\d+)?%?\)?%?|[—–-]{1,2}")
_CURRENCY = frozenset({"$", "€", "£", "$(", "("})
_YEAR = re.compile(r"\(?(?:19|20)\d\d\)?")


@dataclass(frozen=True, slots=True)
class PdfTable:
    """Lines ``start`` to ``end`` (exclusive) of a page are a table: header + rows."""

    start: int
    end: int
    rows: list[list[str]]


def figure_row(line: str) -> tuple[str, list[str]] | None:
    """``(label, figures)`` when ``line`` is a label followed by two or more figures."""
    tokens = line.split()
    figures: list[str] = []
    while tokens:
        token = tokens[-1]
        if _FIGURE.fullmatch(token):
            figures.insert(0, token)
            tokens.pop()
        elif token in _CURRENCY and figures:
            figures[0] = token + figures[0]
            tokens.pop()
        else:
            break
    label = " ".join(tokens).rstrip(" .:")
    if len(figures) < 2 or not any(ch.isalpha() for ch in label):
        return None
    return label, figures


def _header(line: str, n: int) -> tuple[str, list[str]] | None:
    tokens = line.split()
    if len(tokens) < n or not all(_YEAR.fullmatch(t) for t in tokens[-n:]):
        return None
    return " ".join(tokens[:-n]), [t.strip("()") for t in tokens[-n:]]


def _label_only(line: str) -> bool:
    text = line.strip()
    return 0 < len(text) <= 100 and any(ch.isalpha() for ch in text) and not re.search(r"\d", text)


def find_tables(lines: list[str]) -> list[PdfTable]:
    """The tables on a page (see the module docstring), in order, not overlapping."""
    out: list[PdfTable] = []
    i = 0
    while i < len(lines):
        first = figure_row(lines[i])
        if first is None:
            i += 1
            continue
        n = len(first[1])
        head_at = next(
            (j for j in range(i - 1, max(-1, i - 1 - HEADER_GAP), -1) if _header(lines[j], n)),
            None,
        )
        if head_at is None or (out and head_at < out[-1].end):
            i += 1
            continue
        head = _header(lines[head_at], n)
        assert head is not None
        # lines between the header and the first row (sub-headings) are rows too
        rows: list[list[str]] = [
            [x.strip(), *[""] * n] for x in lines[head_at + 1 : i] if x.strip()
        ]
        end = i
        pending: list[str] = []
        j = i
        while j < len(lines) and len(rows) < MAX_TABLE_ROWS:
            row = figure_row(lines[j])
            if row is not None and len(row[1]) == n:
                rows.extend([[p, *[""] * n] for p in pending])
                pending = []
                rows.append([row[0], *row[1]])
                end = j + 1
            elif _label_only(lines[j]) and not pending:
                pending.append(lines[j].strip())
            else:
                break
            j += 1
        if sum(1 for r in rows if any(r[1:])) >= MIN_ROWS:
            out.append(PdfTable(head_at, end, [[head[0], *head[1]], *rows]))
            i = end
        else:
            i += 1
    return out
