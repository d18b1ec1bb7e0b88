"""Tables that fit the terminal: whole headers, or abbreviations with a legend.

``eval compare`` and ``eval report`` print one table of rows in sections (a category,
then its metrics). :func:`fit_table` builds it for the console's width (rich reads
``COLUMNS`` and the terminal's size) in the first of three forms that fits:

1. every header whole, the section name in a first column;
2. the short headers (each column that has one), listed in a legend;
3. the short headers, and each section's name on a line of its own above its rows
   instead of a column; the numbers keep their width and the text columns share the
   rest (folding onto more lines), the same widths in every section.

A header is never cut: headers are unique in every form (checked), and a text column
is never narrower than its header's longest word. Rich is imported inside the
functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.table import Table


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    #: the abbreviation used when the whole headers do not fit ("" keeps the header)
    short: str = ""
    #: what the abbreviation stands for, for the legend
    meaning: str = ""
    justify: Literal["left", "right"] = "right"
    #: a text column: its cells may fold onto more lines (numbers never do)
    wrap: bool = False


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    rows: list[list[str]]


@dataclass(frozen=True, slots=True)
class Fitted:
    #: what to print, in order: one table (forms 1 and 2), or a header, then each
    #: section's title and rows (form 3)
    parts: list[RenderableType]
    #: "A = what it stands for; …" when abbreviations are used, else ""
    legend: str
    #: which form fitted (1, 2 or 3, see the module docstring)
    form: int

    def print(self, console: Console) -> None:
        for part in self.parts:
            console.print(part)


def _headers(columns: Sequence[Column], short: bool) -> list[str]:
    heads = [(c.short or c.header) if short else c.header for c in columns]
    if len(set(heads)) != len(heads):
        raise ValueError(f"table headers must be unique, got {heads}")
    return heads


def _table(*, header: bool = True) -> Table:
    from rich import box
    from rich.table import Table

    return Table(
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
        collapse_padding=True,
        expand=False,
        show_header=header,
    )


def _min_width(col: Column, head: str) -> int | None:
    return max(len(w) for w in head.split()) if col.wrap else None


def _single(
    group: Column, columns: Sequence[Column], sections: Sequence[Section], *, short: bool
) -> Table:
    """Forms 1 and 2: one table, the section's name in the first column."""
    from rich.text import Text

    cols = [group, *columns]
    table = _table()
    for col, head in zip(cols, _headers(cols, short), strict=True):
        table.add_column(
            head,
            justify=col.justify,
            no_wrap=not col.wrap,
            overflow="fold" if col.wrap else "ellipsis",
            min_width=_min_width(col, head),
        )
    for i, section in enumerate(sections):
        if i:
            table.add_section()
        for j, row in enumerate(section.rows):
            first = section.title if j == 0 else ""
            table.add_row(*[Text(cell) for cell in (first, *row)])
    return table


def _titled(
    columns: Sequence[Column], sections: Sequence[Section], width: int
) -> list[RenderableType]:
    """Form 3: fixed column widths shared by a header and one table per section."""
    from rich.cells import cell_len
    from rich.text import Text

    heads = _headers(columns, True)
    natural = [
        max(
            [max(cell_len(w) for w in head.split()) if col.wrap else cell_len(head)]
            + [
                max(cell_len(line) for line in row[k].splitlines() or [""])
                for s in sections
                for row in s.rows
            ]
        )
        for k, (col, head) in enumerate(zip(columns, heads, strict=True))
    ]
    gaps = 2 * (len(columns) - 1)
    fixed = sum(w for w, c in zip(natural, columns, strict=True) if not c.wrap)
    text = [k for k, c in enumerate(columns) if c.wrap]
    spare = max(0, width - gaps - fixed)
    widths = list(natural)
    for n, k in enumerate(text):  # share what is left, never below the header's words
        share = spare // (len(text) - n)
        floor = _min_width(columns[k], heads[k]) or 1
        widths[k] = max(floor, min(natural[k], share))
        spare -= widths[k]

    # below the numbers' own width (under ~65 columns for compare) numbers fold too:
    # split onto two lines, never cut with an ellipsis
    def table(header: bool) -> Table:
        t = _table(header=header)
        for col, head, w in zip(columns, heads, widths, strict=True):
            t.add_column(head, justify=col.justify, overflow="fold", width=w)
        return t

    parts: list[RenderableType] = [table(True)]
    for section in sections:
        parts.append(Text(section.title, style="bold"))
        body = table(False)
        for row in section.rows:
            body.add_row(*[Text(cell) for cell in row])
        parts.append(body)
    return parts


def natural_width(table: Table, console: Console) -> int:
    """How wide ``table`` is when nothing folds."""
    from rich.measure import Measurement

    return Measurement.get(console, console.options.update_width(100_000), table).maximum


def fit_table(
    group: Column,
    columns: Sequence[Column],
    sections: Sequence[Section],
    console: Console,
) -> Fitted:
    """The table in the first form that fits ``console.width`` (form 3 when the
    others do not: its text columns fold)."""
    for form, short in ((1, False), (2, True)):
        table = _single(group, columns, sections, short=short)
        if natural_width(table, console) <= console.width:
            return Fitted([table], _legend(group, columns, form), form)
    return Fitted(_titled(columns, sections, console.width), _legend(group, columns, 3), 3)


def _legend(group: Column, columns: Sequence[Column], form: int) -> str:
    if form == 1:
        return ""
    shown = list(columns) if form == 3 else [group, *columns]
    return "; ".join(f"{c.short} = {c.meaning}" for c in shown if c.short and c.short != c.header)


__all__ = ["Column", "Fitted", "Section", "fit_table", "natural_width"]
