"""Helpers for ingestion tests: settings, a call-counting embedder, file factories."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ragline.config import IngestSettings
from ragline.embed._hash import HashEmbedder
from ragline.store import MemoryStore

SAMPLE_KB = Path(__file__).resolve().parents[2] / "examples" / "sample-kb"


class CountingEmbedder(HashEmbedder):
    """HashEmbedder that records every text it embeds."""

    def __init__(self) -> None:
        super().__init__(64)
        self.calls: list[list[str]] = []

    @property
    def texts(self) -> list[str]:
        return [t for call in self.calls for t in call]

    def embed_documents(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.calls.append(list(texts))
        return super().embed_documents(texts)


def make_settings(**overrides: object) -> IngestSettings:
    base: dict[str, object] = {"chunk_size": 400, "chunk_overlap": 60, "languages": ["en", "es"]}
    base.update(overrides)
    return IngestSettings.model_validate(base)


def pdf_bytes(pages: Sequence[str], *, title: str | None = None) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    if title:
        pdf.set_title(title)
    for text in pages:
        pdf.add_page()
        pdf.set_font("helvetica", size=11)
        if text:
            pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def docx_bytes(build: Callable[[object], None]) -> bytes:
    import docx

    doc = docx.Document()
    build(doc)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def encrypted_pdf_bytes(pages: Sequence[str], password: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes(pages))))
    writer.encrypt(user_password=password, owner_password="owner", algorithm="RC4-128")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def all_chunks(store: MemoryStore, tenant: str = "default") -> list:  # type: ignore[type-arg]
    ids = [f"{d.id}#{i}" for d in store.list_documents(tenant) for i in range(d.chunk_count)]
    return store.get_chunks(tenant, ids)
