"""One embedding per text per ask: the stages of an ask share the vectors they compute.

An ask embeds its question in several places: the injection classifier and the
banned-topic similarity (input guards), dense retrieval, and the extractive answerer,
which scores sentences against the question. :class:`MemoEmbedder` wraps the project's
embedder so that, while the pipeline runs a stage of an ask (inside
:func:`ask_vectors`), a text embedded once is not embedded again in that ask.

The memo belongs to one ask (it lives on the pipeline's ``Ask``), so nothing is shared
between asks or tenants: timing never tells one tenant what another asked. Outside an
ask (ingest, evaluation scoring, a bare ``embed_documents`` call) the wrapper only
delegates. A query vector and a document vector of the same text are shared only when
the embedder says they are the same (``symmetric = True``: MiniLM, the hash embedder
and OpenAI-compatible endpoints embed a query like a document); otherwise they are
memoised apart.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np
import numpy.typing as npt

from ragline.embed._base import Embedder

Memo = dict[tuple[str, str], "npt.NDArray[np.float32]"]

#: at most this many texts are memoised per ask (a long document batch is not kept)
MAX_TEXTS = 16

_current: ContextVar[Memo | None] = ContextVar("ragline_ask_vectors", default=None)


@contextmanager
def ask_vectors(memo: Memo) -> Iterator[None]:
    """Within the block, :class:`MemoEmbedder` reads and fills ``memo``."""
    token = _current.set(memo)
    try:
        yield
    finally:
        _current.reset(token)


class MemoEmbedder:
    """``inner`` with the current ask's memo in front (see the module docstring)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self._symmetric = bool(getattr(inner, "symmetric", False))

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dimension(self) -> int:  # an OpenAI-compatible embedder learns it on first use
        return self.inner.dimension

    def __getattr__(self, name: str) -> Any:  # the wrapped embedder's other attributes
        return getattr(self.inner, name)

    def _key(self, kind: str, text: str) -> tuple[str, str]:
        return ("" if self._symmetric else kind, text)

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        memo = _current.get()
        if memo is None:
            return self.inner.embed_query(text)
        key = self._key("query", text)
        vector = memo.get(key)
        if vector is None:
            vector = np.asarray(self.inner.embed_query(text), dtype=np.float32)
            if len(memo) < MAX_TEXTS:
                memo[key] = vector
        return vector.copy()

    def embed_documents(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        memo = _current.get()
        if memo is None or not texts or len(texts) > MAX_TEXTS:
            return self.inner.embed_documents(texts)
        keys = [self._key("document", t) for t in texts]
        todo = [k for k in dict.fromkeys(keys) if k not in memo]
        fresh: dict[tuple[str, str], npt.NDArray[np.float32]] = {}
        if todo:
            rows = np.asarray(self.inner.embed_documents([k[1] for k in todo]), dtype=np.float32)
            fresh = dict(zip(todo, rows, strict=True))
            for key, row in fresh.items():
                if len(memo) < MAX_TEXTS:
                    memo[key] = row
        return np.stack([fresh[k] if k in fresh else memo[k] for k in keys]).astype(np.float32)

    def __repr__(self) -> str:
        return f"MemoEmbedder({self.inner!r})"


__all__ = ["MAX_TEXTS", "MemoEmbedder", "ask_vectors"]
