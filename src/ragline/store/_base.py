"""The ``Store`` contract every backend implements (SQLite, memory, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, Self, runtime_checkable

import numpy as np
import numpy.typing as npt

from ragline.store._claims import ClaimHolder, ClaimOutcome
from ragline.store._filters import Condition
from ragline.types import Chunk, Document, Metadata

Vector = npt.NDArray[np.float32]
Matrix = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class ScoredChunk:
    """A search result from one index; higher ``score`` is better."""

    chunk: Chunk
    score: float


@dataclass(frozen=True, slots=True)
class StoreStats:
    documents: int
    chunks: int


class ClosesOnExit:
    """A store that a ``with`` block closes: ``with SQLiteStore(path) as store: …``."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@runtime_checkable
class Store(Protocol):
    """Documents, chunks, a keyword index and vectors, scoped by tenant in every call.

    Contract (checked by ``ragline.testing.StoreConformance``):

    - ``upsert_document`` replaces the document and *all* its previous chunks in one
      transaction: after it returns, either the new version is fully visible or (on
      error) the old one is untouched.
    - ``embeddings`` has one L2-normalised float32 row per chunk, in order.
    - Searches never return another tenant's chunks, and apply ``filters`` (all
      conditions must hold, with the semantics of ``ragline.store.matches``)
      *before* taking the top ``k``.
    - ``keyword_search`` accepts any user text (quotes, operators, punctuation) and
      never raises on it; a query with no searchable words returns ``[]``.
    - ``claim_documents`` is one atomic compare-and-set per call: of two callers
      claiming a document at once, exactly one gets it (see :mod:`._claims`).
    """

    def upsert_document(
        self, document: Document, chunks: Sequence[Chunk], embeddings: Matrix
    ) -> None: ...

    def get_document(self, tenant: str, document_id: str) -> Document | None: ...

    def list_documents(self, tenant: str) -> list[Document]: ...

    def delete_document(self, tenant: str, document_id: str) -> bool: ...

    def get_chunks(self, tenant: str, chunk_ids: Sequence[str]) -> list[Chunk]:
        """Chunks by id, in the order asked; unknown ids are skipped."""
        ...

    def get_embeddings(self, tenant: str, chunk_ids: Sequence[str]) -> Matrix:
        """One row per id, in the order asked (ids must exist)."""
        ...

    def document_chunks(self, tenant: str, document_id: str) -> list[Chunk]:
        """Every chunk of one document, in ordinal order (``[]`` for an unknown id).

        With :meth:`list_documents` and :meth:`get_embeddings` this reads a whole
        store back (``ragline store copy``).
        """
        ...

    def embeddings_by_hash(
        self, tenant: str, content_hashes: Sequence[str], embedder: str
    ) -> dict[str, Vector]:
        """Stored vectors of chunks with these content hashes made by ``embedder``.

        Lets ingestion re-embed only the chunks of a changed file that changed.
        """
        ...

    def keyword_search(
        self, tenant: str, query: str, *, k: int, filters: Sequence[Condition] = ()
    ) -> list[ScoredChunk]: ...

    def vector_search(
        self, tenant: str, vector: Vector, *, k: int, filters: Sequence[Condition] = ()
    ) -> list[ScoredChunk]:
        """Nearest chunks by cosine similarity (score = cosine)."""
        ...

    def update_chunk_metadata(self, tenant: str, metadata: Mapping[str, Metadata]) -> int:
        """Replace the metadata of stored chunks (chunk id → its whole new metadata) in one
        transaction, leaving their text, vectors and keyword index as they are; unknown
        ids are skipped. Returns how many chunks were updated. Filters and searches see
        the new metadata as soon as it returns (``ragline guards rescan`` writes the
        injection scores this way, without re-embedding)."""
        ...

    def claim_documents(
        self,
        tenant: str,
        documents: Mapping[str, str],
        *,
        holder: ClaimHolder,
        timeout_s: float,
    ) -> ClaimOutcome:
        """Claim documents (id → the content hash about to be written) for ``holder``.

        In one transaction: an id already stored with that content hash is returned in
        ``stored`` and not claimed; one held by another holder whose claim is not stale
        (see :meth:`DocumentClaim.stale`) is returned in ``busy``; every other id is
        claimed (a stale claim taken over, the holder's own refreshed).
        """
        ...

    def release_documents(
        self, tenant: str, document_ids: Sequence[str], *, holder: ClaimHolder
    ) -> None:
        """Drop ``holder``'s claims on these ids (other holders' claims stay)."""
        ...

    def stats(self, tenant: str) -> StoreStats: ...

    def tenants(self) -> list[str]: ...

    def close(self) -> None: ...
