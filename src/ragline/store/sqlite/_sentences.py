"""``SQLiteSentenceStore``: the extractive answerer's sentence vectors in the project's file.

Table ``sentence_vectors`` from migration ``0010_sentence_vectors``, on its own
connection to the store's file (WAL: a lookup never waits for a writer), so answers do
not queue behind the document store's lock. A lookup is one primary-key query for an
answer's few sentences. Writes are ``INSERT OR IGNORE`` in one ``BEGIN IMMEDIATE``
transaction; ``put(timeout_s=…)`` lowers the busy timeout for that write only, so an
answer's best-effort write-back never waits long for another process's lock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from ragline.errors import StoreError
from ragline.store._base import Vector
from ragline.store._vectors import blob_vector, vector_blob
from ragline.store.sqlite._connect import Database


class SQLiteSentenceStore:
    """Sentence vectors in a ragline SQLite database file.

    >>> sentences = SQLiteSentenceStore("ragline.db")            # doctest: +SKIP
    >>> sentences.get("acme", "all-minilm-l6-v2", [key])          # doctest: +SKIP
    {}
    """

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 5_000) -> None:
        self.path = str(path)
        if self.path == ":memory:":
            raise StoreError(
                "SQLiteSentenceStore needs a database file, not ':memory:'",
                hint="use MemorySentenceStore for an in-memory store",
            )
        # a cache: a vector lost to a power cut is recomputed by the next answer
        self._db = Database(
            self.path, what="sentence store", busy_timeout_ms=busy_timeout_ms, allow_memory=False
        )

    def get(self, tenant: str, embedder: str, keys: Sequence[bytes]) -> dict[bytes, Vector]:
        if not keys:
            return {}
        marks = ",".join("?" * len(keys))
        rows = self._db.fetch(
            "SELECT hash, vector FROM sentence_vectors WHERE tenant = ? AND embedder = ? "
            f"AND hash IN ({marks})",
            (tenant, embedder, *keys),
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
        rows = [(tenant, embedder, k, vector_blob(v)) for k, v in vectors.items()]
        wait = None if timeout_s is None else int(timeout_s * 1000)
        with self._db.transaction(busy_timeout_ms=wait) as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO sentence_vectors (tenant, embedder, hash, vector) "
                "VALUES (?, ?, ?, ?)",
                rows,
            )

    def count(self, tenant: str, embedder: str) -> int:
        rows = self._db.fetch(
            "SELECT count(*) FROM sentence_vectors WHERE tenant = ? AND embedder = ?",
            (tenant, embedder),
        )
        return int(rows[0][0])

    def close(self) -> None:
        self._db.close()
