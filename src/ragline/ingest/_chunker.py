"""Structure-aware chunking: sections first, then size, with overlap.

Each section (heading path, page) is chunked on its own, so a chunk never mixes
two sections or two PDF pages. A section longer than ``chunk_size`` characters is
cut at the best boundary in the second half of the window — a paragraph break,
else a sentence end, else a line break, else a space (a word longer than the
window is cut hard). The next chunk starts up to ``chunk_overlap`` characters
back, at a sentence start if one is there, else at a word start. A trailing piece
shorter than ``chunk_size // 5`` is merged into the chunk before it, so a chunk is at
most ``chunk_size + chunk_size // 5`` characters long.

A table section (``Section.table``) is cut between rows instead, each chunk starting
with the table's header line (see :mod:`ragline.ingest._tables`).

Chunk ids are ``f"{document_id}#{ordinal}"``; ``content_hash`` is the SHA-256 of the
chunk's ``indexed_text`` (title + section path + text), the exact text embedded.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import dataclass

from ragline.ingest._loaded import LoadedDocument
from ragline.ingest._tables import row_chunks
from ragline.types import DEFAULT_TENANT, Chunk

_LEVELS = (
    re.compile(r"\n[ \t]*\n\s*"),  # paragraph break
    re.compile(r"[.!?…][\"'”’)\]]*(\s+)"),  # sentence end
    re.compile(r"\n\s*"),  # line break
    re.compile(r"\s+"),  # word boundary
)
TAIL_DIVISOR = 5


def max_chunk_chars(chunk_size: int) -> int:
    """The longest chunk :func:`split_spans` can produce for ``chunk_size``."""
    return chunk_size + chunk_size // TAIL_DIVISOR


@dataclass(slots=True)
class _Breaks:
    """Boundary positions of one level: ``ends[i]`` ends a chunk, ``starts[i]`` starts
    the next (the whitespace between them belongs to neither)."""

    ends: list[int]
    starts: list[int]


def _breaks(text: str) -> list[_Breaks]:
    out: list[_Breaks] = []
    for level, pattern in enumerate(_LEVELS):
        ends: list[int] = []
        starts: list[int] = []
        for m in pattern.finditer(text):
            a, b = (m.start(1), m.end(1)) if level == 1 else (m.start(), m.end())
            if b < len(text):
                ends.append(a)
                starts.append(b)
        out.append(_Breaks(ends, starts))
    return out


def _last_end(br: _Breaks, lo: int, hi: int) -> int | None:
    """Index of the last boundary with ``lo < end <= hi``."""
    i = bisect.bisect_right(br.ends, hi) - 1
    if i >= 0 and br.ends[i] > lo:
        return i
    return None


def _best_cut(levels: list[_Breaks], s: int, floor: int, size: int) -> tuple[int, int] | None:
    """(end, next start) of the best cut for a chunk starting at ``s``."""
    limit = s + size
    preferred = max(floor, s + size // 2)
    for br in levels:
        i = _last_end(br, preferred, limit)
        if i is not None:
            return br.ends[i], br.starts[i]
    words = levels[-1]
    i = _last_end(words, floor, limit)
    if i is not None:
        return words.ends[i], words.starts[i]
    return None


def _overlap_start(levels: list[_Breaks], s: int, end: int, overlap: int) -> int | None:
    """The earliest sentence (else word) start in ``[end - overlap, end)`` after ``s``."""
    if overlap <= 0:
        return None
    lo = max(s + 1, end - overlap)
    for br in (levels[1], levels[3]):
        i = bisect.bisect_left(br.starts, lo)
        if i < len(br.starts) and br.starts[i] < end:
            return br.starts[i]
    return None


def split_spans(text: str, chunk_size: int, chunk_overlap: int = 0) -> list[tuple[int, int]]:
    """``(start, end)`` offsets of the chunks of ``text``, in order, none blank.

    ``text[start:end]`` has no leading/trailing whitespace and is at most
    :func:`max_chunk_chars` long.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be positive")
    n = len(text)
    levels = _breaks(text)
    tail = chunk_size // TAIL_DIVISOR
    spans: list[tuple[int, int]] = []

    def add(a: int, b: int) -> None:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if b > a:
            spans.append((a, b))

    s = len(text) - len(text.lstrip())
    prev_end = s  # the end of the previous chunk: the next must go beyond it
    prev_next = s  # where the next chunk would start without overlap
    while s < n:
        rest = text[s:].rstrip()
        if len(rest) <= chunk_size:
            add(s, n)
            break
        cut = _best_cut(levels, s, prev_end, chunk_size)
        if cut is None and s != prev_next:
            s = prev_next  # the overlap left no room: restart without it
            continue
        end, nxt = cut if cut is not None else (s + chunk_size, s + chunk_size)
        remaining = text[nxt:].strip()
        if len(remaining) < tail and len(rest) <= chunk_size + tail:
            add(s, n)
            break
        add(s, end)
        prev_end, prev_next = end, nxt
        back = _overlap_start(levels, s, end, chunk_overlap)
        s = back if back is not None else nxt
    return spans


def split_text(text: str, chunk_size: int, chunk_overlap: int = 0) -> list[str]:
    """The chunks of ``text`` as strings (see :func:`split_spans`)."""
    return [text[a:b] for a, b in split_spans(text, chunk_size, chunk_overlap)]


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chunk_document(
    doc: LoadedDocument,
    document_id: str,
    *,
    chunk_size: int = 800,
    chunk_overlap: int = 120,
    tenant: str = DEFAULT_TENANT,
    source: str = "",
) -> list[Chunk]:
    """Chunks of a loaded document, each carrying title, section path and page.

    ``language`` is left empty (enrichment fills it); ``doc_type`` and ``metadata``
    come from the document.
    """
    chunks: list[Chunk] = []
    for section in doc.sections:
        path = list(section.path)
        if path and path[0].strip() == doc.title.strip():
            path = path[1:]  # a leading H1 that is the title says nothing new
        pieces = row_chunks(section.text, chunk_size, split_text) if section.table else None
        if pieces is None:
            pieces = split_text(section.text, chunk_size, chunk_overlap)
        for piece in pieces:
            ordinal = len(chunks)
            chunk = Chunk(
                id=f"{document_id}#{ordinal}",
                document_id=document_id,
                ordinal=ordinal,
                text=piece,
                title=doc.title,
                tenant=tenant,
                section_path=list(path),
                page=section.page,
                doc_type=doc.doc_type,
                source=source,
                metadata=dict(doc.metadata),
            )
            chunk.content_hash = content_hash(chunk.indexed_text)
            chunks.append(chunk)
    return chunks
