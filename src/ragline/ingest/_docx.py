"""Word .docx with python-docx: Heading N styles → sections; each table a section of
its own, in order (see ``ingest._tables``), captioned by a short line just before it.

The zip container is checked *before* python-docx opens it, so a zip bomb is refused
without being unpacked.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

from ragline.errors import CorruptDocumentError
from ragline.ingest._loaded import LoadedDocument, Section, normalize_text, title_from_path
from ragline.ingest._tables import caption_before, table_section

MAX_RATIO = 100  # uncompressed/compressed size above which a member looks like a bomb
_RATIO_MIN_BYTES = 1024 * 1024  # tiny members may legitimately compress very well
_HEADING = re.compile(r"^heading\s*([1-9])$", re.I)


def check_zip(path: Path, data: bytes, *, max_unpacked_mb: float) -> None:
    """Refuse non-zips, zip bombs and zips that are not Word documents."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise CorruptDocumentError(
            f"{path.name} is not a valid .docx (not a zip archive: {e})",
            hint="open and re-save it in Word or LibreOffice as .docx",
        ) from None
    total = sum(i.file_size for i in infos)
    limit = max_unpacked_mb * 1024 * 1024
    if total > limit:
        raise CorruptDocumentError(
            f"{path.name} looks like a zip bomb: it unpacks to {total / 1024 / 1024:.0f} MB, "
            f"over the {max_unpacked_mb:g} MB limit",
            hint="if the file is genuine, raise ingest.max_unpacked_mb in ragline.yaml",
        )
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size >= _RATIO_MIN_BYTES and ratio > MAX_RATIO:
            raise CorruptDocumentError(
                f"{path.name} looks like a zip bomb: member {info.filename!r} expands "
                f"{ratio:.0f}× (limit {MAX_RATIO}×)",
                hint="the file is refused for safety; re-save it from Word if it is genuine",
            )
    if "word/document.xml" not in {i.filename for i in infos}:
        raise CorruptDocumentError(
            f"{path.name} is a zip archive but not a Word document (no word/document.xml)",
            hint="only .docx files from Word/LibreOffice/Google Docs are supported",
        )


def _table_rows(table: Any) -> tuple[list[list[str]], int]:
    """The table's rows of cell texts, and how many leading rows are header rows (rows
    marked "repeat as header row", at least one). A cell merged across columns names
    each of them in a header row and fills the first in a data row."""
    from docx.oxml.ns import qn

    rows: list[list[str]] = []
    header = 0
    for n, row in enumerate(table.rows):
        tr_pr = row._tr.trPr
        is_header = tr_pr is not None and tr_pr.find(qn("w:tblHeader")) is not None
        if is_header and header == n:
            header += 1
        cells: list[str] = []
        last: Any = None
        for cell in row.cells:
            repeat = cell._tc is last  # a merged cell repeats
            last = cell._tc
            if repeat:
                cells.append(cells[-1] if n < max(header, 1) else "")
                continue
            cells.append(" ".join(p.text.strip() for p in cell.paragraphs if p.text.strip()))
        rows.append(cells)
    return rows, max(header, 1)


def load_docx(path: Path, data: bytes, *, max_unpacked_mb: float) -> LoadedDocument:
    check_zip(path, data, max_unpacked_mb=max_unpacked_mb)
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as e:
        raise CorruptDocumentError(
            f"{path.name} is not a readable .docx ({type(e).__name__}: {e})",
            hint="open and re-save it in Word or LibreOffice as .docx",
        ) from None
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    buf: list[str] = []
    title_para = ""
    first_heading = ""

    def flush() -> None:
        text = normalize_text("\n\n".join(buf))
        if text:
            sections.append(Section([h for _, h in stack], text))
        buf.clear()

    try:
        for child in document.element.body.iterchildren():
            tag = child.tag.rsplit("}", 1)[-1]
            if tag == "tbl":
                rows, header_rows = _table_rows(Table(child, document))
                caption = caption_before(buf[-1:])
                table = table_section(
                    rows, header_rows=header_rows, path=[h for _, h in stack], caption=caption
                )
                if table is None:  # one row or one column: plain text
                    buf.append("\n".join(" | ".join(c for c in r if c) for r in rows))
                else:
                    flush()
                    sections.append(table)
                continue
            if tag != "p":
                continue
            para = Paragraph(child, document)
            text = para.text.strip()
            if not text:
                continue
            style = (para.style.name if para.style is not None else "") or ""
            m = _HEADING.match(style)
            if style.lower() == "title":
                title_para = title_para or text
            elif m:
                flush()
                level = int(m.group(1))
                first_heading = first_heading or text
                while stack and stack[-1][0] >= level:
                    stack.pop()
                stack.append((level, text))
            elif style.lower().startswith("list"):
                buf.append(f"- {text}")
            else:
                buf.append(text)
        flush()
        core_title = (document.core_properties.title or "").strip()
    except Exception as e:
        raise CorruptDocumentError(
            f"{path.name}: cannot read its contents ({type(e).__name__}: {e})",
            hint="open and re-save it in Word or LibreOffice as .docx",
        ) from None
    # List items are separate paragraphs: keep them on consecutive lines.
    for s in sections:
        s.text = re.sub(r"\n\n(?=- )", "\n", s.text)
    title = title_para or core_title or first_heading or title_from_path(path)
    return LoadedDocument(title=title, sections=sections)
