"""Layout heuristics for PDF text: running headers/footers and headings by font size.

PDF text has no structure, only positioned glyphs. Two conservative heuristics
recover some of it:

- a short line at the top or bottom of most pages (digits ignored, so "page 3"
  matches "page 4") is a running header or footer and is dropped;
- a short line set at least 15% larger than the body text is a heading; distinct
  heading sizes give heading levels (largest = 1). A size used exactly once, on
  page 1, is the document's title rather than a section heading. When more than
  40% of the lines would be headings, the guess is abandoned.

Headings become section paths that carry over page breaks, like in Markdown. Figure
tables under a header of years become table sections (see ``ingest._pdf_tables``).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ragline.ingest._loaded import Section, normalize_text

HEADING_RATIO = 1.15
MAX_HEADING_CHARS = 150
MAX_HEADING_SHARE = 0.4
MAX_RUNNING_CHARS = 100
_WS = re.compile(r"\s+")
_DIGITS = re.compile(r"\d+")


def _key(line: str) -> str:
    return _WS.sub(" ", line).strip()


@dataclass(slots=True)
class PageText:
    """One page's text lines and the font size of each line (by its text)."""

    number: int
    lines: list[str]
    sizes: dict[str, float] = field(default_factory=dict)
    chars_by_size: Counter[float] = field(default_factory=Counter)


def _scale(m: Sequence[float]) -> float:
    try:
        return math.hypot(float(m[2]), float(m[3])) or 1.0
    except (TypeError, ValueError, IndexError):
        return 1.0


def read_page(page: Any, number: int) -> PageText:
    """Extract a page's text, noting the font size of every line."""
    segments: list[tuple[str, float]] = []

    def visit(text: str, cm: Any, tm: Any, font_dict: Any, font_size: Any) -> None:
        try:
            size = abs(float(font_size)) * _scale(tm) * _scale(cm)
        except (TypeError, ValueError):
            size = 0.0
        segments.append((text, round(size * 2) / 2))

    try:
        raw = page.extract_text(visitor_text=visit) or ""
    except Exception:  # the plain extraction may still work; sizes are then unknown
        segments.clear()
        raw = page.extract_text() or ""
    result = PageText(number, normalize_text(raw).split("\n"))
    parts: list[str] = []
    size = 0.0

    def flush() -> None:
        nonlocal size
        key = _key("".join(parts))
        if key:
            result.sizes[key] = max(result.sizes.get(key, 0.0), size)
        parts.clear()
        size = 0.0

    for text, seg_size in segments:
        for i, piece in enumerate(text.split("\n")):
            if i:
                flush()
            parts.append(piece)
            if piece.strip():
                size = max(size, seg_size)
                result.chars_by_size[seg_size] += len(piece.strip())
    flush()
    return result


def body_size(pages: list[PageText]) -> float:
    """The font size most of the text is set in (0 when unknown)."""
    total: Counter[float] = Counter()
    for page in pages:
        total.update(page.chars_by_size)
    return total.most_common(1)[0][0] if total else 0.0


def drop_running_lines(pages: list[PageText], *, edge: int = 2) -> None:
    """Remove lines repeated at the top/bottom of at least 60% of pages (≥ 3 pages).

    Lines set larger than the body text are headings ("Chapter 2"), never running
    headers, even when they differ only by a number. Nor is the header row of a table
    on its page: a statement continued over pages repeats "(Thousands) 2023 2022" at
    the top of each, and dropping it would leave the figures without their columns.
    """
    if len(pages) < 3:
        return
    from ragline.ingest._pdf_tables import find_tables

    body = body_size(pages)
    table_heads = {id(p.lines[t.start]) for p in pages for t in find_tables(p.lines)}

    def key(page: PageText, line: str) -> str:
        if id(line) in table_heads or len(_key(line)) > MAX_RUNNING_CHARS:
            return ""
        if body and page.sizes.get(_key(line), 0.0) >= body * HEADING_RATIO:
            return ""
        return _DIGITS.sub("#", _key(line).lower())

    seen: Counter[str] = Counter()
    for page in pages:
        seen.update({k for x in _edges(page.lines, edge) if (k := key(page, x))})
    running = {k for k, n in seen.items() if n >= max(2, 0.6 * len(pages))}
    if not running:
        return
    for page in pages:
        edges = {id(x) for x in _edges(page.lines, edge)}
        page.lines = [x for x in page.lines if not (id(x) in edges and key(page, x) in running)]


def _edges(lines: list[str], edge: int) -> list[str]:
    nonblank = [x for x in lines if x.strip()]
    return nonblank[:edge] + nonblank[-edge:]


def find_headings(pages: list[PageText]) -> tuple[str | None, dict[tuple[int, int], int]]:
    """(title line or None, {(page index, line index): heading level}).

    The title line (a size used once, on page 1, above every heading) is removed
    from page 1's lines.
    """
    body = body_size(pages)
    if not body:
        return None, {}
    found: list[tuple[int, int, float]] = []
    n_lines = 0
    for p, page in enumerate(pages):
        for i, line in enumerate(page.lines):
            text = _key(line)
            if not text:
                continue
            n_lines += 1
            size = page.sizes.get(text, 0.0)
            if (
                size >= body * HEADING_RATIO
                and len(text) <= MAX_HEADING_CHARS
                and any(ch.isalpha() for ch in text)
            ):
                found.append((p, i, size))
    title: str | None = None
    sizes = Counter(size for _, _, size in found)
    if found:
        biggest = max(sizes)
        p, i, _ = next(f for f in found if f[2] == biggest)
        if sizes[biggest] == 1 and p == 0:
            title = _key(pages[0].lines[i])
            pages[0].lines[i] = ""
            found = [f for f in found if f[2] != biggest]
    if not found or len(found) > MAX_HEADING_SHARE * n_lines:
        return title, {}
    ranks = {s: r for r, s in enumerate(sorted({f[2] for f in found}, reverse=True), start=1)}
    return title, {(p, i): min(ranks[size], 6) for p, i, size in found}


def build_sections(pages: list[PageText], headings: dict[tuple[int, int], int]) -> list[Section]:
    """Sections split at headings, each with its page; the heading path crosses pages."""
    from ragline.ingest._pdf import unwrap_lines
    from ragline.ingest._pdf_tables import find_tables
    from ragline.ingest._tables import table_section

    sections: list[Section] = []
    stack: list[tuple[int, str]] = []

    def flush(buf: list[str], number: int) -> None:
        text = unwrap_lines(normalize_text("\n".join(buf)))
        if text:
            sections.append(Section([h for _, h in stack], text, page=number))
        buf.clear()

    for p, page in enumerate(pages):
        buf: list[str] = []
        tables = {
            t.start: t
            for t in find_tables(page.lines)
            if not any((p, i) in headings for i in range(t.start, t.end))
        }
        skip_to = 0
        for i, line in enumerate(page.lines):
            if i < skip_to:
                continue
            table = tables.get(i)
            if table is not None:
                section = table_section(table.rows, path=[h for _, h in stack], page=page.number)
                if section is not None:
                    flush(buf, page.number)
                    sections.append(section)
                    skip_to = table.end
                    continue
            level = headings.get((p, i))
            if level is None:
                buf.append(line)
                continue
            flush(buf, page.number)
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, _key(line)))
        flush(buf, page.number)
    return sections
