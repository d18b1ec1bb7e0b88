"""``PostgresStore``: the ``Store`` contract on PostgreSQL with pgvector.

Schema (see :mod:`._migrations`): ``documents`` and ``chunks`` keyed by
``(tenant, id)``; metadata in JSONB with GIN indexes; a ``tsvector`` per chunk with a
GIN index; embeddings in a pgvector ``vector`` column.

- **Vectors.** The column is ``vector`` without a fixed dimension, so one database
  serves any embedder; for each dimension seen an HNSW *expression* index
  ``((embedding::vector(d)) vector_ip_ops) WHERE vector_dims(embedding) = d`` is
  created on first use. Rows are L2-normalised on write, so inner product is cosine
  (and a zero vector scores 0 instead of NaN as it would with ``<=>``). The bundled
  pgvector is 0.6, which has no iterative index scans: the HNSW index is used when
  the tenant's (and the filters') share of the indexed rows lets ``ef_search`` ≤ 1000
  candidates yield ``k`` hits, otherwise — or when it yields fewer — the search is an
  exact scan of the tenant's matching rows, so filters always apply before the top
  ``k`` (see :mod:`._search`).
- **Keyword search.** ``tsvector`` built with the text-search configuration of the
  chunk's language (``en`` → ``english``, ``es`` → ``spanish``…, unknown codes →
  ``simple``; no language → ``english``, like the SQLite store's porter stemmer) from
  the lowercased, accent-folded words of ``indexed_text``. User text is reduced to its
  words (:func:`ragline._text.query_terms`) and ORed, in every configuration the tenant
  uses, so any text is safe and recall is BM25-like. Ranking is Okapi BM25 computed
  in SQL (``keyword_scoring="ts_rank_cd"`` for PostgreSQL's own rank), exact but
  over a MaxScore-pruned candidate set (:mod:`._search`).
- **Filters** have exactly the reference semantics of :func:`ragline.store.matches`:
  each condition is evaluated in Python on the *distinct* values the field takes in
  the tenant (cached per tenant generation) and becomes ``value = ANY(…)`` in SQL.
- **Tenants.** Every statement runs in a transaction that first sets
  ``ragline.tenant`` (``set_config(…, true)``); row-level security on every tenant
  table limits rows to that tenant even if a query forgot its ``WHERE tenant``.
  Under row-level security the planner uses an index only for *leakproof*
  operators, and PostgreSQL ships ``@@`` (full text) and ``@>`` (jsonb) unmarked, so
  the GIN indexes go unused and keyword search reads every row of the table; the
  store says so once at open, with the two ``ALTER FUNCTION … LEAKPROOF`` statements
  a superuser can run in the database (:func:`._search.enable_index_search`).
- **Connections.** A ``psycopg_pool.ConnectionPool``; connections are checked on
  checkout, so a restarted server is reconnected to transparently, and an operation
  that lost its connection midway is retried once when it is idempotent.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from ragline._text import query_terms
from ragline.errors import InputError, RaglineError, StoreError
from ragline.store._base import ClosesOnExit, Matrix, ScoredChunk, StoreStats, Vector
from ragline.store._claims import ClaimHolder, ClaimOutcome
from ragline.store._common import stack_vectors, validate_upsert
from ragline.store._filters import Condition, condition_matches
from ragline.store._rows import CHUNK, DOCUMENT
from ragline.types import Chunk, Document, Metadata

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool


from ragline.store.postgres._claims import claim_rows, release_rows
from ragline.store.postgres._rows import (
    _CHUNK_COLS,
    _DOC_COLS,
    DEFAULT_CONFIG,
    HNSW_MAX_DIMENSION,
    LANGUAGE_CONFIGS,
    _connect_error,
    _dumps,
    _field_sql,
    _field_value,
    _vec_from_binary,
    _vec_literal,
    clean_text,
    describe_url,
    fts_text,
    normalize_url,
    scrub_password,
)
from ragline.store.postgres._search import (
    INDEX_SEARCH_HINT,
    INDEX_SEARCH_PROBLEM,
    index_search_enabled,
    keyword_rows,
    vector_rows,
)

log = logging.getLogger("ragline.store")


T = TypeVar("T")


class PostgresStore(ClosesOnExit):
    """The store on PostgreSQL: ``PostgresStore("postgresql://user:pw@host:5432/db")``.

    Connect as an ordinary role that owns the tables (or has been granted access to
    them): superusers and ``BYPASSRLS`` roles skip row-level security. ``migrate``
    applies pending schema migrations on open (as ``ragline migrate`` does).
    ``keyword_max_rows`` bounds the rows one keyword search scores: BM25 ranking is
    exact while the query's essential words (see :mod:`._search`) match at
    most that many chunks; beyond it, rows matching only the most common words of the
    query are not scored.
    """

    def __init__(
        self,
        url: str,
        *,
        min_connections: int = 1,
        max_connections: int = 10,
        connect_timeout: float = 10.0,
        pool_timeout: float = 30.0,
        migrate: bool = True,
        ef_search: int = 100,
        keyword_scoring: str = "bm25",
        stats_ttl: float = 60.0,
        keyword_max_rows: int = 20_000,
    ) -> None:
        try:
            import psycopg
            from psycopg_pool import ConnectionPool
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise StoreError(
                "the PostgreSQL store needs psycopg and psycopg-pool",
                hint="pip install 'ragline[postgres]'",
            ) from e
        self.url = normalize_url(url)
        self.where, self.safe_url = describe_url(self.url)
        self.ef_search = max(10, int(ef_search))
        if keyword_scoring not in ("bm25", "ts_rank_cd"):
            raise StoreError(
                f"unknown keyword_scoring {keyword_scoring!r}", hint="use 'bm25' or 'ts_rank_cd'"
            )
        self.keyword_scoring = keyword_scoring
        self.stats_ttl = stats_ttl
        self.keyword_max_rows = max(1, int(keyword_max_rows))
        self._stats: dict[str, tuple[int, float, int, float, dict[str, int]]] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._indexed_dims: set[int] = set()
        self._cache: dict[tuple[str, str], tuple[int, Any]] = {}
        self._connect_timeout = connect_timeout
        # One direct connection first: clear errors (refused, bad password) and migrations.
        try:
            with psycopg.connect(
                self.url, autocommit=True, connect_timeout=max(1, int(connect_timeout))
            ) as conn:
                if migrate:
                    from ragline.store.postgres._migrations import apply_pg_migrations

                    apply_pg_migrations(conn)
                self._configs = {
                    str(r[0]) for r in conn.execute("SELECT cfgname FROM pg_ts_config")
                }
                from ragline.store.postgres._roles import ROLE_HINT, role_security

                #: the connected role, and why row-level security does not bind it
                #: (``None``: it does)
                self.role, self.row_security_problem = role_security(conn)
                bypass = self.row_security_problem is not None
                if bypass:
                    log.warning(
                        "%s: %s: row-level security does not apply; %s",
                        self.safe_url,
                        self.row_security_problem,
                        ROLE_HINT,
                    )
                self.index_search = bypass or index_search_enabled(conn)
                if not self.index_search:
                    log.warning(
                        "%s: %s; %s",
                        self.safe_url,
                        INDEX_SEARCH_PROBLEM,
                        INDEX_SEARCH_HINT,
                    )
        except psycopg.Error as e:
            raise self._connect_error(e) from None
        self._pool: ConnectionPool[Any] = ConnectionPool(
            self.url,
            min_size=max(0, min_connections),
            max_size=max(1, max_connections, min_connections),
            kwargs={"autocommit": True, "connect_timeout": max(1, int(connect_timeout))},
            configure=self._configure,
            check=ConnectionPool.check_connection,
            timeout=pool_timeout,
            name=f"ragline-{self.where}",
            open=False,
        )
        self._pool.open()

    # -- plumbing --------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        return scrub_password(self.url, text)

    def _connect_error(self, e: Exception) -> StoreError:
        return _connect_error(self.url, e)

    @staticmethod
    def _configure(conn: psycopg.Connection[Any]) -> None:
        conn.execute("SET jit = off")

    @contextmanager
    def tenant_transaction(
        self, tenant: str | None = None, *, all_tenants: bool = False
    ) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection in one transaction with ``ragline.tenant`` set.

        For later layers' own tables: ``with store.tenant_transaction("acme") as conn:``.
        (Not named ``transaction``: that is the SQLite store's sqlite3-typed hook.)
        Commits on success, rolls back on error. No retry: see :meth:`run`.
        """
        if self._closed:
            raise StoreError(f"store {self.safe_url} is closed", hint="open a new store")
        with self._pool.connection() as conn, conn.transaction():
            if tenant is not None:
                conn.execute("SELECT set_config('ragline.tenant', %s, true)", (tenant,))
            if all_tenants:  # tables whose policy allows an explicit cross-tenant view
                conn.execute("SELECT set_config('ragline.all_tenants', 'on', true)")
            yield conn

    def run(
        self,
        tenant: str | None,
        fn: Callable[[psycopg.Connection[Any]], T],
        *,
        idempotent: bool = True,
        all_tenants: bool = False,
    ) -> T:
        """``fn(conn)`` in :meth:`tenant_transaction`, with errors mapped to :class:`StoreError`.

        A lost connection (server restart, network) or a deadlock/serialization
        failure is retried once when ``idempotent``.
        """
        import psycopg
        from psycopg_pool import PoolTimeout

        attempts = 2 if idempotent else 1
        for attempt in range(attempts):
            try:
                with self.tenant_transaction(tenant, all_tenants=all_tenants) as conn:
                    return fn(conn)
            except RaglineError:
                raise
            except psycopg.errors.UniqueViolation as e:
                raise InputError(
                    f"duplicate key in {self.safe_url}: {self._scrub(str(e).splitlines()[0])}",
                    hint="chunk ids must be unique within a tenant",
                ) from None
            except PoolTimeout as e:
                raise StoreError(
                    f"cannot connect to PostgreSQL at {self.where}: {self._scrub(str(e))}",
                    hint="check that the server is running; raise pool_timeout or "
                    "max_connections if it is only busy",
                ) from None
            except psycopg.OperationalError as e:
                if attempt + 1 < attempts:
                    log.info("retrying after a lost connection to %s: %s", self.where, e)
                    continue
                raise StoreError(
                    f"lost the connection to PostgreSQL at {self.where}: "
                    f"{self._scrub(str(e).strip())}",
                    hint="check that the server is running; the operation was not completed",
                ) from None
            except psycopg.Error as e:
                raise StoreError(
                    f"PostgreSQL error at {self.where}: {self._scrub(str(e).strip())}",
                    hint="check the server log; the transaction was rolled back",
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _generation(self, conn: psycopg.Connection[Any], tenant: str) -> int:
        row = conn.execute(
            "SELECT generation FROM tenant_state WHERE tenant = %s", (tenant,)
        ).fetchone()
        return int(row[0]) if row else 0

    def _cached(
        self,
        conn: psycopg.Connection[Any],
        tenant: str,
        key: str,
        generation: int,
        load: Callable[[], Any],
    ) -> Any:
        with self._lock:
            hit = self._cache.get((tenant, key))
        if hit is not None and hit[0] == generation:
            return hit[1]
        value = load()
        with self._lock:
            self._cache[(tenant, key)] = (generation, value)
            if len(self._cache) > 512:
                del self._cache[next(iter(self._cache))]
        return value

    def ts_config(self, language: str | None) -> str:
        """The text-search configuration for a chunk language."""
        if not language:
            return DEFAULT_CONFIG
        lang = language.strip().lower().replace("_", "-")
        name = LANGUAGE_CONFIGS.get(lang.split("-")[0], lang)
        return name if name in self._configs else "simple"

    def _ensure_hnsw(self, dim: int) -> None:
        """The HNSW expression index for ``dim``-dimensional vectors (created once)."""
        if dim in self._indexed_dims or dim > HNSW_MAX_DIMENSION:
            return
        import psycopg

        from ragline.store.postgres._migrations import MIGRATION_LOCK_KEY

        name = f"chunks_hnsw_{dim}"
        try:
            with self._pool.connection() as conn:
                exists = conn.execute(
                    "SELECT 1 FROM pg_indexes WHERE tablename = 'chunks' AND indexname = %s",
                    (name,),
                ).fetchone()
                if not exists:
                    with conn.transaction():
                        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
                        conn.execute(
                            f"CREATE INDEX IF NOT EXISTS {name} ON chunks USING hnsw "
                            f"((embedding::vector({dim})) vector_ip_ops) "
                            f"WHERE vector_dims(embedding) = {dim}"
                        )
        except psycopg.Error as e:
            log.warning(
                "no HNSW index for %d-dimensional vectors (%s); vector search scans exactly",
                dim,
                self._scrub(str(e).strip()),
            )
        self._indexed_dims.add(dim)

    # -- documents -------------------------------------------------------------------

    def upsert_document(
        self, document: Document, chunks: Sequence[Chunk], embeddings: Matrix
    ) -> None:
        matrix = validate_upsert(document, chunks, embeddings)
        tenant, doc_id = document.tenant, document.id
        for name in (tenant, doc_id, *(c.id for c in chunks)):
            if "\x00" in name:
                raise InputError(
                    f"id or tenant {name!r} contains a NUL character",
                    hint="PostgreSQL text cannot hold NUL; use printable ids",
                )
        dim = int(matrix.shape[1]) if len(chunks) else 0
        if dim:
            self._ensure_hnsw(dim)
        chunk_ids = [c.id for c in chunks]
        doc_row = (
            doc_id,
            clean_text(document.source),
            clean_text(document.title),
            clean_text(document.content_hash),
            tenant,
            clean_text(document.doc_type),
            clean_text(document.language),
            _dumps(document.metadata),
            clean_text(document.embedder),
            len(chunks),
            document.updated_at or time.time(),
        )
        chunk_rows = [
            (
                tenant,
                c.id,
                doc_id,
                c.ordinal,
                clean_text(c.text),
                clean_text(c.title),
                _dumps(list(c.section_path)),
                c.page,
                clean_text(c.language),
                clean_text(c.doc_type),
                clean_text(c.source),
                clean_text(c.content_hash),
                _dumps(c.metadata),
                self.ts_config(c.language),
                fts_text(c.indexed_text),
                _vec_literal(matrix[i]),
            )
            for i, c in enumerate(chunks)
        ]

        def write(conn: psycopg.Connection[Any]) -> None:
            # The document row first: it serialises concurrent upserts of one document.
            inserted = conn.execute(
                f"INSERT INTO documents ({_DOC_COLS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s) "
                "ON CONFLICT (tenant, id) DO UPDATE SET source = excluded.source, "
                "title = excluded.title, content_hash = excluded.content_hash, "
                "doc_type = excluded.doc_type, language = excluded.language, "
                "metadata = excluded.metadata, embedder = excluded.embedder, "
                "chunk_count = excluded.chunk_count, updated_at = excluded.updated_at "
                "RETURNING (xmax = 0)",
                doc_row,
            ).fetchone()
            if chunk_ids:
                clash = conn.execute(
                    "SELECT id, document_id FROM chunks WHERE tenant = %s "
                    "AND document_id <> %s AND id = ANY(%s) LIMIT 1",
                    (tenant, doc_id, chunk_ids),
                ).fetchone()
                if clash:
                    raise InputError(
                        f"chunk id {clash[0]!r} already belongs to document {clash[1]!r} in "
                        f"tenant {tenant!r}",
                        hint="chunk ids must be unique within a tenant; derive them from "
                        "the document id",
                    )
                row = conn.execute(
                    "SELECT vector_dims(embedding) FROM chunks WHERE tenant = %s "
                    "AND document_id <> %s LIMIT 1",
                    (tenant, doc_id),
                ).fetchone()
                if row and int(row[0]) != dim:
                    raise InputError(
                        f"document {doc_id!r} has {dim}-dimensional embeddings "
                        f"but this tenant's stored vectors have {row[0]} dimensions",
                        hint="use one embedder per store, or delete the tenant's documents "
                        "and re-ingest",
                    )
            old = conn.execute(
                "DELETE FROM chunks WHERE tenant = %s AND document_id = %s", (tenant, doc_id)
            ).rowcount
            if chunk_rows:
                with conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO chunks (tenant, id, document_id, ordinal, text, title, "
                        "section_path, page, language, doc_type, source, content_hash, "
                        "metadata, ts_config, tsv, tsv_len, embedding) SELECT %s, %s, %s, %s, "
                        "%s, %s, %s::jsonb, %s, %s, %s, %s, %s, %s::jsonb, v.cfg, v.tsv, "
                        "(SELECT coalesce(sum(array_length(positions, 1)), 0) "
                        "FROM unnest(v.tsv)), %s::vector FROM (SELECT %s::regconfig AS cfg, "
                        "to_tsvector(%s::regconfig, %s) AS tsv) AS v",
                        [(*r[:13], r[15], r[13], r[13], r[14]) for r in chunk_rows],
                    )
            new_doc = 1 if inserted and inserted[0] else 0
            conn.execute(
                "INSERT INTO tenant_state (tenant, documents, chunks, generation) "
                "VALUES (%s, %s, %s, 1) ON CONFLICT (tenant) DO UPDATE SET "
                "documents = tenant_state.documents + excluded.documents, "
                "chunks = tenant_state.chunks + excluded.chunks, "
                "generation = tenant_state.generation + 1",
                (tenant, new_doc, len(chunk_rows) - max(old, 0)),
            )

        self.run(tenant, write)

    def get_document(self, tenant: str, document_id: str) -> Document | None:
        row = self.run(
            tenant,
            lambda conn: conn.execute(
                f"SELECT {_DOC_COLS} FROM documents WHERE tenant = %s AND id = %s",
                (tenant, document_id),
            ).fetchone(),
        )
        return DOCUMENT.decode(row) if row else None

    def list_documents(self, tenant: str) -> list[Document]:
        rows = self.run(
            tenant,
            lambda conn: conn.execute(
                f"SELECT {_DOC_COLS} FROM documents WHERE tenant = %s", (tenant,)
            ).fetchall(),
        )
        return sorted((DOCUMENT.decode(r) for r in rows), key=lambda d: d.id)

    def delete_document(self, tenant: str, document_id: str) -> bool:
        def delete(conn: psycopg.Connection[Any]) -> bool:
            row = conn.execute(
                "DELETE FROM documents WHERE tenant = %s AND id = %s RETURNING chunk_count",
                (tenant, document_id),
            ).fetchone()
            if row is None:
                return False
            conn.execute(
                "UPDATE tenant_state SET documents = documents - 1, chunks = chunks - %s, "
                "generation = generation + 1 WHERE tenant = %s",
                (int(row[0]), tenant),
            )
            return True

        # Not retried: a retry after a lost COMMIT would answer False for a deleted doc.
        return self.run(tenant, delete, idempotent=False)

    def update_chunk_metadata(self, tenant: str, metadata: Mapping[str, Metadata]) -> int:
        if not metadata:
            return 0
        ids = list(metadata)
        values = [_dumps(dict(metadata[c])) for c in ids]

        def update(conn: psycopg.Connection[Any]) -> int:
            updated = conn.execute(
                "UPDATE chunks AS c SET metadata = u.metadata::jsonb "
                "FROM unnest(%s::text[], %s::text[]) AS u(id, metadata) "
                "WHERE c.tenant = %s AND c.id = u.id",
                (ids, values, tenant),
            ).rowcount
            if updated:  # cached filter statistics are per generation
                conn.execute(
                    "UPDATE tenant_state SET generation = generation + 1 WHERE tenant = %s",
                    (tenant,),
                )
            return max(updated, 0)

        # the same values written twice are the same result: safe to retry
        return self.run(tenant, update)

    # -- ingest claims (see ._claims) --------------------------------------------------

    def claim_documents(
        self,
        tenant: str,
        documents: Mapping[str, str],
        *,
        holder: ClaimHolder,
        timeout_s: float,
    ) -> ClaimOutcome:
        if not documents:
            return ClaimOutcome()
        ids = sorted(documents)  # one lock order for every caller: no deadlock
        return self.run(
            tenant,
            lambda conn: claim_rows(
                conn, tenant, documents, ids, holder=holder, timeout_s=timeout_s
            ),
        )

    def release_documents(
        self, tenant: str, document_ids: Sequence[str], *, holder: ClaimHolder
    ) -> None:
        if not document_ids:
            return
        ids = sorted(set(document_ids))
        self.run(tenant, lambda conn: release_rows(conn, tenant, ids, holder=holder))

    # -- chunks and vectors ----------------------------------------------------------

    def get_chunks(self, tenant: str, chunk_ids: Sequence[str]) -> list[Chunk]:
        if not chunk_ids:
            return []
        ids = list(chunk_ids)
        rows = self.run(
            tenant,
            lambda conn: conn.execute(
                f"SELECT {_CHUNK_COLS} FROM chunks c WHERE tenant = %s AND id = ANY(%s)",
                (tenant, ids),
            ).fetchall(),
        )
        by_id = {r[0]: r for r in rows}
        return [CHUNK.decode(by_id[c]) for c in ids if c in by_id]

    def document_chunks(self, tenant: str, document_id: str) -> list[Chunk]:
        rows = self.run(
            tenant,
            lambda conn: conn.execute(
                f"SELECT {_CHUNK_COLS} FROM chunks c WHERE tenant = %s AND document_id = %s "
                "ORDER BY ordinal, id",
                (tenant, document_id),
            ).fetchall(),
        )
        return [CHUNK.decode(r) for r in rows]

    def get_embeddings(self, tenant: str, chunk_ids: Sequence[str]) -> Matrix:
        ids = list(chunk_ids)

        def read(conn: psycopg.Connection[Any]) -> tuple[list[Any], int]:
            rows = conn.execute(
                "SELECT id, vector_send(embedding) FROM chunks WHERE tenant = %s AND id = ANY(%s)",
                (tenant, ids),
            ).fetchall()
            return rows, (0 if ids else self._dimension(conn, tenant) or 0)

        rows, dim = self.run(tenant, read)
        if not ids:
            return np.zeros((0, dim), dtype=np.float32)
        return stack_vectors(tenant, ids, {r[0]: _vec_from_binary(r[1]) for r in rows})

    def embeddings_by_hash(
        self, tenant: str, content_hashes: Sequence[str], embedder: str
    ) -> dict[str, Vector]:
        if not content_hashes:
            return {}
        hashes = list(set(content_hashes))
        rows = self.run(
            tenant,
            lambda conn: conn.execute(
                "SELECT c.content_hash, vector_send(c.embedding) FROM chunks c "
                "JOIN documents d ON d.tenant = c.tenant AND d.id = c.document_id "
                "WHERE c.tenant = %s AND d.embedder = %s AND c.content_hash = ANY(%s)",
                (tenant, embedder, hashes),
            ).fetchall(),
        )
        out: dict[str, Vector] = {}
        for h, blob in rows:
            if h not in out:
                out[h] = _vec_from_binary(blob)
        return out

    # -- filters ---------------------------------------------------------------------

    def _dimension(self, conn: psycopg.Connection[Any], tenant: str) -> int | None:
        gen = self._generation(conn, tenant)

        def load() -> int | None:
            row = conn.execute(
                "SELECT vector_dims(embedding) FROM chunks WHERE tenant = %s LIMIT 1", (tenant,)
            ).fetchone()
            return int(row[0]) if row else None

        value: int | None = self._cached(conn, tenant, "dim", gen, load)
        return value

    def _field_counts(
        self, conn: psycopg.Connection[Any], tenant: str, field: str
    ) -> list[tuple[str | None, int]]:
        """``(value as text, rows)`` for each value ``field`` takes in the tenant (cached)."""
        gen = self._generation(conn, tenant)
        expr, expr_params = _field_sql(field)

        def load() -> list[tuple[str | None, int]]:
            rows = conn.execute(
                f"SELECT {expr}, count(*) FROM chunks WHERE tenant = %s GROUP BY 1",
                (*expr_params, tenant),
            ).fetchall()
            return [(r[0], int(r[1])) for r in rows]

        value: list[tuple[str | None, int]] = self._cached(
            conn, tenant, f"field:{field}", gen, load
        )
        return value

    def _filter_share(
        self, conn: psycopg.Connection[Any], tenant: str, filters: Sequence[Condition]
    ) -> float:
        """The estimated share of the tenant's rows passing ``filters`` (independence)."""
        share = 1.0
        for cond in filters:
            counts = self._field_counts(conn, tenant, cond.field)
            total = sum(n for _, n in counts)
            ok = sum(
                n for text, n in counts if condition_matches(_field_value(cond.field, text), cond)
            )
            share *= ok / total if total else 0.0
        return share

    def _filter_sql(
        self, conn: psycopg.Connection[Any], tenant: str, filters: Sequence[Condition]
    ) -> tuple[str, list[Any]] | None:
        """SQL for ``filters`` with the reference semantics, or ``None`` if nothing matches."""
        if not filters:
            return "", []
        clauses: list[str] = []
        params: list[Any] = []
        for cond in filters:
            expr, expr_params = _field_sql(cond.field)
            distinct = [text for text, _ in self._field_counts(conn, tenant, cond.field)]
            ok: list[str] = []
            bad: list[str] = []
            none_ok = condition_matches(None, cond)
            for text in distinct:
                if text is None:
                    continue
                value = _field_value(cond.field, text)
                (ok if condition_matches(value, cond) else bad).append(text)
            has_null = any(t is None for t in distinct)
            if not ok and not (none_ok and has_null):
                return None
            if not bad and (none_ok or not has_null):
                continue  # every row matches
            if len(ok) <= len(bad):
                clauses.append(f"(({expr}) = ANY(%s) OR (({expr}) IS NULL AND %s))")
                params += [*expr_params, ok, *expr_params, none_ok]
            else:
                clauses.append(
                    f"((({expr}) IS NOT NULL AND NOT (({expr}) = ANY(%s))) "
                    f"OR (({expr}) IS NULL AND %s))"
                )
                params += [*expr_params, *expr_params, bad, *expr_params, none_ok]
            if expr_params and not none_ok and len(ok) <= 32:
                # Implied by the clause above; lets the planner use the GIN index.
                clauses.append("(" + " OR ".join(["metadata @> %s::jsonb"] * len(ok)) + ")")
                params += [f"{{{json.dumps(cond.field)}: {text}}}" for text in ok]
        return "".join(f" AND {c}" for c in clauses), params

    # -- search (see ._search) ----------------------------------------------

    def keyword_search(
        self, tenant: str, query: str, *, k: int, filters: Sequence[Condition] = ()
    ) -> list[ScoredChunk]:
        terms = [t for t in query_terms(query) if len(t) <= 200] if isinstance(query, str) else []
        if not terms or k <= 0 or _unstorable(filters):
            return []
        text = " ".join(terms)
        rows = self.run(tenant, lambda conn: keyword_rows(self, conn, tenant, text, k, filters))
        return [ScoredChunk(CHUNK.decode(r), float(r[-1])) for r in rows]

    def vector_search(
        self, tenant: str, vector: Vector, *, k: int, filters: Sequence[Condition] = ()
    ) -> list[ScoredChunk]:
        if k <= 0 or _unstorable(filters):
            return []
        rows = self.run(tenant, lambda conn: vector_rows(self, conn, tenant, vector, k, filters))
        return [ScoredChunk(CHUNK.decode(r), float(r[-1])) for r in rows]

    # -- bookkeeping -----------------------------------------------------------------

    def stats(self, tenant: str) -> StoreStats:
        row = self.run(
            tenant,
            lambda conn: conn.execute(
                "SELECT documents, chunks FROM tenant_state WHERE tenant = %s", (tenant,)
            ).fetchone(),
        )
        return StoreStats(documents=int(row[0]), chunks=int(row[1])) if row else StoreStats(0, 0)

    def tenants(self) -> list[str]:
        rows = self.run(
            None,
            lambda conn: conn.execute(
                "SELECT tenant FROM tenant_state WHERE documents > 0"
            ).fetchall(),
        )
        return sorted(str(r[0]) for r in rows)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._pool.close()

    def __repr__(self) -> str:
        return f"PostgresStore({self.safe_url!r})"


def _unstorable(filters: Sequence[Condition]) -> bool:
    """A field name with a NUL byte: no stored key has one (PostgreSQL text cannot hold
    it), so the condition matches nothing — and sending it would be a server error."""
    return any("\x00" in c.field for c in filters)
