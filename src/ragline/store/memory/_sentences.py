"""``MemorySentenceStore``: sentence vectors in a dict (memory stores and tests)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from ragline.store._base import Vector
from ragline.store._sentences import Vectors


class MemorySentenceStore:
    """Sentence vectors in a dict (memory stores and tests); gone when the process exits."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str, bytes], Vector] = {}
        self._lock = threading.Lock()

    def get(self, tenant: str, embedder: str, keys: Sequence[bytes]) -> dict[bytes, Vector]:
        with self._lock:
            found = {k: self._rows.get((tenant, embedder, k)) for k in keys}
        return {k: v.copy() for k, v in found.items() if v is not None}

    def put(
        self, tenant: str, embedder: str, vectors: Vectors, *, timeout_s: float | None = None
    ) -> None:
        with self._lock:
            for k, v in vectors.items():
                self._rows.setdefault(
                    (tenant, embedder, k), np.array(v, dtype=np.float32, copy=True)
                )

    def count(self, tenant: str, embedder: str) -> int:
        with self._lock:
            return sum(1 for t, e, _ in self._rows if t == tenant and e == embedder)

    def close(self) -> None:
        pass
