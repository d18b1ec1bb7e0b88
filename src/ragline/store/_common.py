"""Helpers every store backend shares: upsert validation, vectors and fast filter masks."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ragline.errors import InputError, NotFoundError
from ragline.store._base import Matrix, Vector
from ragline.store._filters import Condition, condition_matches
from ragline.types import Chunk, Document

BoolArray = npt.NDArray[np.bool_]
Codes = npt.NDArray[np.int32]


def validate_upsert(document: Document, chunks: Sequence[Chunk], embeddings: Any) -> Matrix:
    """Check an upsert before anything is written; return the normalised float32 matrix.

    Raises :class:`InputError` naming the first problem found.
    """
    if not isinstance(document.id, str) or not document.id:
        raise InputError("document id is empty", hint="give every document a non-empty id")
    if not isinstance(document.tenant, str) or not document.tenant:
        raise InputError(
            f"document {document.id!r} has an empty tenant", hint="use 'default' or a tenant name"
        )
    seen: set[str] = set()
    for i, chunk in enumerate(chunks):
        if not isinstance(chunk.id, str) or not chunk.id:
            raise InputError(
                f"chunk {i} of document {document.id!r} has an empty id",
                hint="give every chunk a non-empty id",
            )
        if chunk.id in seen:
            raise InputError(
                f"chunk id {chunk.id!r} appears twice in document {document.id!r}",
                hint="chunk ids must be unique within a tenant",
            )
        seen.add(chunk.id)
        if chunk.document_id != document.id:
            raise InputError(
                f"chunk {chunk.id!r} belongs to document {chunk.document_id!r}, "
                f"not {document.id!r}",
                hint="set chunk.document_id to the id of the document being upserted",
            )
        if chunk.tenant != document.tenant:
            raise InputError(
                f"chunk {chunk.id!r} is in tenant {chunk.tenant!r} but its document is in "
                f"{document.tenant!r}",
                hint="a document and its chunks must share one tenant",
            )
    try:
        matrix = np.asarray(embeddings, dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise InputError(
            f"embeddings for document {document.id!r} are not a numeric matrix: {e}",
            hint="pass a float32 array of shape (number of chunks, dimension)",
        ) from None
    if matrix.size == 0 and not chunks:
        return np.zeros((0, matrix.shape[-1] if matrix.ndim == 2 else 0), dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[0] != len(chunks) or matrix.shape[1] == 0:
        raise InputError(
            f"document {document.id!r} has {len(chunks)} chunks but embeddings of shape "
            f"{matrix.shape}",
            hint="pass exactly one embedding row per chunk, in chunk order",
        )
    if not np.isfinite(matrix).all():
        raise InputError(
            f"embeddings for document {document.id!r} contain NaN or infinite values",
            hint="check the embedder's output",
        )
    return normalize_rows(matrix)


def normalize_rows(matrix: Matrix) -> Matrix:
    """L2-normalise each row (zero rows stay zero); returns a C-contiguous copy."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(matrix / norms, dtype=np.float32)


def normalize_query(vector: Any, dimension: int | None) -> Vector | None:
    """The unit-length float32 query, or ``None`` for a zero vector; checks the dimension."""
    v = np.asarray(vector, dtype=np.float32).reshape(-1)
    if dimension is not None and v.shape[0] != dimension:
        raise InputError(
            f"query vector has dimension {v.shape[0]} but the stored vectors have {dimension}",
            hint="embed the query with the same embedder that indexed the documents",
        )
    norm = float(np.linalg.norm(v))
    if not math.isfinite(norm) or norm == 0.0:
        return None
    return (v / norm).astype(np.float32)


def stack_vectors(tenant: str, chunk_ids: Sequence[str], found: Mapping[str, Vector]) -> Matrix:
    """The vectors of ``chunk_ids`` in that order, one row each (a new array).

    Raises :class:`NotFoundError` naming the first id that ``found`` lacks.
    """
    missing = [c for c in chunk_ids if c not in found]
    if missing:
        raise NotFoundError(
            f"no chunk {missing[0]!r} in tenant {tenant!r}",
            hint="ask only for chunk ids returned by a search or get_chunks",
        )
    return np.stack([found[c] for c in chunk_ids]).astype(np.float32, copy=False)


def check_dimension(new: Matrix, existing: int | None, document_id: str) -> None:
    if existing is not None and new.shape[0] and new.shape[1] != existing:
        raise InputError(
            f"document {document_id!r} has {new.shape[1]}-dimensional embeddings but this "
            f"tenant's stored vectors have {existing} dimensions",
            hint="use one embedder per store, or delete the tenant's documents and re-ingest",
        )


def top_k(scores: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.intp]:
    """Indices of the ``k`` highest scores, best first (ties broken by position)."""
    n = scores.shape[0]
    if k <= 0 or n == 0:
        return np.zeros(0, dtype=np.intp)
    if k < n:
        part = np.argpartition(-scores, k - 1)[:k]
        order = np.lexsort((part, -scores[part]))
        return part[order]
    return np.lexsort((np.arange(n), -scores))


_SCALARS = (str, int, float, type(None))


def value_key(value: Any) -> str:
    """A hashable key that keeps values apart exactly when filters could tell them apart."""
    return type(value).__name__ + ":" + json.dumps(value, sort_keys=True, default=str)


class FilterColumns:
    """Filter masks over a fixed row list, evaluated once per *distinct* value.

    ``load(field)`` returns the field's value for every row, in row order. Each field
    is encoded once as integer codes into its distinct values; a condition is then
    evaluated with :func:`condition_matches` on the distinct values only, so the mask
    has exactly the reference semantics at numpy speed.
    """

    def __init__(self, size: int, load: Callable[[str], Sequence[Any]]) -> None:
        self._size = size
        self._load = load
        self._columns: dict[str, tuple[Codes, list[Any]]] = {}

    def column(self, name: str) -> tuple[Codes, list[Any]]:
        col = self._columns.get(name)
        if col is None:
            values = self._load(name)
            index: dict[Any, int] = {}
            distinct: list[Any] = []
            codes = np.empty(len(values), dtype=np.int32)
            for i, v in enumerate(values):
                key = (v.__class__, v) if isinstance(v, _SCALARS) else value_key(v)
                code = index.get(key)
                if code is None:
                    code = index[key] = len(distinct)
                    distinct.append(v)
                codes[i] = code
            col = (codes, distinct)
            self._columns[name] = col
        return col

    def mask(self, conditions: Sequence[Condition]) -> BoolArray | None:
        """Rows matching every condition, or ``None`` when there are no conditions."""
        if not conditions:
            return None
        mask = np.ones(self._size, dtype=bool)
        for cond in conditions:
            codes, distinct = self.column(cond.field)
            ok = np.fromiter(
                (condition_matches(v, cond) for v in distinct), dtype=bool, count=len(distinct)
            )
            mask &= ok[codes]
        return mask
