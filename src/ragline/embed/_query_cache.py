"""An LRU of query vectors: a question asked again is not embedded again.

Support traffic repeats itself ("how do I reset my password?"), and embedding a query
with the bundled MiniLM costs 3–8 ms of CPU — about as much as the rest of a cached
ask. Vectors are keyed by the embedder's ``name`` and ``dimension`` (which, by the
``Embedder`` contract, identify its vectors), the exact query text and a ``scope``
(the retriever passes the tenant, so one tenant cannot tell from a faster answer what
another one asked), and handed out read-only so no caller can change what the next
one gets.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
import numpy.typing as npt

from ragline.embed._base import Embedder
from ragline.errors import ConfigError

Vector = npt.NDArray[np.float32]

#: default number of cached query vectors (~1.5 KiB each at 384 dimensions)
QUERY_CACHE_SIZE = 2048


class QueryVectorCache:
    """Thread-safe LRU of query vectors; ``size=0`` turns caching off.

    >>> cache = QueryVectorCache(256)                     # doctest: +SKIP
    >>> v, cached = cache.embed_query(embedder, "warranty")  # doctest: +SKIP
    """

    def __init__(self, size: int = QUERY_CACHE_SIZE) -> None:
        if size < 0:
            raise ConfigError(
                f"the query vector cache size must be at least 0 (got {size})",
                hint="use 0 to turn the cache off",
            )
        self.size = size
        self.hits = 0
        self.misses = 0
        self._vectors: OrderedDict[tuple[str, str, int, str], Vector] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._vectors)

    def embed_query(self, embedder: Embedder, text: str, *, scope: str = "") -> tuple[Vector, bool]:
        """``text``'s vector from ``embedder`` (read-only) and whether it was cached.

        Entries are shared only between calls with the same ``scope`` (e.g. a tenant).

        Two threads missing on the same text at once both embed it (the embedder runs
        outside the lock); the vectors are the same, so either may be kept.
        """
        if self.size == 0:
            return embedder.embed_query(text), False
        key = (scope, embedder.name, embedder.dimension, text)
        with self._lock:
            vector = self._vectors.get(key)
            if vector is not None:
                self._vectors.move_to_end(key)
                self.hits += 1
                return vector, True
            self.misses += 1
        vector = np.array(embedder.embed_query(text), dtype=np.float32)
        vector.setflags(write=False)
        with self._lock:
            self._vectors[key] = vector
            self._vectors.move_to_end(key)
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)
        return vector, False

    def clear(self) -> None:
        with self._lock:
            self._vectors.clear()
