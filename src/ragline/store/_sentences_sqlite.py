"""``SQLiteSentenceStore``: the extractive answerer's sentence vectors in the project's file.

Table ``sentence_vectors`` from migration ``0010_sentence_vectors``. Like
:class:`~ragline.store._conversations_sqlite.SQLiteConversationStore` it opens its own
connection to the store's file (WAL: a lookup never waits for a writer), so answers do
not queue behind the document store's lock. A lookup is one primary-key query for an
answer's few sentences. Writes are ``INSERT OR IGNORE`` in one ``BEGIN IMMEDIATE``
transaction; ``put(timeout_s=…)`` lowers the busy timeout for that write only, so an
answer's best-effort write-back never waits long for another process's lock.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ragline.errors import StoreError
from ragline.store._migrations import open_connection

Vector = npt.NDArray[np.float32]


def vector_blob(vector: npt.ArrayLike) -> bytes:
    """A vector as little-endian float32 bytes (how every backend stores it)."""
    return np.asarray(vector, dtype="<f4").tobytes()


def blob_vector(blob: bytes | memoryview) -> Vector:
    """The vector stored by :func:`vector_blob`."""
    return np.frombuffer(bytes(blob), dtype="<f4").astype(np.float32)


class SQLiteSentenceStore:
    """Sentence vectors in a ragline SQLite database file.

    >>> sentences = SQLiteSentenceStore("ragline.db")            # doctest: +SKIP
    >>> sentences.get("acme", "all-minilm-l6-v2", [key])          # doctest: +SKIP
    {}
    """

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 5_000) -> None:
        self.path = str(path)
        self._busy_ms = int(busy_timeout_ms)
        if self.path == ":memory:":
            raise StoreError(
                "SQLiteSentenceStore needs a database file, not ':memory:'",
                hint="use MemorySentenceStore for an in-memory store",
            )
        # a cache: a vector lost to a power cut is recomputed by the next answer
        self._conn = open_connection(
            self.path, what="sentence store", busy_timeout_ms=self._busy_ms, allow_memory=False
        )
        self._lock = threading.Lock()
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"sentence store {self.path!r} is closed", hint="open a new store")

    def _error(self, e: sqlite3.Error) -> StoreError:
        hint = (
            "another process held the database too long; try again"
            if "locked" in str(e) or "busy" in str(e)
            else "check the database file (disk full, permissions, corruption)"
        )
        return StoreError(f"sentence store {self.path!r}: {e}", hint=hint)

    def get(self, tenant: str, embedder: str, keys: Sequence[bytes]) -> dict[bytes, Vector]:
        if not keys:
            return {}
        marks = ",".join("?" * len(keys))
        sql = (
            "SELECT hash, vector FROM sentence_vectors WHERE tenant = ? AND embedder = ? "
            f"AND hash IN ({marks})"
        )
        with self._lock:
            self._check_open()
            try:
                rows = self._conn.execute(sql, (tenant, embedder, *keys)).fetchall()
            except sqlite3.Error as e:
                raise self._error(e) from e
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
        with self._lock:
            self._check_open()
            conn = self._conn
            wait = self._busy_ms if timeout_s is None else max(0, int(timeout_s * 1000))
            try:
                if wait != self._busy_ms:
                    conn.execute(f"PRAGMA busy_timeout = {wait}")
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(
                    "INSERT OR IGNORE INTO sentence_vectors (tenant, embedder, hash, vector) "
                    "VALUES (?, ?, ?, ?)",
                    rows,
                )
                conn.execute("COMMIT")
            except sqlite3.Error as e:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise self._error(e) from e
            finally:
                if wait != self._busy_ms:
                    conn.execute(f"PRAGMA busy_timeout = {self._busy_ms}")

    def count(self, tenant: str, embedder: str) -> int:
        with self._lock:
            self._check_open()
            row = self._conn.execute(
                "SELECT count(*) FROM sentence_vectors WHERE tenant = ? AND embedder = ?",
                (tenant, embedder),
            ).fetchone()
        return int(row[0])

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()
