"""PDF text with pypdf: sections per page (with page numbers) and, where font sizes
show them, per heading (see ``_pdf_layout``).

Encrypted files are opened with the empty password when that works (many PDFs
are "encrypted" only to restrict printing); otherwise they are refused.
"""

from __future__ import annotations

import io
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ragline.errors import CorruptDocumentError, EmptyDocumentError, EncryptedDocumentError
from ragline.ingest._loaded import LoadedDocument, title_from_path
from ragline.ingest._pdf_layout import (
    PageText,
    build_sections,
    drop_running_lines,
    find_headings,
    read_page,
)

# pypdf recovers from damage silently, dropping pages or objects; these warnings say
# content was lost, so the file is refused instead of being ingested incomplete.
_SEVERE = re.compile(
    r"Object \d+ \d+ not defined|Invalid Root object|Invalid Elementary Object"
    r"|Invalid stream|Unexpected end of stream"
)


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.severe: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            message = record.getMessage()
            if _SEVERE.search(message):
                self.severe.append(message)


@contextmanager
def _pypdf_warnings() -> Iterator[_Capture]:
    """Collect pypdf's warnings (instead of printing them) while reading a file."""
    logger = logging.getLogger("pypdf")
    capture = _Capture()
    propagate = logger.propagate
    logger.addHandler(capture)
    logger.propagate = False
    try:
        yield capture
    finally:
        logger.removeHandler(capture)
        logger.propagate = propagate


def unwrap_lines(text: str) -> str:
    """Join lines that the PDF wrapped mid-paragraph (long line, no sentence end).

    A line at least 70% as long as the page's longest line is joined to the next
    when it does not end a sentence or the next line starts in lower case. Short
    lines (headings, table rows) stay as they are.
    """
    lines = text.split("\n")
    longest = max((len(line) for line in lines), default=0)
    out: list[str] = []
    for line in lines:
        prev = out[-1] if out else ""
        if (
            prev
            and line.strip()
            and len(prev) >= 0.7 * longest
            and (not prev.rstrip().endswith((".", "!", "?", ":")) or line.lstrip()[:1].islower())
        ):
            out[-1] = prev.rstrip() + " " + line.lstrip()
        else:
            out.append(line)
    return "\n".join(out)


def _corrupt(path: Path, why: str) -> CorruptDocumentError:
    return CorruptDocumentError(
        f"{path.name} is not a readable PDF ({why})",
        hint="re-export or re-download the file; it may be truncated or not a PDF at all",
    )


def _open(path: Path, data: bytes) -> Any:
    from pypdf import PdfReader

    if b"%PDF-" not in data[:1024]:
        raise _corrupt(path, "no %PDF- header")
    if b"%%EOF" not in data[-2048:]:
        raise _corrupt(path, "no %%EOF marker at the end: the file looks truncated")
    from pypdf.errors import LimitReachedError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        encrypted = reader.is_encrypted
    except LimitReachedError:
        raise
    except Exception as e:
        raise _corrupt(path, f"{type(e).__name__}: {e}") from None
    if encrypted:
        try:
            ok = reader.decrypt("")
        except Exception as e:  # e.g. AES without the `cryptography` package
            raise EncryptedDocumentError(
                f"{path.name} is encrypted and could not be opened ({e})",
                hint="save an unencrypted copy (or `pip install cryptography` for AES files)",
            ) from None
        if not ok:
            raise EncryptedDocumentError(
                f"{path.name} is password-protected",
                hint="save a copy without a password (e.g. `qpdf --decrypt`) and ingest that",
            )
    return reader


# Titles that name a file or a filing, not the document: an SEC accession number
# (0000320193-22-000070), a bare code (d359156d10q), a file name (report_v2.docx).
_NOT_A_TITLE = re.compile(
    r"[\W\d_]*"  # digits and punctuation only
    r"|\d{10}-\d{2}-\d{6}.*"  # an accession number
    r"|(?=[^ ]*\d)[^ ]{6,}"  # one token with digits in it
    r"|.*\.(pdf|docx?|html?|indd|qxd|xlsx?|pptx?|rtf|txt)"  # a file name
    r"|(untitled|untitled document|document\d*|title|none|unknown)",
    re.IGNORECASE,
)


def meaningful_title(title: str) -> bool:
    """Whether PDF title metadata names the document (see ``_NOT_A_TITLE``)."""
    return bool(title) and _NOT_A_TITLE.fullmatch(title.strip()) is None


def _title(reader: Any, detected: str | None, first_page: str) -> str:
    """Title from the PDF's metadata, else its big title line, else its first line."""
    try:
        meta = reader.metadata
        raw = meta.title if meta is not None else None
    except Exception:
        raw = None
    title = str(raw or "").strip()
    title = re.sub(r"^Microsoft (Word|PowerPoint) - ", "", title)
    if not meaningful_title(title):
        title = ""
    if not title and detected:
        title = detected
    if not title:
        for line in first_page.split("\n"):
            if line.strip():
                title = line.strip() if len(line.strip()) <= 150 else ""
                break
    return title


#: the ``ingest.pdf_max_elements`` / ``pdf_max_parse_work`` defaults (see config.py)
DEFAULT_MAX_ELEMENTS = 5_000_000
DEFAULT_MAX_PARSE_WORK = 50_000_000


@contextmanager
def _limits(max_elements: int, max_parse_work: int) -> Iterator[None]:
    """pypdf's parser limits for this file (pypdf >= 6.4 has a configuration context;
    older releases have the fixed limits of their day)."""
    import pypdf

    apply = getattr(pypdf, "apply_configuration", None)
    if apply is None:  # pragma: no cover - pypdf < 6.4
        yield
        return
    with apply(
        array_maximum_element_count=max_elements,
        dictionary_maximum_element_count=max_elements,
        stream_parsing_work_maximum_count=max_parse_work,
    ):
        yield


def load_pdf(
    path: Path,
    data: bytes,
    *,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
    max_parse_work: int = DEFAULT_MAX_PARSE_WORK,
) -> LoadedDocument:
    from pypdf.errors import LimitReachedError

    try:
        with _pypdf_warnings() as warnings, _limits(max_elements, max_parse_work):
            doc = _load(path, data)
    except LimitReachedError as e:  # raised through _load's handlers unchanged
        raise CorruptDocumentError(
            f"{path.name} is larger inside than the PDF limits allow ({e})",
            hint="if you trust the file, raise ingest.pdf_max_elements (now "
            f"{max_elements:,}) or ingest.pdf_max_parse_work (now {max_parse_work:,}) "
            "in ragline.yaml; the file itself is not damaged",
        ) from None
    if warnings.severe:
        raise _corrupt(path, f"damaged structure: {warnings.severe[0][:120]}")
    return doc


def _load(path: Path, data: bytes) -> LoadedDocument:
    from pypdf.errors import LimitReachedError

    reader = _open(path, data)
    try:
        pages = list(reader.pages)
    except LimitReachedError:
        raise
    except Exception as e:
        raise _corrupt(path, f"cannot read its pages: {e}") from None
    texts: list[PageText] = []
    for number, page in enumerate(pages, start=1):
        try:
            texts.append(read_page(page, number))
        except LimitReachedError:
            raise
        except Exception as e:
            raise _corrupt(path, f"page {number}: {type(e).__name__}: {e}") from None
    drop_running_lines(texts)
    detected, headings = find_headings(texts)
    sections = build_sections(texts, headings)
    if not sections:
        raise EmptyDocumentError(
            f"{path.name} has no extractable text ({len(pages)} page(s)); "
            "it may be a scanned PDF made of images",
            hint="run OCR on it first (e.g. `ocrmypdf in.pdf out.pdf`) and ingest the result",
        )
    title = _title(reader, detected, sections[0].text) or title_from_path(path)
    return LoadedDocument(title=title, sections=sections)
