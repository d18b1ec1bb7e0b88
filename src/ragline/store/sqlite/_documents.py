"""``SQLiteStore``: the default store, one SQLite file with FTS5 and float32 vectors.

- WAL journal, foreign keys, a busy timeout; schema from :mod:`._migrations`.
- Keyword search is BM25 over per-chunk term-count blobs written in the upsert
  transaction and turned into an in-memory postings index per tenant (see
  :mod:`._bm25` for why FTS5's own ``bm25()`` ranking is too slow at 100k chunks).
  User text is only ever tokenized, never parsed as a query, so nothing can raise.
- ``chunks_fts`` (FTS5, ``porter unicode61 remove_diacritics 2``) is an external-content
  index over ``chunks.indexed_text``, kept in sync by triggers in the same transaction,
  for phrase/prefix lookups and snippets (:func:`fts_query` makes any text safe for it).
- Vector search is brute-force cosine over a per-tenant float32 matrix cached in
  memory and reloaded when the tenant's generation changes (any process's write);
  above ``ann_threshold`` chunks it goes through a per-tenant HNSW index persisted
  beside the file (:mod:`._vector_plan` decides, :mod:`._ann` keeps the index).
- Filters are evaluated with the reference semantics on each distinct value of a
  field (see :class:`~ragline.store._common.FilterColumns`), before the top ``k``.
- One connection, a :class:`~ragline.store.sqlite._connect.Database` with
  ``synchronous=FULL`` (the project's data), shared by threads behind its lock.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import numpy as np

from ragline._text import query_terms, tokenize
from ragline.errors import InputError
from ragline.store._base import ClosesOnExit, Matrix, ScoredChunk, StoreStats, Vector
from ragline.store._claims import (
    CLAIM_COLUMNS,
    ClaimHolder,
    ClaimOutcome,
    claim_from_row,
    decide_claims,
)
from ragline.store._common import normalize_query, stack_vectors, top_k, validate_upsert
from ragline.store._filters import Condition
from ragline.store._plan import note_plan
from ragline.store._rows import CHUNK, DOCUMENT
from ragline.store.sqlite._connect import Database
from ragline.store.sqlite._index import (
    TenantSnapshot,
    bump_generation,
    tenant_generation,
    term_blobs,
    term_ids,
)
from ragline.store.sqlite._vector_plan import (
    ANN_THRESHOLD,
    AnnIndexes,
    VectorPlan,
    ann_search,
    plan_search,
)
from ragline.types import Chunk, Document, Metadata

_CHUNK_COLS = "pk, " + CHUNK.select()  # the row id first, then the shared layout
_DOC_COLS = DOCUMENT.select()


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _fresh(c: Chunk) -> Chunk:
    """A copy of a cached chunk (its list and dict copied too: callers may edit them).

    Built field by field: ``dataclasses.replace`` costs ~5 µs a chunk, and a search
    copies every candidate (measured: +0.5 ms per ask at 5k chunks).
    """
    return Chunk(
        c.id,
        c.document_id,
        c.ordinal,
        c.text,
        c.title,
        c.tenant,
        list(c.section_path),
        c.page,
        c.language,
        c.doc_type,
        c.source,
        c.content_hash,
        dict(c.metadata),
    )


_NO_VECTORS: Matrix = np.zeros((0, 0), dtype=np.float32)


def _document_pks(conn: sqlite3.Connection, tenant: str, document_id: str) -> list[int]:
    """The row ids of a document's chunks, in ordinal order (the upsert's row order)."""
    rows = conn.execute(
        "SELECT pk FROM chunks WHERE tenant = ? AND document_id = ? ORDER BY ordinal, pk",
        (tenant, document_id),
    ).fetchall()
    return [int(r[0]) for r in rows]


def fts_query(text: str) -> str:
    """A safe FTS5 query for any user text: its non-stopword words, quoted, ORed."""
    return " OR ".join(f'"{t}"' for t in query_terms(text))


class SQLiteStore(ClosesOnExit):
    """The default store: ``SQLiteStore("ragline.db")`` or ``SQLiteStore(":memory:")``."""

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout_ms: int = 10_000,
        max_cached_tenants: int = 16,
        ann_threshold: int = ANN_THRESHOLD,
    ) -> None:
        self.path = str(path)
        self.max_cached_tenants = max(1, max_cached_tenants)
        # the documents are the project's data: FULL, so a power cut loses no commit
        self._db = Database(
            self.path,
            what="store",
            busy_timeout_ms=busy_timeout_ms,
            foreign_keys=True,
            synchronous="FULL",
        )
        self._snapshots: dict[str, TenantSnapshot] = {}  # read and written under its lock
        self._ann = AnnIndexes(self.path, ann_threshold)

    # -- plumbing --------------------------------------------------------------------

    def transaction(
        self, *, write: bool = True, durable: bool = True
    ) -> AbstractContextManager[sqlite3.Connection]:
        """One transaction under the store's lock; commits on success, rolls back on error.

        For later layers' own tables (the response cache): ``with store.transaction() as
        conn: conn.execute(...)``. SQLite errors are raised as :class:`StoreError`.
        Nested calls join the outer transaction (see :meth:`Database.transaction`).
        """
        return self._db.transaction(write=write, durable=durable)

    def _committed(self) -> bool:
        """Whether the write just done is committed (not joined to an outer transaction,
        which may still roll back: then the ANN index is caught up by the next search)."""
        return not self._db.conn.in_transaction

    def _snapshot(self, conn: sqlite3.Connection, tenant: str) -> TenantSnapshot:
        generation = tenant_generation(conn, tenant)
        snap = self._snapshots.pop(tenant, None)
        if snap is None or snap.generation != generation:
            snap = TenantSnapshot(conn, tenant, generation)
        self._snapshots[tenant] = snap  # most recently used last
        while len(self._snapshots) > self.max_cached_tenants:
            del self._snapshots[next(iter(self._snapshots))]
        return snap

    def _chunks_by_pk(
        self, conn: sqlite3.Connection, pks: Sequence[int], snap: TenantSnapshot
    ) -> dict[int, Chunk]:
        """Chunks by row id: from the snapshot's cache, the rest from SQLite."""
        found = {int(p): snap.chunks[int(p)] for p in pks if int(p) in snap.chunks}
        ints = [int(p) for p in pks if int(p) not in found]
        if len(ints) > 500:
            sql = f"SELECT {_CHUNK_COLS} FROM chunks WHERE pk IN (SELECT value FROM json_each(?))"
            rows = conn.execute(sql, (json.dumps(ints),)).fetchall()
        elif ints:  # bound parameters are fastest for a small k
            marks = ",".join("?" * len(ints))
            sql = f"SELECT {_CHUNK_COLS} FROM chunks WHERE pk IN ({marks})"
            rows = conn.execute(sql, ints).fetchall()
        else:
            rows = []
        for r in rows:
            found[int(r[0])] = chunk = CHUNK.decode(r[1:])
            snap.remember(int(r[0]), chunk)
        return {pk: _fresh(chunk) for pk, chunk in found.items()}

    # -- documents -------------------------------------------------------------------

    def upsert_document(
        self, document: Document, chunks: Sequence[Chunk], embeddings: Matrix
    ) -> None:
        matrix = validate_upsert(document, chunks, embeddings)
        tenant, doc_id = document.tenant, document.id
        with self.transaction(write=True) as conn:
            clash = conn.execute(
                "SELECT id, document_id FROM chunks WHERE tenant = ? AND document_id != ? "
                "AND id IN (SELECT value FROM json_each(?)) LIMIT 1",
                (tenant, doc_id, _dumps([c.id for c in chunks])),
            ).fetchone()
            if clash:
                raise InputError(
                    f"chunk id {clash[0]!r} already belongs to document {clash[1]!r} in "
                    f"tenant {tenant!r}",
                    hint="chunk ids must be unique within a tenant; derive them from the "
                    "document id",
                )
            if len(chunks):
                row = conn.execute(
                    "SELECT length(embedding) FROM chunks WHERE tenant = ? AND document_id != ? "
                    "LIMIT 1",
                    (tenant, doc_id),
                ).fetchone()
                if row and row[0] // 4 != matrix.shape[1]:
                    raise InputError(
                        f"document {doc_id!r} has {matrix.shape[1]}-dimensional embeddings "
                        f"but this tenant's stored vectors have {row[0] // 4} dimensions",
                        hint="use one embedder per store, or delete the tenant's documents "
                        "and re-ingest",
                    )
            removed = _document_pks(conn, tenant, doc_id)
            conn.execute(
                "DELETE FROM chunks WHERE tenant = ? AND document_id = ?", (tenant, doc_id)
            )
            conn.execute(
                f"INSERT INTO documents ({_DOC_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT (tenant, id) DO UPDATE SET source = excluded.source, "
                "title = excluded.title, content_hash = excluded.content_hash, "
                "doc_type = excluded.doc_type, language = excluded.language, "
                "metadata = excluded.metadata, embedder = excluded.embedder, "
                "chunk_count = excluded.chunk_count, updated_at = excluded.updated_at",
                (
                    doc_id,
                    document.source,
                    document.title,
                    document.content_hash,
                    tenant,
                    document.doc_type,
                    document.language,
                    _dumps(document.metadata),
                    document.embedder,
                    len(chunks),
                    document.updated_at or time.time(),
                ),
            )
            texts = [c.indexed_text for c in chunks]
            blobs = term_blobs(conn, texts)
            conn.executemany(
                "INSERT INTO chunks (tenant, id, document_id, ordinal, text, title, "
                "section_path, page, language, doc_type, source, content_hash, metadata, "
                "indexed_text, embedding, term_counts) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    (
                        tenant,
                        c.id,
                        doc_id,
                        c.ordinal,
                        c.text,
                        c.title,
                        _dumps(list(c.section_path)),
                        c.page,
                        c.language,
                        c.doc_type,
                        c.source,
                        c.content_hash,
                        _dumps(c.metadata),
                        texts[i],
                        matrix[i].tobytes(),
                        blobs[i],
                    )
                    for i, c in enumerate(chunks)
                ),
            )
            added = _document_pks(conn, tenant, doc_id)
            before = tenant_generation(conn, tenant)
            bump_generation(conn, tenant)
            self._snapshots.pop(tenant, None)
        # committed: now the ANN index (a crash before this is caught up from SQLite)
        self._ann.applied(
            tenant, before, before + 1 if self._committed() else -1, removed, added, matrix
        )

    def get_document(self, tenant: str, document_id: str) -> Document | None:
        with self.transaction(write=False) as conn:
            row = conn.execute(
                f"SELECT {_DOC_COLS} FROM documents WHERE tenant = ? AND id = ?",
                (tenant, document_id),
            ).fetchone()
        return DOCUMENT.decode(row) if row else None

    def list_documents(self, tenant: str) -> list[Document]:
        with self.transaction(write=False) as conn:
            rows = conn.execute(
                f"SELECT {_DOC_COLS} FROM documents WHERE tenant = ? ORDER BY id", (tenant,)
            ).fetchall()
        return [DOCUMENT.decode(r) for r in rows]

    def delete_document(self, tenant: str, document_id: str) -> bool:
        with self.transaction(write=True) as conn:
            removed = _document_pks(conn, tenant, document_id)
            before = tenant_generation(conn, tenant)
            conn.execute(
                "DELETE FROM chunks WHERE tenant = ? AND document_id = ?", (tenant, document_id)
            )
            cur = conn.execute(
                "DELETE FROM documents WHERE tenant = ? AND id = ?", (tenant, document_id)
            )
            deleted = cur.rowcount > 0
            if deleted:
                bump_generation(conn, tenant)
                self._snapshots.pop(tenant, None)
        if deleted:
            self._ann.applied(
                tenant, before, before + 1 if self._committed() else -1, removed, [], _NO_VECTORS
            )
        return deleted

    def update_chunk_metadata(self, tenant: str, metadata: Mapping[str, Metadata]) -> int:
        if not metadata:
            return 0
        with self.transaction(write=True) as conn:
            cur = conn.executemany(
                "UPDATE chunks SET metadata = ? WHERE tenant = ? AND id = ?",
                [(_dumps(dict(value)), tenant, cid) for cid, value in metadata.items()],
            )
            updated = max(cur.rowcount, 0)
            before = tenant_generation(conn, tenant)
            if updated:  # the snapshot caches chunks and filter columns: reload it
                bump_generation(conn, tenant)
                self._snapshots.pop(tenant, None)
        if updated:  # vectors unchanged: the ANN index only moves to the new generation
            self._ann.applied(
                tenant, before, before + 1 if self._committed() else -1, [], [], _NO_VECTORS
            )
        return updated

    # -- ingest claims ---------------------------------------------------------------

    def claim_documents(
        self,
        tenant: str,
        documents: Mapping[str, str],
        *,
        holder: ClaimHolder,
        timeout_s: float,
    ) -> ClaimOutcome:
        outcome = ClaimOutcome()
        if not documents:
            return outcome
        ids = _dumps(list(documents))
        # One write transaction (BEGIN IMMEDIATE): claims of other processes serialize.
        # Not durable: a claim lost to a power cut only lets another run redo the work.
        with self.transaction(write=True, durable=False) as conn:
            now = time.time()
            rows = conn.execute(
                f"SELECT {_DOC_COLS} FROM documents WHERE tenant = ? "
                "AND id IN (SELECT value FROM json_each(?))",
                (tenant, ids),
            ).fetchall()
            for row in rows:
                doc = DOCUMENT.decode(row)
                if doc.content_hash == documents[doc.id]:
                    outcome.stored[doc.id] = doc
            asked = {d: h for d, h in documents.items() if d not in outcome.stored}
            rows = conn.execute(
                f"SELECT {CLAIM_COLUMNS} FROM document_claims WHERE tenant = ? "
                "AND document_id IN (SELECT value FROM json_each(?))",
                (tenant, ids),
            ).fetchall()
            held = {claim.document_id: claim for claim in map(claim_from_row, rows)}
            free, outcome.busy = decide_claims(asked, held, holder, timeout_s=timeout_s, now=now)
            conn.executemany(
                "INSERT OR REPLACE INTO document_claims (tenant, document_id, content_hash, "
                "holder, host, pid, claimed_at) VALUES (?,?,?,?,?,?,?)",
                [(tenant, d, asked[d], holder.id, holder.host, holder.pid, now) for d in free],
            )
            outcome.claimed = free
        return outcome

    def release_documents(
        self, tenant: str, document_ids: Sequence[str], *, holder: ClaimHolder
    ) -> None:
        if not document_ids:
            return
        with self.transaction(write=True, durable=False) as conn:
            conn.execute(
                "DELETE FROM document_claims WHERE tenant = ? AND holder = ? "
                "AND document_id IN (SELECT value FROM json_each(?))",
                (tenant, holder.id, _dumps(list(document_ids))),
            )

    # -- chunks and vectors ----------------------------------------------------------

    def get_chunks(self, tenant: str, chunk_ids: Sequence[str]) -> list[Chunk]:
        if not chunk_ids:
            return []
        with self.transaction(write=False) as conn:
            rows = conn.execute(
                f"SELECT {_CHUNK_COLS} FROM chunks WHERE tenant = ? "
                "AND id IN (SELECT value FROM json_each(?))",
                (tenant, _dumps(list(chunk_ids))),
            ).fetchall()
        by_id = {r[1]: r for r in rows}
        return [CHUNK.decode(by_id[c][1:]) for c in chunk_ids if c in by_id]

    def document_chunks(self, tenant: str, document_id: str) -> list[Chunk]:
        with self.transaction(write=False) as conn:
            rows = conn.execute(
                f"SELECT {_CHUNK_COLS} FROM chunks WHERE tenant = ? AND document_id = ? "
                "ORDER BY ordinal, id",
                (tenant, document_id),
            ).fetchall()
        return [CHUNK.decode(r[1:]) for r in rows]

    def get_embeddings(self, tenant: str, chunk_ids: Sequence[str]) -> Matrix:
        with self.transaction(write=False) as conn:
            rows = conn.execute(
                "SELECT id, embedding FROM chunks WHERE tenant = ? "
                "AND id IN (SELECT value FROM json_each(?))",
                (tenant, _dumps(list(chunk_ids))),
            ).fetchall()
            if not chunk_ids:
                row = conn.execute(
                    "SELECT length(embedding) FROM chunks WHERE tenant = ? LIMIT 1", (tenant,)
                ).fetchone()
                return np.zeros((0, row[0] // 4 if row else 0), dtype=np.float32)
        found = {r[0]: np.frombuffer(r[1], dtype=np.float32) for r in rows}
        return stack_vectors(tenant, chunk_ids, found)

    def embeddings_by_hash(
        self, tenant: str, content_hashes: Sequence[str], embedder: str
    ) -> dict[str, Vector]:
        if not content_hashes:
            return {}
        with self.transaction(write=False) as conn:
            rows = conn.execute(
                "SELECT c.content_hash, c.embedding FROM chunks c JOIN documents d "
                "ON d.tenant = c.tenant AND d.id = c.document_id "
                "WHERE c.tenant = ? AND d.embedder = ? "
                "AND c.content_hash IN (SELECT value FROM json_each(?))",
                (tenant, embedder, _dumps(list(set(content_hashes)))),
            ).fetchall()
        out: dict[str, Vector] = {}
        for h, blob in rows:
            if h not in out:
                out[h] = np.frombuffer(blob, dtype=np.float32).copy()
        return out

    # -- search ----------------------------------------------------------------------

    def keyword_search(
        self, tenant: str, query: str, *, k: int, filters: Sequence[Condition] = ()
    ) -> list[ScoredChunk]:
        words = set(tokenize(query)) if isinstance(query, str) else set()
        if not words or k <= 0:
            return []
        with self.transaction(write=False) as conn:
            snap = self._snapshot(conn, tenant)
            ids = term_ids(conn, words, create=False)
            if not len(snap) or not ids:
                return []
            index = snap.bm25()
            mask = snap.mask(filters)
        # Scoring runs outside the store's lock (the snapshot's indexes are read-only),
        # so concurrent searches overlap their numpy work.
        scores = index.scores(ids.values())
        if mask is not None:
            scores[~mask] = 0.0
        candidates = np.flatnonzero(scores > 0)
        best = candidates[top_k(scores[candidates], k)]
        return self._scored(snap, [int(snap.pks[i]) for i in best], scores[best])

    def vector_search(
        self, tenant: str, vector: Vector, *, k: int, filters: Sequence[Condition] = ()
    ) -> list[ScoredChunk]:
        if k <= 0:
            return []
        with self.transaction(write=False) as conn:
            snap = self._snapshot(conn, tenant)
            if not len(snap):
                return []
            index = snap.vectors()
            mask = snap.mask(filters)
            plan = plan_search(len(snap), k, mask, self._ann.threshold)
            ann, why = (
                self._ann.get(conn, snap, index.matrix) if plan.method == "ann" else (None, "")
            )
        q = normalize_query(vector, index.dimension)
        if q is None:
            return []
        found = None
        if ann is not None:
            found = ann_search(ann, snap, index.matrix, q, k, mask, plan)
            if found is None:
                plan = VectorPlan("exact", "filter left too few ANN candidates")
        elif plan.method == "ann":
            plan = VectorPlan("exact", why)
        if found is None:  # outside the lock, as in keyword_search
            found = index.search(q, k, mask)
        note_plan(plan.attributes())  # the dense retriever's span records it
        rows, scores = found
        return self._scored(snap, [int(snap.pks[i]) for i in rows], scores)

    def _scored(
        self, snap: TenantSnapshot, pks: list[int], scores: Sequence[float] | np.ndarray
    ) -> list[ScoredChunk]:
        """The chunks of a search's row ids with their scores, best first.

        A chunk deleted by a write that committed after the search read its snapshot
        is left out (the search then answers from the state just before that write).
        """
        if not pks:
            return []
        with self.transaction(write=False) as conn:
            by_pk = self._chunks_by_pk(conn, pks, snap)
        return [
            ScoredChunk(by_pk[p], float(s)) for p, s in zip(pks, scores, strict=True) if p in by_pk
        ]

    # -- bookkeeping -----------------------------------------------------------------

    def stats(self, tenant: str) -> StoreStats:
        with self.transaction(write=False) as conn:
            docs = conn.execute("SELECT count(*) FROM documents WHERE tenant = ?", (tenant,))
            n_docs = int(docs.fetchone()[0])
            chunks = conn.execute("SELECT count(*) FROM chunks WHERE tenant = ?", (tenant,))
            n_chunks = int(chunks.fetchone()[0])
        return StoreStats(documents=n_docs, chunks=n_chunks)

    def tenants(self) -> list[str]:
        with self.transaction(write=False) as conn:
            rows = conn.execute("SELECT DISTINCT tenant FROM documents ORDER BY tenant").fetchall()
        return [str(r[0]) for r in rows]

    def connection(self) -> sqlite3.Connection:
        """The underlying connection (autocommit mode); prefer :meth:`transaction`."""
        return self._db.conn

    def close(self) -> None:
        with self._db.lock:
            self._snapshots.clear()
            if not self._db.closed:
                self._ann.save_all(self._db.conn)
            self._db.close()

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"
