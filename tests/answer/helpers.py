"""A small handbook knowledge base with titles, sections, sources and pages."""

from __future__ import annotations

from typing import Any

from ragline.config import Settings
from ragline.embed import Embedder, HashEmbedder
from ragline.retrieve import Retriever
from ragline.store.memory._documents import MemoryStore
from ragline.types import Chunk, Document

# (document id, title, source, [(section path, page, text), ...])
HANDBOOK: list[tuple[str, str, str, list[tuple[list[str], int | None, str]]]] = [
    (
        "warranty",
        "Warranty Policy",
        "docs/warranty.pdf",
        [
            (
                ["Warranty Policy", "Coverage"],
                2,
                "Every X200 vacuum cleaner comes with a two-year warranty. The warranty covers "
                "the motor, the battery and the charging dock. It does not cover filters, "
                "brushes or damage caused by misuse.",
            ),
            (
                ["Warranty Policy", "Claims"],
                3,
                "To make a warranty claim, contact support with your order number and a photo "
                "of the fault. Dr. Lee's team answers claims within 2.5 business days.\n\n"
                "What you need\n"
                "- The order number from your receipt.\n"
                "- A photo or short video of the fault.",
            ),
        ],
    ),
    (
        "shipping",
        "Shipping Guide",
        "docs/shipping.md",
        [
            (
                ["Shipping Guide", "Delivery times"],
                None,
                "Standard delivery takes three to five working days within the EU. Express "
                "delivery arrives the next working day if you order before 2 p.m. Orders "
                "ship from our warehouse in Rotterdam.",
            ),
            (
                ["Shipping Guide", "Costs"],
                None,
                "Shipping is free for orders over 50 euros. Smaller orders pay a flat fee of "
                "4.95 euros.",
            ),
        ],
    ),
    (
        "returns",
        "Returns",
        "docs/returns.md",
        [
            (
                ["Returns"],
                None,
                "You can return any product within 30 days of delivery for a full refund. "
                "Returned items must be in their original packaging.",
            ),
        ],
    ),
]


def make_store(embedder: Embedder | None = None) -> tuple[MemoryStore, Embedder]:
    store = MemoryStore()
    emb = embedder or HashEmbedder()
    for doc_id, title, source, parts in HANDBOOK:
        doc = Document(id=doc_id, source=source, title=title, content_hash=doc_id, language="en")
        chunks = [
            Chunk(
                id=f"{doc_id}-{i}",
                document_id=doc_id,
                ordinal=i,
                text=text,
                title=title,
                section_path=section,
                page=page,
                language="en",
                source=source,
                content_hash=f"{doc_id}-{i}",
            )
            for i, (section, page, text) in enumerate(parts)
        ]
        store.upsert_document(doc, chunks, emb.embed_documents([c.indexed_text for c in chunks]))
    return store, emb


def make_retriever(store: MemoryStore, emb: Embedder, **settings: Any) -> Retriever:
    return Retriever(store, emb, Settings.model_validate(settings))
