"""HTML with the standard library's parser: title, h1–h6 sections, readable text.

``script``, ``style``, ``nav``, ``footer``, ``head`` (except ``<title>``) and other
non-content elements are dropped. Block elements start new lines, list items get a
``- `` prefix. A ``<table>`` becomes a section of its own (see ``ingest._tables``):
its ``<th>``/``<thead>`` rows are the header (else its first row), ``colspan`` is
honoured, its ``<caption>`` ends the section path; a table inside a table is read as
text of the outer cell.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from ragline.ingest._loaded import LoadedDocument, Section, normalize_text, title_from_path
from ragline.ingest._tables import MAX_COLUMNS, table_section

_SKIP = frozenset(
    {"script", "style", "nav", "footer", "head", "noscript", "template", "svg", "iframe"}
)
_PARAGRAPH = frozenset(
    {
        "p", "div", "section", "article", "main", "blockquote", "table", "ul", "ol",
        "pre", "header", "aside", "figure", "dl", "form", "fieldset", "details",
        "address", "hr",
    }
)  # fmt: skip
_LINE = frozenset({"li", "tr", "br", "dt", "dd", "summary", "figcaption", "caption"})
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_SPACES = re.compile(r"[ \t\r\n\f\v]+")


class _Table:
    """The outermost table being read: its rows of cells, which rows are header rows."""

    def __init__(self) -> None:
        self.rows: list[list[str]] = []
        self.header: list[bool] = []
        self.row: list[str] | None = None
        self.row_th = True
        self.cell: list[str] | None = None
        self.cell_th = False
        self.colspan = 1
        self.in_head = False
        self.in_caption = False
        self.caption: list[str] = []
        self.stray: list[str] = []

    def end_cell(self) -> None:
        if self.cell is None:
            return
        text = _SPACES.sub(" ", "".join(self.cell)).strip()
        if self.row is None:
            self.row, self.row_th = [], True
        self.row_th = self.row_th and (self.cell_th or not text)
        head = self.in_head or self.cell_th
        # a header cell spanning columns names each of them; a value fills the first
        self.row.extend([text] * self.colspan if head else [text] + [""] * (self.colspan - 1))
        self.cell = None

    def start_row(self) -> None:
        self.end_row()
        self.row, self.row_th = [], True

    def end_row(self) -> None:
        if self.cell is not None:
            self.end_cell()
        if self.row is not None:
            if any(self.row):
                self.rows.append(self.row)
                self.header.append(self.in_head or self.row_th)
            self.row = None

    def header_rows(self) -> int:
        n = 0
        for flag in self.header:
            if not flag:
                break
            n += 1
        return n if n < len(self.rows) else 1


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.first_h1 = ""
        self.sections: list[Section] = []
        self._stack: list[tuple[int, str]] = []
        self._buf: list[str] = []
        self._skip: list[str] = []
        self._in_title = False
        self._title_parts: list[str] = []
        self._heading: int | None = None
        self._heading_parts: list[str] = []
        self._pre = 0
        self._cell_count = 0
        self._table: _Table | None = None
        self._table_depth = 0

    # -- structure
    def _flush(self) -> None:
        text = normalize_text("\n".join(line.strip() for line in "".join(self._buf).split("\n")))
        if text:
            self.sections.append(Section([h for _, h in self._stack], text))
        self._buf.clear()

    def _emit(self, text: str) -> None:
        if self._heading is not None:
            self._heading_parts.append(text)
        elif self._table is not None:
            table = self._table
            if table.in_caption:
                table.caption.append(text)
            elif table.cell is not None:
                table.cell.append(text)
            elif text.strip():
                table.stray.append(text)
        else:
            self._buf.append(text)

    def _table_tag(self, tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        """Handle a start tag that shapes a table; False when it is not one."""
        if tag == "table":
            if self._table is None:
                self._flush()  # the text before the table is a section of its own
                self._table = _Table()
            else:
                self._emit(" ")
            self._table_depth += 1
            return True
        table = self._table
        if table is None or tag not in ("tr", "td", "th", "thead", "caption"):
            return False
        if self._table_depth > 1:  # a table in a cell: its cells are words of that cell
            self._emit(" ")
            return True
        if tag == "thead":
            table.in_head = True
        elif tag == "caption":
            table.in_caption = True
        elif tag == "tr":
            table.start_row()
        else:
            table.end_cell()
            if table.row is None:
                table.start_row()
            table.cell, table.cell_th = [], tag == "th"
            try:
                span = int(dict(attrs).get("colspan") or 1)
            except ValueError:
                span = 1
            table.colspan = max(1, min(span, MAX_COLUMNS))
        return True

    def _table_end(self, tag: str) -> bool:
        table = self._table
        if table is None:
            return False
        if tag == "table":
            self._table_depth -= 1
            if self._table_depth == 0:
                self._finish_table()
            return True
        if self._table_depth > 1 or tag not in ("tr", "td", "th", "thead", "caption"):
            return False
        if tag == "thead":
            table.end_row()
            table.in_head = False
        elif tag == "caption":
            table.in_caption = False
        elif tag == "tr":
            table.end_row()
        else:
            table.end_cell()
        return True

    def _finish_table(self) -> None:
        table, self._table, self._table_depth = self._table, None, 0
        assert table is not None
        table.end_row()
        caption = _SPACES.sub(" ", "".join(table.caption)).strip()
        path = [h for _, h in self._stack]
        section = table_section(
            table.rows, header_rows=table.header_rows(), path=path, caption=caption
        )
        if section is not None:
            self.sections.append(section)
            if table.stray:
                self._buf.extend(table.stray)
            return
        # not a table worth the name (one row, one column): keep its words as text
        lines = [caption, *(" | ".join(c for c in r if c) for r in table.rows), *table.stray]
        self._buf.append("\n\n" + "\n".join(x for x in lines if x.strip()) + "\n\n")

    # -- parser callbacks
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title" and not self.title:
            self._in_title = True
            return
        if tag == "body" and "head" in self._skip:
            self._skip = [t for t in self._skip if t != "head"]  # an unclosed <head>
        if tag in _SKIP:
            self._skip.append(tag)
            return
        if self._skip:
            return
        if self._table_tag(tag, attrs):
            return
        if tag in _HEADINGS:
            self._flush()
            self._heading = _HEADINGS[tag]
            self._heading_parts = []
        elif tag == "pre":
            self._pre += 1
            self._emit("\n\n")
        elif tag in _PARAGRAPH:
            self._emit("\n\n")
        elif tag in _LINE:
            self._emit("\n")
            if tag == "li":
                self._emit("- ")
            elif tag == "tr":
                self._cell_count = 0
        elif tag in ("td", "th"):
            if self._cell_count:
                self._emit(" | ")
            self._cell_count += 1
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self._emit(f" {alt} ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._in_title:
            self._in_title = False
            if not self.title:
                self.title = _SPACES.sub(" ", "".join(self._title_parts)).strip()
            return
        if tag in _SKIP:
            if tag in self._skip:
                at = len(self._skip) - 1 - self._skip[::-1].index(tag)
                del self._skip[at:]
            return
        if self._skip:
            return
        if self._table_end(tag):
            return
        if tag in _HEADINGS and self._heading is not None:
            level = self._heading
            name = _SPACES.sub(" ", "".join(self._heading_parts)).strip()
            self._heading = None
            if level == 1 and not self.first_h1:
                self.first_h1 = name
            while self._stack and self._stack[-1][0] >= level:
                self._stack.pop()
            if name:
                self._stack.append((level, name))
        elif tag == "pre":
            self._pre = max(0, self._pre - 1)
            self._emit("\n\n")
        elif tag in _PARAGRAPH:
            self._emit("\n\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self._title_parts.append(data)
            return
        if self._skip:
            return
        self._emit(data if self._pre else _SPACES.sub(" ", data))

    def close(self) -> None:
        super().close()
        if self._heading is not None:
            self.handle_endtag(f"h{self._heading}")
        if self._table is not None:  # an unclosed <table>
            self._finish_table()
        self._flush()


def load_html(path: Path, text: str) -> LoadedDocument:
    parser = _Extractor()
    parser.feed(text)
    parser.close()
    return LoadedDocument(
        title=parser.title or parser.first_h1 or title_from_path(path),
        sections=parser.sections,
    )
