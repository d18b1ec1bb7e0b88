"""``PostgresSentenceStore``: the extractive answerer's sentence vectors in PostgreSQL.

Table ``sentence_vectors`` from migration ``0010_sentence_vectors`` (see
:mod:`._migrations`), with row-level security like the document tables:
every call goes through :meth:`PostgresStore.run` with its tenant, so a query sees only
that tenant's rows even without its ``WHERE tenant``. A lookup is one primary-key query
(``hash = ANY(…)``); writes are ``INSERT … ON CONFLICT DO NOTHING`` (idempotent, so
retried once after a lost connection). ``put(timeout_s=…)`` sets a local
``lock_timeout`` and ``statement_timeout`` for that write only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ragline.store._vectors import blob_vector, vector_blob

if TYPE_CHECKING:
    import psycopg

    from ragline.store.postgres._documents import PostgresStore

Vector = npt.NDArray[np.float32]


class PostgresSentenceStore:
    """Sentence vectors sharing a :class:`PostgresStore`'s pool (``close`` leaves it open)."""

    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    def get(self, tenant: str, embedder: str, keys: Sequence[bytes]) -> dict[bytes, Vector]:
        if not keys or "\x00" in tenant or "\x00" in embedder:
            return {}
        rows = self._store.run(
            tenant,
            lambda conn: conn.execute(
                "SELECT hash, vector FROM sentence_vectors "
                "WHERE tenant = %s AND embedder = %s AND hash = ANY(%s)",
                (tenant, embedder, [bytes(k) for k in keys]),
            ).fetchall(),
        )
        return {bytes(h): blob_vector(v) for h, v in rows}

    def put(
        self,
        tenant: str,
        embedder: str,
        vectors: Mapping[bytes, Vector],
        *,
        timeout_s: float | None = None,
    ) -> None:
        if not vectors:
            return
        rows = [(tenant, embedder, bytes(k), vector_blob(v)) for k, v in vectors.items()]

        def write(conn: psycopg.Connection[Any]) -> None:
            if timeout_s is not None:
                ms = f"{max(1, int(timeout_s * 1000))}ms"
                conn.execute("SELECT set_config('lock_timeout', %s, true)", (ms,))
                conn.execute("SELECT set_config('statement_timeout', %s, true)", (ms,))
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO sentence_vectors (tenant, embedder, hash, vector) "
                    "VALUES (%s, %s, %s, %s) ON CONFLICT (tenant, embedder, hash) DO NOTHING",
                    rows,
                )

        self._store.run(tenant, write)

    def count(self, tenant: str, embedder: str) -> int:
        row = self._store.run(
            tenant,
            lambda conn: conn.execute(
                "SELECT count(*) FROM sentence_vectors WHERE tenant = %s AND embedder = %s",
                (tenant, embedder),
            ).fetchone(),
        )
        return int(row[0]) if row else 0

    def close(self) -> None:
        pass  # the document store owns the pool
