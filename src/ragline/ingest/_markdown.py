"""Markdown: YAML front-matter, ATX and setext headings as sections.

Front-matter ``title``, ``doc_type`` and ``language`` are taken out; other keys
become metadata. Headings inside fenced code blocks do not count. Links and images
keep their text, ``**bold**`` markers are dropped. A pipe table (a header row, a
``|---|`` rule, rows) becomes a section of its own (see ``ingest._tables``),
captioned by a short line just before it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ragline.errors import InputError
from ragline.ingest._loaded import (
    LoadedDocument,
    Section,
    metadata_mapping,
    normalize_text,
    take_special,
    title_from_path,
)
from ragline.ingest._tables import caption_before, table_section

_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_ATX = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\((?:[^)(]|\([^)]*\))*\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")


def split_front_matter(text: str, path: Path) -> tuple[dict[str, Any], str]:
    """YAML front-matter between ``---`` lines at the very top, and the rest."""
    if not re.match(r"---[ \t]*\n", text):
        return {}, text
    m = re.search(r"^(?:---|\.\.\.)[ \t]*$", text[4:], re.M)
    if m is None:
        return {}, text
    block, rest = text[4 : 4 + m.start()], text[4 + m.end() :]
    import yaml

    try:
        data = yaml.safe_load(block) if block.strip() else {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        raise InputError(
            f"{path.name}: front-matter is not valid YAML{where}",
            hint="fix the block between the `---` lines at the top of the file",
        ) from None
    meta = metadata_mapping(
        data,
        error=f"{path.name}: front-matter must be a mapping such as `title: ...`",
        hint="write one `key: value` per line between the `---` lines",
    )
    return meta, rest


def _pipe_cells(line: str) -> list[str]:
    """``| a | b |`` → ``["a", "b"]`` (escaped ``\\|`` stays inside its cell)."""
    text = line.strip()
    if text.startswith("|"):
        text = text[1:]
    if text.endswith("|") and not text.endswith("\\|"):
        text = text[:-1]
    return [c.replace("\\|", "|").strip() for c in re.split(r"(?<!\\)\|", text)]


def _clean_inline(line: str) -> str:
    line = _IMAGE.sub(r"\1", line)
    line = _LINK.sub(r"\1", line)
    return _BOLD.sub(r"\1", line)


def load_markdown(path: Path, text: str) -> LoadedDocument:
    """Front-matter → title/doc_type/metadata; ATX and setext headings → sections."""
    meta, body = split_front_matter(text.replace("\r\n", "\n"), path)
    title, doc_type, language = take_special(meta)
    body = _COMMENT.sub("", body)
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    buf: list[str] = []
    first_h1: str | None = None
    fence: str | None = None

    def flush() -> None:
        chunk = normalize_text("\n".join(buf))
        if chunk:
            sections.append(Section([h for _, h in stack], chunk))
        buf.clear()

    def heading(level: int, name: str) -> None:
        nonlocal first_h1
        flush()
        name = _clean_inline(name).strip()
        if level == 1 and first_h1 is None:
            first_h1 = name
        while stack and stack[-1][0] >= level:
            stack.pop()
        if name:
            stack.append((level, name))

    lines = body.split("\n")
    table: list[list[str]] | None = None

    def end_table() -> None:
        nonlocal table
        rows, table = table or [], None
        caption = caption_before(buf)
        section = table_section(rows, path=[h for _, h in stack], caption=caption)
        if section is None:
            buf.extend(" | ".join(c for c in r if c) for r in rows)
            return
        flush()
        sections.append(section)

    for n, line in enumerate(lines):
        if table is not None:
            if "|" in line and line.strip():
                if not _RULE.match(line):
                    table.append(_pipe_cells(_clean_inline(line)))
                continue
            end_table()
        elif "|" in line and n + 1 < len(lines) and fence is None and _RULE.match(lines[n + 1]):
            table = [_pipe_cells(_clean_inline(line))]
            continue
        fm = _FENCE.match(line)
        if fence is not None:
            if fm and fm.group(1)[0] == fence[0] and len(fm.group(1)) >= len(fence):
                fence = None
            else:
                buf.append(line)
            continue
        if fm:
            fence = fm.group(1)
            continue
        m = _ATX.match(line)
        if m:
            heading(len(m.group(1)), m.group(2))
            continue
        sm = _SETEXT.match(line)
        if sm and buf and buf[-1].strip() and not _SETEXT.match(buf[-1]):
            name = buf.pop()
            heading(1 if sm.group(1)[0] == "=" else 2, name)
            continue
        buf.append(_clean_inline(line))
    if table is not None:
        end_table()
    flush()
    return LoadedDocument(
        title=title or first_h1 or title_from_path(path),
        sections=sections,
        metadata=meta,
        doc_type=doc_type,
        language=language,
    )
