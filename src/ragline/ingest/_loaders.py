"""Load a file into :class:`LoadedDocument` s: format dispatch, the checks every file
gets before parsing (size, encoding, emptiness), sidecar metadata, and .txt.

Markdown, HTML, PDF, DOCX and JSON/JSONL live in their own modules.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from ragline.config import IngestSettings
from ragline.errors import (
    EmptyDocumentError,
    EncodingError,
    FileTooLargeError,
    InputError,
    UnsupportedFormatError,
)
from ragline.ingest._json import JsonFields, RecordError, load_json_records
from ragline.ingest._loaded import (
    LoadedDocument,
    Section,
    metadata_mapping,
    normalize_text,
    take_special,
    title_from_path,
)

FORMATS: dict[str, str] = {
    ".txt": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
    ".json": "json",
    ".jsonl": "jsonl",
}
TEXT_FORMATS = frozenset({"text", "markdown", "html", "json", "jsonl"})
SIDECAR_SUFFIXES = (".meta.yaml", ".meta.yml", ".meta.json")

Sidecar = tuple[bytes, dict[str, Any]]


def file_format(path: Path) -> str:
    """The format name for a path, or :class:`UnsupportedFormatError`."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        supported = ", ".join(sorted(FORMATS))
        what = f"'{path.suffix}'" if path.suffix else "no extension"
        raise UnsupportedFormatError(
            f"{path.name}: unsupported file type ({what})",
            hint=f"supported: {supported}; convert the file or leave it out",
        )
    return fmt


def is_sidecar(path: Path) -> bool:
    name = path.name.lower()
    return any(name.endswith(s) and len(name) > len(s) for s in SIDECAR_SUFFIXES)


def find_sidecar(path: Path) -> Path | None:
    for suffix in SIDECAR_SUFFIXES:
        candidate = path.with_name(path.name + suffix)
        if candidate.is_file():
            return candidate
    return None


def read_sidecar(path: Path) -> Sidecar | None:
    """Raw bytes and parsed mapping of ``path``'s sidecar, or ``None`` if it has none."""
    sidecar = find_sidecar(path)
    if sidecar is None:
        return None
    raw = sidecar.read_bytes()
    text = decode_utf8(raw, sidecar)
    try:
        if sidecar.name.lower().endswith(".json"):
            data = json.loads(text) if text.strip() else {}
        else:
            import yaml

            data = yaml.safe_load(text) if text.strip() else {}
    except Exception as e:
        raise InputError(
            f"{sidecar.name}: metadata sidecar is not valid {_kind(sidecar)} ({e})",
            hint="fix its syntax; it must be a mapping such as `doc_type: finance`",
        ) from None
    meta = metadata_mapping(
        data,
        error=f"{sidecar.name}: metadata sidecar must be a mapping of keys to values",
        hint="write e.g. `doc_type: finance` and `owner: finance-team`",
    )
    return raw, meta


def _kind(path: Path) -> str:
    return "JSON" if path.name.lower().endswith(".json") else "YAML"


def check_size(path: Path, settings: IngestSettings) -> int:
    size = path.stat().st_size
    limit = settings.max_file_mb * 1024 * 1024
    if size > limit:
        raise FileTooLargeError(
            f"{path.name} is {size / 1024 / 1024:.1f} MB, "
            f"over the {settings.max_file_mb:g} MB limit",
            hint="split the file, or raise ingest.max_file_mb in ragline.yaml",
        )
    return size


def decode_utf8(data: bytes, path: Path) -> str:
    """Decode UTF-8 (a leading BOM is dropped) or raise :class:`EncodingError`."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        bad = data[e.start : e.start + 1].hex()
        raise EncodingError(
            f"{path.name} is not valid UTF-8 (byte 0x{bad} at offset {e.start})",
            hint="re-save the file as UTF-8, e.g. `iconv -f latin1 -t utf-8`",
        ) from None


def load_file(
    path: str | os.PathLike[str],
    settings: IngestSettings | None = None,
    *,
    json_fields: JsonFields | None = None,
) -> list[LoadedDocument]:
    """Parse one file into documents (one per file; one per record for JSON/JSONL).

    Raises a typed :class:`~ragline.errors.InputError` for anything wrong with the
    file, including the first bad record of a JSON/JSONL file.
    """
    p = Path(path)
    settings = settings or IngestSettings.model_validate({})
    fmt = file_format(p)
    check_size(p, settings)
    sidecar = read_sidecar(p)
    items = parse_bytes(p, p.read_bytes(), fmt, settings, json_fields or JsonFields(), sidecar)
    for item in items:
        if isinstance(item, RecordError):
            raise item.error
    return [item for item in items if isinstance(item, LoadedDocument)]


def parse_bytes(
    path: Path,
    data: bytes,
    fmt: str,
    settings: IngestSettings,
    json_fields: JsonFields,
    sidecar: Sidecar | None,
    *,
    source: str | None = None,
) -> list[LoadedDocument | RecordError]:
    """Parse already-read bytes; JSON/JSONL give one item per record (or its error).

    ``source`` (the document id of the file) prefixes ids of records that have none.
    """
    if not data.strip():
        what = "is empty" if not data else "contains only whitespace"
        raise EmptyDocumentError(
            f"{path.name} {what}", hint="add content to the file or leave it out"
        )
    text = decode_utf8(data, path) if fmt in TEXT_FORMATS else ""
    if fmt in TEXT_FORMATS and not text.strip():
        raise EmptyDocumentError(
            f"{path.name} contains only whitespace", hint="add content or leave it out"
        )
    items: list[LoadedDocument | RecordError]
    if fmt == "text":
        items = [_load_text(path, text)]
    elif fmt == "markdown":
        from ragline.ingest._markdown import load_markdown

        items = [load_markdown(path, text)]
    elif fmt == "html":
        from ragline.ingest._html import load_html

        items = [load_html(path, text)]
    elif fmt == "pdf":
        from ragline.ingest._pdf import load_pdf

        items = [
            load_pdf(
                path,
                data,
                max_elements=settings.pdf_max_elements,
                max_parse_work=settings.pdf_max_parse_work,
            )
        ]
    elif fmt == "docx":
        from ragline.ingest._docx import load_docx

        items = [load_docx(path, data, max_unpacked_mb=settings.max_unpacked_mb)]
    else:
        items = list(
            load_json_records(path, text, json_fields, jsonl=fmt == "jsonl", id_prefix=source)
        )
    for item in items:
        if isinstance(item, LoadedDocument):
            if sidecar is not None:
                apply_sidecar(item, sidecar[1])
            if item.id is None and not item.text.strip():
                raise EmptyDocumentError(
                    f"{path.name} has no text once parsed",
                    hint="check that the file has readable body text",
                )
    return items


def apply_sidecar(doc: LoadedDocument, meta: dict[str, Any]) -> None:
    """Merge sidecar metadata into ``doc``; the sidecar wins over front-matter."""
    meta = dict(meta)
    title, doc_type, language = take_special(meta)
    doc.metadata.update(meta)
    doc.title = title or doc.title
    doc.doc_type = doc_type or doc.doc_type
    doc.language = language or doc.language


# --------------------------------------------------------------------------- .txt


def _load_text(path: Path, text: str) -> LoadedDocument:
    text = normalize_text(text)
    lines = text.split("\n")
    title = title_from_path(path)
    first = lines[0].strip()
    underline = len(lines) > 1 and re.fullmatch(r"\s*(=+|-+)\s*", lines[1]) is not None
    if (
        len(lines) > 2
        and 0 < len(first) <= 80
        and not first.endswith((".", ",", ";", ":", "!", "?"))
        and (lines[1].strip() == "" or underline)
    ):
        title = first
        text = "\n".join(lines[2:]).strip()
    return LoadedDocument(title=title, sections=[Section([], text)])
