"""A small multi-tenant knowledge base in a MemoryStore, embedded with HashEmbedder."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from ragline.config import Settings
from ragline.embed import HashEmbedder
from ragline.retrieve import Retriever
from ragline.store.memory._documents import MemoryStore
from ragline.types import Chunk, Document

# (id, title, text, doc_type, language, metadata)
KB: list[tuple[str, str, str, str, str, dict[str, Any]]] = [
    (
        "faq-pricing",
        "Pricing FAQ",
        "Plans cost 100 dollars per month. Pricing questions go to the sales team.",
        "faq",
        "en",
        {"team": "sales"},
    ),
    (
        "finance-q3",
        "Q3 financial report",
        "Revenue grew to 100 million dollars in the third quarter, with operating margin "
        "at 12 percent.",
        "finance",
        "en",
        {"year": 2024},
    ),
    (
        "legal-terms",
        "Terms of service",
        "The contract may be terminated by either party with thirty days written notice.",
        "legal",
        "en",
        {},
    ),
    (
        "support-reimburse",
        "Refunds",
        "Reimbursement requests are processed within fourteen days of approval.",
        "faq",
        "en",
        {"team": "support"},
    ),
    (
        "support-code",
        "Error codes",
        "Error XJ9000 means the printer cartridge is not seated correctly.",
        "support",
        "en",
        {"team": "support"},
    ),
    (
        "es-pricing",
        "Precios",
        "Los planes cuestan 100 dólares al mes. Pricing plans month dollars.",
        "faq",
        "es",
        {},
    ),
]


class SynonymEmbedder(HashEmbedder):
    """HashEmbedder that first maps synonyms to one word: a fake "semantic" model.

    Dense search then matches "money back" with "reimbursement" although the two
    share no keyword, as a real embedding model would.
    """

    SYNONYMS: ClassVar[dict[str, str]] = {
        "money": "refund",
        "back": "refund",
        "reimbursement": "refund",
        "reimbursed": "refund",
        "refunds": "refund",
    }

    def _canon(self, text: str) -> str:
        return re.sub(r"\w+", lambda m: self.SYNONYMS.get(m.group(0).lower(), m.group(0)), text)

    def embed_documents(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return super().embed_documents([self._canon(t) for t in texts])

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        return super().embed_query(self._canon(text))


def add(
    store: MemoryStore,
    embedder: HashEmbedder,
    cid: str,
    title: str,
    text: str,
    *,
    tenant: str = "default",
    doc_type: str | None = None,
    language: str | None = "en",
    metadata: dict[str, Any] | None = None,
) -> None:
    doc = Document(
        id=cid,
        source=f"docs/{cid}.md",
        title=title,
        content_hash=cid,
        tenant=tenant,
        doc_type=doc_type,
        language=language,
        metadata=dict(metadata or {}),
    )
    chunk = Chunk(
        id=cid,
        document_id=cid,
        ordinal=0,
        text=text,
        title=title,
        tenant=tenant,
        language=language,
        doc_type=doc_type,
        source=doc.source,
        content_hash=cid,
        metadata=dict(metadata or {}),
    )
    store.upsert_document(doc, [chunk], embedder.embed_documents([chunk.indexed_text]))


def make_store(tenant: str = "default") -> tuple[MemoryStore, HashEmbedder]:
    store = MemoryStore()
    embedder = SynonymEmbedder()
    for cid, title, text, doc_type, lang, meta in KB:
        add(
            store,
            embedder,
            cid,
            title,
            text,
            tenant=tenant,
            doc_type=doc_type,
            language=lang,
            metadata=meta,
        )
    return store, embedder


def make_retriever(store: MemoryStore, embedder: HashEmbedder, **settings: Any) -> Retriever:
    return Retriever(store, embedder, Settings.model_validate(settings))
