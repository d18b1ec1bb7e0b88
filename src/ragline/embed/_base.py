"""The ``Embedder`` contract."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors.

    ``name`` identifies the model *and* anything that changes its vectors (so a
    store can tell that stored vectors came from another embedder).
    """

    name: str
    dimension: int

    def embed_documents(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Shape ``(len(texts), dimension)``; an empty input gives shape ``(0, dimension)``."""
        ...

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        """Shape ``(dimension,)``."""
        ...
