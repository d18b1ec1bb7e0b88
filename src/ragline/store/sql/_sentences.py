"""``SQLSentenceStore``: the extractive answerer's sentence vectors in SQL.

Table ``sentence_vectors`` from migration ``0010_sentence_vectors`` of each backend,
keyed by (tenant, embedder, hash). A lookup is one primary-key query for an answer's
few sentences (:data:`~ragline.store._sentences.LOOKUP_BATCH` keys at most). Writes
keep an existing row (``ON CONFLICT DO NOTHING``: the vector of a text never
changes), so a write is idempotent and safe to retry; ``put(timeout_s=…)`` bounds the
wait for a lock for that write only, so an answer's best-effort write-back never
waits long behind another writer.
"""

from __future__ import annotations

from collections.abc import Sequence

from ragline.store._base import Vector
from ragline.store._sentences import Vectors
from ragline.store._vectors import blob_vector, vector_blob
from ragline.store.sql._dialect import Dialect

_INSERT = ("tenant", "embedder", "hash", "vector")


class SQLSentenceStore:
    """Sentence vectors in a ragline SQL database, through ``sql``."""

    def __init__(self, sql: Dialect) -> None:
        self._sql = sql
        self._insert = sql.insert_new("sentence_vectors", _INSERT, _INSERT[:3])

    def get(self, tenant: str, embedder: str, keys: Sequence[bytes]) -> dict[bytes, Vector]:
        if not keys or not self._sql.storable(tenant, embedder):
            return {}
        m = self._sql.mark
        among, hashes = self._sql.any_of("hash", [bytes(k) for k in keys])
        rows = self._sql.fetch(
            tenant,
            "SELECT hash, vector FROM sentence_vectors "
            f"WHERE tenant = {m} AND embedder = {m} AND {among}",
            (tenant, embedder, *hashes),
        )
        return {bytes(h): blob_vector(v) for h, v in rows}

    def put(
        self, tenant: str, embedder: str, vectors: Vectors, *, timeout_s: float | None = None
    ) -> None:
        if not vectors:
            return
        rows = [(tenant, embedder, bytes(k), vector_blob(v)) for k, v in vectors.items()]
        self._sql.run(tenant, lambda db: db.executemany(self._insert, rows), timeout_s=timeout_s)

    def count(self, tenant: str, embedder: str) -> int:
        m = self._sql.mark
        rows = self._sql.fetch(
            tenant,
            f"SELECT count(*) FROM sentence_vectors WHERE tenant = {m} AND embedder = {m}",
            (tenant, embedder),
        )
        return int(rows[0][0]) if rows else 0

    def close(self) -> None:
        self._sql.close()
