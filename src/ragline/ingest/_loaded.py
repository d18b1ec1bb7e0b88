"""What a loader returns: a document's title, sections and metadata, before chunking."""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragline.errors import InputError
from ragline.types import Metadata


@dataclass(slots=True)
class Section:
    """A run of text under one heading path (``[]`` before the first heading).

    ``page`` is the 1-based page number for PDFs, ``None`` otherwise. ``table``: the
    text is a table, a header line then one line per row (see ``ingest._tables``).
    """

    path: list[str]
    text: str
    page: int | None = None
    table: bool = False


@dataclass(slots=True)
class LoadedDocument:
    """A parsed file (or one JSON record), ready for chunking.

    ``id`` is set only for JSON records (the record's own id). ``language`` is set
    only when front-matter or a sidecar states it; otherwise it is detected.
    ``fingerprint`` is the canonical JSON of a record (used for its content hash).
    ``locator`` says where a record sits in its file, e.g. ``line 17``.
    """

    title: str
    sections: list[Section]
    metadata: Metadata = field(default_factory=dict)
    doc_type: str | None = None
    id: str | None = None
    language: str | None = None
    fingerprint: str = ""
    locator: str = ""

    @property
    def text(self) -> str:
        return "\n\n".join(s.text for s in self.sections if s.text.strip())


_BLANKS = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")
_TRAILING = re.compile(r"[ \t]+\n")


def normalize_text(text: str) -> str:
    """Unify newlines, drop trailing spaces, collapse runs of blank lines to one."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = _TRAILING.sub("\n", text)
    text = _BLANKS.sub("\n\n", text)
    return text.strip()


def title_from_path(path: Path) -> str:
    """``dealer-agreement_v2.docx`` → ``dealer agreement v2``."""
    name = re.sub(r"[_\-]+", " ", path.stem).strip()
    return name or path.name


def jsonable(value: Any) -> Any:
    """Make a YAML/JSON value safe to store as JSON (dates → ISO strings)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (_dt.date, _dt.datetime, _dt.time)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return [jsonable(v) for v in items]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def metadata_mapping(data: Any, *, error: str, hint: str) -> Metadata:
    """Parsed front-matter or sidecar metadata, JSON-safe: nothing (``None``) is ``{}``,
    anything but a mapping an :class:`InputError` saying ``error`` and ``hint``."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(error, hint=hint)
    mapping: Metadata = jsonable(data)
    return mapping


def take_special(meta: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """Pop ``title``, ``doc_type`` and ``language`` from a metadata mapping."""
    out: list[str | None] = []
    for key in ("title", "doc_type", "language"):
        value = meta.pop(key, None)
        out.append(str(value).strip() or None if value is not None else None)
    title, doc_type, language = out
    return title, doc_type, language.lower() if language else None
