"""HTML with the standard library's parser: title, h1–h6 sections, readable text.

``script``, ``style``, ``nav``, ``footer``, ``head`` (except ``<title>``) and other
non-content elements are dropped. Block elements start new lines, list items get a
``- `` prefix and table cells are joined with `` | ``.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from ragline.ingest._loaded import LoadedDocument, Section, normalize_text, title_from_path

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

    # -- structure
    def _flush(self) -> None:
        text = normalize_text("\n".join(line.strip() for line in "".join(self._buf).split("\n")))
        if text:
            self.sections.append(Section([h for _, h in self._stack], text))
        self._buf.clear()

    def _emit(self, text: str) -> None:
        if self._heading is not None:
            self._heading_parts.append(text)
        else:
            self._buf.append(text)

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
        self._flush()


def load_html(path: Path, text: str) -> LoadedDocument:
    parser = _Extractor()
    parser.feed(text)
    parser.close()
    return LoadedDocument(
        title=parser.title or parser.first_h1 or title_from_path(path),
        sections=parser.sections,
    )
