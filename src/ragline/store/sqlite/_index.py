"""Per-tenant in-memory snapshot of the SQLite store for fast search.

A :class:`TenantSnapshot` holds the tenant's chunk row ids (sorted), and lazily its
float32 embedding matrix and filter columns, all in row-id order. It is tagged
with the tenant's *generation* (bumped in every write transaction, by any process),
so a search notices another connection's writes and reloads. Only document writes
bump it: traces, feedback, conversations and the model cache write to their own tables
(often from another connection to the same file) and leave every snapshot valid.

A snapshot also keeps the decoded chunks that searches returned (at most
``ROW_CACHE_SIZE``, oldest out first), so the hot chunks of a busy tenant are not
re-read and re-parsed from SQLite by every search.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ragline._text import tokenize
from ragline.store._base import Matrix
from ragline.store._common import BoolArray, FilterColumns
from ragline.store._filters import BUILTIN_FIELDS, Condition
from ragline.store._vectors import VectorIndex
from ragline.store.sqlite._bm25 import BM25Index, encode_terms
from ragline.types import Chunk

IntArray = npt.NDArray[np.int64]

#: decoded chunk rows a snapshot keeps (~2–3 KiB each with a chunk's text)
ROW_CACHE_SIZE = 8192


def tenant_generation(conn: sqlite3.Connection, tenant: str) -> int:
    row = conn.execute(
        "SELECT generation FROM tenant_generations WHERE tenant = ?", (tenant,)
    ).fetchone()
    return int(row[0]) if row else 0


def bump_generation(conn: sqlite3.Connection, tenant: str) -> None:
    conn.execute(
        "INSERT INTO tenant_generations (tenant, generation) VALUES (?, 1) "
        "ON CONFLICT (tenant) DO UPDATE SET generation = generation + 1",
        (tenant,),
    )


def term_ids(conn: sqlite3.Connection, terms: Iterable[str], *, create: bool) -> dict[str, int]:
    """Ids of ``terms`` in the ``bm25_terms`` vocabulary (added first when ``create``)."""
    payload = json.dumps(sorted(set(terms)), ensure_ascii=False)
    if create:
        conn.execute(
            "INSERT OR IGNORE INTO bm25_terms (term) SELECT value FROM json_each(?)", (payload,)
        )
    rows = conn.execute(
        "SELECT term, id FROM bm25_terms WHERE term IN (SELECT value FROM json_each(?))",
        (payload,),
    ).fetchall()
    return {str(t): int(i) for t, i in rows}


def term_blobs(conn: sqlite3.Connection, texts: Sequence[str]) -> list[bytes]:
    """BM25 term-count blobs for ``texts`` (registers new words in the vocabulary)."""
    counts = [Counter(tokenize(t)) for t in texts]
    vocabulary: set[str] = set()
    for c in counts:
        vocabulary.update(c)
    ids = term_ids(conn, vocabulary, create=True) if vocabulary else {}
    return [encode_terms((ids[w], n) for w, n in c.items()) for c in counts]


class TenantSnapshot:
    """Row ids, vectors and filter columns of one tenant at one generation."""

    def __init__(self, conn: sqlite3.Connection, tenant: str, generation: int) -> None:
        self.tenant = tenant
        self.generation = generation
        rows = conn.execute(
            "SELECT pk FROM chunks WHERE tenant = ? ORDER BY pk", (tenant,)
        ).fetchall()
        self.pks: IntArray = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        self._vectors: VectorIndex | None = None
        self._bm25: BM25Index | None = None
        self._columns = FilterColumns(len(self.pks), self._load_column)
        self._conn = conn
        #: pk -> decoded chunk (never handed out: callers get copies), see the module doc
        self.chunks: dict[int, Chunk] = {}

    def remember(self, pk: int, chunk: Chunk) -> None:
        """Keep a decoded chunk (the oldest one goes when the cache is full)."""
        if len(self.chunks) >= ROW_CACHE_SIZE:
            del self.chunks[next(iter(self.chunks))]
        self.chunks[pk] = chunk

    def __len__(self) -> int:
        return int(self.pks.shape[0])

    def vectors(self) -> VectorIndex:
        """The tenant's unit-length embeddings, one row per ``pks`` entry."""
        if self._vectors is None:
            rows = self._conn.execute(
                "SELECT embedding FROM chunks WHERE tenant = ? ORDER BY pk", (self.tenant,)
            ).fetchall()
            matrix: Matrix
            if not rows:
                matrix = np.zeros((0, 0), dtype=np.float32)
            else:
                dim = len(rows[0][0]) // 4
                buf = b"".join(r[0] for r in rows)
                matrix = np.frombuffer(buf, dtype=np.float32).reshape(len(rows), dim)
            self._vectors = VectorIndex(matrix)
        return self._vectors

    def bm25(self) -> BM25Index:
        """The tenant's keyword index, one row per ``pks`` entry."""
        if self._bm25 is None:
            rows = self._conn.execute(
                "SELECT term_counts FROM chunks WHERE tenant = ? ORDER BY pk", (self.tenant,)
            ).fetchall()
            self._bm25 = BM25Index([r[0] for r in rows])
        return self._bm25

    def positions(self, pks: Sequence[int] | IntArray) -> tuple[npt.NDArray[np.intp], BoolArray]:
        """Positions of ``pks`` in this snapshot, and whether each belongs to it."""
        arr = np.asarray(pks, dtype=np.int64)
        pos = np.searchsorted(self.pks, arr)
        pos = np.minimum(pos, max(len(self.pks) - 1, 0))
        found = self.pks[pos] == arr if len(self.pks) else np.zeros(len(arr), dtype=bool)
        return pos, found

    def mask(self, conditions: Sequence[Condition]) -> BoolArray | None:
        return self._columns.mask(conditions)

    def _load_column(self, name: str) -> list[Any]:
        if name in BUILTIN_FIELDS:
            rows = self._conn.execute(
                f"SELECT {name} FROM chunks WHERE tenant = ? ORDER BY pk", (self.tenant,)
            ).fetchall()
            return [r[0] for r in rows]
        if '"' in name or "\\" in name or "\x00" in name:  # not writable as a JSON path
            rows = self._conn.execute(
                "SELECT metadata FROM chunks WHERE tenant = ? ORDER BY pk", (self.tenant,)
            ).fetchall()
            return [json.loads(r[0]).get(name) for r in rows]
        path = f'$."{name}"'
        if sqlite3.sqlite_version_info >= (3, 38):  # `->` returns JSON text: one parse per row
            rows = self._conn.execute(
                "SELECT metadata -> ? FROM chunks WHERE tenant = ? ORDER BY pk",
                (path, self.tenant),
            ).fetchall()
            loads = json.loads
            return [None if r[0] is None else loads(r[0]) for r in rows]
        rows = self._conn.execute(
            "SELECT json_extract(metadata, ?), json_type(metadata, ?) FROM chunks "
            "WHERE tenant = ? ORDER BY pk",
            (path, path, self.tenant),
        ).fetchall()
        return [_json_value(v, t) for v, t in rows]


def _json_value(value: Any, kind: str | None) -> Any:
    if kind is None or kind == "null":
        return None
    if kind in ("true", "false"):
        return kind == "true"
    if kind in ("array", "object"):
        return json.loads(value)
    return value
