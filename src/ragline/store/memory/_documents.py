"""``MemoryStore``: the in-memory reference implementation of the ``Store`` protocol.

Plain dicts per tenant, a small exact BM25 (k1=1.2, b=0.75) for keyword search and
brute-force cosine for vectors. Filters use :func:`ragline.store.matches` directly,
so this store *is* the reference semantics. Nothing is persisted.
"""

from __future__ import annotations

import copy
import math
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ragline._text import tokenize
from ragline.errors import InputError
from ragline.store._base import Matrix, ScoredChunk, StoreStats, Vector
from ragline.store._claims import ClaimHolder, ClaimOutcome, DocumentClaim, decide_claims
from ragline.store._common import (
    check_dimension,
    normalize_query,
    stack_vectors,
    top_k,
    validate_upsert,
)
from ragline.store._filters import Condition, matches
from ragline.store._vectors import dot_rows
from ragline.types import Chunk, Document, Metadata

K1 = 1.2
B = 0.75


@dataclass
class _Tenant:
    docs: dict[str, Document] = field(default_factory=dict)
    doc_chunks: dict[str, list[str]] = field(default_factory=dict)
    chunks: dict[str, Chunk] = field(default_factory=dict)
    vectors: dict[str, Vector] = field(default_factory=dict)
    embedder: dict[str, str | None] = field(default_factory=dict)
    terms: dict[str, Counter[str]] = field(default_factory=dict)
    lengths: dict[str, int] = field(default_factory=dict)
    df: Counter[str] = field(default_factory=Counter)
    total_length: int = 0
    matrix: tuple[list[str], Matrix] | None = None

    def dimension(self) -> int | None:
        for v in self.vectors.values():
            return int(v.shape[0])
        return None

    def remove_document(self, document_id: str) -> None:
        for cid in self.doc_chunks.pop(document_id, []):
            self.chunks.pop(cid, None)
            self.vectors.pop(cid, None)
            self.embedder.pop(cid, None)
            terms = self.terms.pop(cid, Counter())
            self.df.subtract(terms.keys())
            self.total_length -= self.lengths.pop(cid, 0)
        self.df = +self.df  # drop zero counts
        self.docs.pop(document_id, None)
        self.matrix = None


def _copy_chunk(chunk: Chunk) -> Chunk:
    return replace(
        chunk, section_path=list(chunk.section_path), metadata=copy.deepcopy(chunk.metadata)
    )


def _copy_document(document: Document) -> Document:
    return replace(document, metadata=copy.deepcopy(document.metadata))


class MemoryStore:
    """Thread-safe in-memory store; ``memory://`` in a config. Data lives until closed."""

    def __init__(self) -> None:
        self._tenants: dict[str, _Tenant] = {}
        self._claims: dict[tuple[str, str], DocumentClaim] = {}  # (tenant, document id)
        self._lock = threading.RLock()

    def _tenant(self, tenant: str) -> _Tenant:
        return self._tenants.get(tenant) or _Tenant()

    # -- documents ---------------------------------------------------------------

    def upsert_document(
        self, document: Document, chunks: Sequence[Chunk], embeddings: Matrix
    ) -> None:
        matrix = validate_upsert(document, chunks, embeddings)
        with self._lock:
            t = self._tenants.get(document.tenant) or _Tenant()
            for chunk in chunks:
                owner = t.chunks.get(chunk.id)
                if owner is not None and owner.document_id != document.id:
                    raise InputError(
                        f"chunk id {chunk.id!r} already belongs to document "
                        f"{owner.document_id!r} in tenant {document.tenant!r}",
                        hint="chunk ids must be unique within a tenant; derive them from the "
                        "document id",
                    )
            existing = next(
                (
                    int(t.vectors[c].shape[0])
                    for d, ids in t.doc_chunks.items()
                    if d != document.id
                    for c in ids
                ),
                None,
            )
            check_dimension(matrix, existing, document.id)
            # Everything is valid: swap.
            t.remove_document(document.id)
            stored = _copy_document(document)
            stored.chunk_count = len(chunks)
            stored.updated_at = document.updated_at or time.time()
            t.docs[document.id] = stored
            t.doc_chunks[document.id] = [c.id for c in chunks]
            for chunk, vector in zip(chunks, matrix, strict=True):
                t.chunks[chunk.id] = _copy_chunk(chunk)
                t.vectors[chunk.id] = vector.copy()
                t.embedder[chunk.id] = document.embedder
                terms = Counter(tokenize(chunk.indexed_text))
                t.terms[chunk.id] = terms
                t.df.update(terms.keys())
                length = sum(terms.values())
                t.lengths[chunk.id] = length
                t.total_length += length
            self._tenants[document.tenant] = t

    def get_document(self, tenant: str, document_id: str) -> Document | None:
        with self._lock:
            doc = self._tenant(tenant).docs.get(document_id)
            return _copy_document(doc) if doc is not None else None

    def list_documents(self, tenant: str) -> list[Document]:
        with self._lock:
            docs = self._tenant(tenant).docs
            return [_copy_document(docs[d]) for d in sorted(docs)]

    def delete_document(self, tenant: str, document_id: str) -> bool:
        with self._lock:
            t = self._tenants.get(tenant)
            if t is None or document_id not in t.docs:
                return False
            t.remove_document(document_id)
            if not t.docs:
                del self._tenants[tenant]
            return True

    def update_chunk_metadata(self, tenant: str, metadata: Mapping[str, Metadata]) -> int:
        with self._lock:
            t = self._tenants.get(tenant)
            if t is None:
                return 0
            updated = 0
            for chunk_id, value in metadata.items():
                chunk = t.chunks.get(chunk_id)
                if chunk is not None:
                    t.chunks[chunk_id] = replace(chunk, metadata=copy.deepcopy(dict(value)))
                    updated += 1
            return updated

    # -- ingest claims -------------------------------------------------------------

    def claim_documents(
        self,
        tenant: str,
        documents: Mapping[str, str],
        *,
        holder: ClaimHolder,
        timeout_s: float,
    ) -> ClaimOutcome:
        outcome = ClaimOutcome()
        now = time.time()
        with self._lock:
            docs = self._tenant(tenant).docs
            asked: dict[str, str] = {}
            for doc_id, content_hash in documents.items():
                doc = docs.get(doc_id)
                if doc is not None and doc.content_hash == content_hash:
                    outcome.stored[doc_id] = _copy_document(doc)
                else:
                    asked[doc_id] = content_hash
            held = {d: c for d in asked if (c := self._claims.get((tenant, d))) is not None}
            free, outcome.busy = decide_claims(asked, held, holder, timeout_s=timeout_s, now=now)
            for doc_id in free:
                self._claims[(tenant, doc_id)] = DocumentClaim(
                    doc_id, asked[doc_id], holder.id, holder.host, holder.pid, now
                )
            outcome.claimed = free
        return outcome

    def release_documents(
        self, tenant: str, document_ids: Sequence[str], *, holder: ClaimHolder
    ) -> None:
        with self._lock:
            for doc_id in document_ids:
                claim = self._claims.get((tenant, doc_id))
                if claim is not None and claim.holder == holder.id:
                    del self._claims[(tenant, doc_id)]

    # -- chunks and vectors --------------------------------------------------------

    def get_chunks(self, tenant: str, chunk_ids: Sequence[str]) -> list[Chunk]:
        with self._lock:
            chunks = self._tenant(tenant).chunks
            return [_copy_chunk(chunks[c]) for c in chunk_ids if c in chunks]

    def document_chunks(self, tenant: str, document_id: str) -> list[Chunk]:
        with self._lock:
            t = self._tenant(tenant)
            chunks = [t.chunks[c] for c in t.doc_chunks.get(document_id, [])]
            return [_copy_chunk(c) for c in sorted(chunks, key=lambda c: c.ordinal)]

    def get_embeddings(self, tenant: str, chunk_ids: Sequence[str]) -> Matrix:
        with self._lock:
            t = self._tenant(tenant)
            if not chunk_ids:
                return np.zeros((0, t.dimension() or 0), dtype=np.float32)
            return stack_vectors(tenant, chunk_ids, t.vectors)

    def embeddings_by_hash(
        self, tenant: str, content_hashes: Sequence[str], embedder: str
    ) -> dict[str, Vector]:
        wanted = set(content_hashes)
        out: dict[str, Vector] = {}
        with self._lock:
            t = self._tenant(tenant)
            for cid, chunk in t.chunks.items():
                h = chunk.content_hash
                if h in wanted and h not in out and t.embedder.get(cid) == embedder:
                    out[h] = t.vectors[cid].copy()
        return out

    # -- search --------------------------------------------------------------------

    def keyword_search(
        self, tenant: str, query: str, *, k: int, filters: Sequence[Condition] = ()
    ) -> list[ScoredChunk]:
        terms = set(tokenize(query if isinstance(query, str) else ""))
        if not terms or k <= 0:
            return []
        with self._lock:
            t = self._tenant(tenant)
            n = len(t.chunks)
            if n == 0:
                return []
            avgdl = t.total_length / n or 1.0
            idf = {
                term: math.log(1.0 + (n - t.df[term] + 0.5) / (t.df[term] + 0.5))
                for term in terms
                if t.df[term]
            }
            scored: list[tuple[float, int, str]] = []
            for pos, (cid, tf) in enumerate(t.terms.items()):
                score = 0.0
                for term, w in idf.items():
                    f = tf.get(term, 0)
                    if f:
                        norm = K1 * (1 - B + B * t.lengths[cid] / avgdl)
                        score += w * f * (K1 + 1) / (f + norm)
                if score > 0 and matches(t.chunks[cid], filters):
                    scored.append((-score, pos, cid))
            scored.sort()
            return [ScoredChunk(_copy_chunk(t.chunks[cid]), -neg) for neg, _, cid in scored[:k]]

    def vector_search(
        self, tenant: str, vector: Vector, *, k: int, filters: Sequence[Condition] = ()
    ) -> list[ScoredChunk]:
        with self._lock:
            t = self._tenant(tenant)
            if not t.vectors or k <= 0:
                return []
            q = normalize_query(vector, t.dimension())
            if q is None:
                return []
            if t.matrix is None:
                ids = list(t.vectors)
                t.matrix = (ids, np.stack([t.vectors[c] for c in ids]))
            ids, matrix = t.matrix
            scores = dot_rows(matrix, q)
            if filters:
                keep = np.array([matches(t.chunks[c], filters) for c in ids], dtype=bool)
                scores = np.where(keep, scores, -np.inf).astype(np.float32)
            out: list[ScoredChunk] = []
            for i in top_k(scores, k):
                if not np.isfinite(scores[i]):
                    break
                out.append(ScoredChunk(_copy_chunk(t.chunks[ids[i]]), float(scores[i])))
            return out

    # -- bookkeeping ---------------------------------------------------------------

    def stats(self, tenant: str) -> StoreStats:
        with self._lock:
            t = self._tenant(tenant)
            return StoreStats(documents=len(t.docs), chunks=len(t.chunks))

    def tenants(self) -> list[str]:
        with self._lock:
            return sorted(name for name, t in self._tenants.items() if t.docs)

    def close(self) -> None:
        with self._lock:
            self._tenants.clear()
            self._claims.clear()

    def __repr__(self) -> str:
        return f"MemoryStore(tenants={len(self._tenants)})"
