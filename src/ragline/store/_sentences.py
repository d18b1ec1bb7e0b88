"""The contract of the extractive answerer's persistent sentence vectors.

Vectors depend only on the sentence text and the embedder, so they are computed once
(at ingest or by the first answer that needs them) and kept next to the documents. A
row is keyed by (tenant, embedder name, a 16-byte hash of the exact text the answerer
embeds): a tenant never reads another's vectors, and a vector of another embedder is
never used. Rows are a cache keyed by content, so a deleted or edited document leaves
stale rows that no answer can reach and that do no harm. Backends: memory, SQLite,
PostgreSQL (each passes ``ragline.testing.SentenceStoreConformance``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from ragline.store._base import Vector

#: sentence vectors by key (:func:`ragline.answer._sentence_vectors.sentence_key`)
Vectors = Mapping[bytes, Vector]

#: hashes per lookup query (SQLite's default limit of bound parameters is 999+)
LOOKUP_BATCH = 500


@runtime_checkable
class SentenceStore(Protocol):
    """Sentence vectors by (tenant, embedder, :func:`sentence_key`).

    ``get`` returns only the keys found; ``put`` keeps an existing row (the vector of a
    text never changes). ``timeout_s`` bounds how long ``put`` waits for a lock (an
    answer's best-effort write-back passes a small one); on failure it raises
    ``StoreError``.
    """

    def get(self, tenant: str, embedder: str, keys: Sequence[bytes]) -> dict[bytes, Vector]: ...

    def put(
        self, tenant: str, embedder: str, vectors: Vectors, *, timeout_s: float | None = None
    ) -> None: ...

    def count(self, tenant: str, embedder: str) -> int: ...

    def close(self) -> None: ...


def get_many(
    sentences: SentenceStore, tenant: str, embedder: str, keys: Sequence[bytes]
) -> dict[bytes, Vector]:
    """``sentences.get`` in batches of :data:`LOOKUP_BATCH` keys."""
    found: dict[bytes, Vector] = {}
    for i in range(0, len(keys), LOOKUP_BATCH):
        found.update(sentences.get(tenant, embedder, keys[i : i + LOOKUP_BATCH]))
    return found
