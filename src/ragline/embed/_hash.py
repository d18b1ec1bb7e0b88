"""A deterministic, dependency-free embedder for tests: hashed word + trigram counts."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

_WORD = re.compile(r"\w+", re.UNICODE)


class HashEmbedder:
    """Feature-hashing bag of words and character trigrams, L2-normalised.

    Texts sharing words get similar vectors, so retrieval tests behave sensibly,
    and the same text always gives the same vector on every machine.
    """

    #: a query is embedded like a document (see ragline.embed._memo)
    symmetric = True

    def __init__(self, dimension: int = 256) -> None:
        if dimension < 8:
            raise ValueError("dimension must be at least 8")
        self.dimension = dimension
        self.name = f"hash-{dimension}"

    def _bucket(self, feature: str) -> tuple[int, float]:
        h = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
        n = int.from_bytes(h, "little")
        return n % self.dimension, (1.0 if (n >> 63) & 1 else -1.0)

    def _one(self, text: str) -> npt.NDArray[np.float32]:
        vec = np.zeros(self.dimension, dtype=np.float32)
        for word in _WORD.findall(text.lower()):
            i, sign = self._bucket("w:" + word)
            vec[i] += 2.0 * sign
            padded = f"#{word}#"
            for j in range(len(padded) - 2):
                i, sign = self._bucket("t:" + padded[j : j + 3])
                vec[i] += 0.5 * sign
        norm = float(np.linalg.norm(vec))
        if norm > 0:
            vec /= norm
        return vec

    def embed_documents(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._one(t) for t in texts])

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        return self._one(text)
