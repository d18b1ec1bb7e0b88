"""The in-memory backend (``memory://``): the reference implementation of every family.

Nothing survives the process except evaluation runs, which are kept in
``ragline-evals.db`` in the project folder so runs can be compared later.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ragline.store._backend import LazyFamilies
from ragline.store.memory._conversations import MemoryConversationStore
from ragline.store.memory._documents import MemoryStore
from ragline.store.memory._sentences import MemorySentenceStore
from ragline.store.memory._traces import MemoryTraceStore

if TYPE_CHECKING:
    from ragline.models._cache import ResponseCache
    from ragline.store._base import Store
    from ragline.store._conversations import ConversationStore
    from ragline.store._evals import EvalStore
    from ragline.store._sentences import SentenceStore
    from ragline.store._traces import TraceStore

__all__ = [
    "MemoryBackend",
    "MemoryConversationStore",
    "MemorySentenceStore",
    "MemoryStore",
    "MemoryTraceStore",
]

EVALS_FILE = "ragline-evals.db"


class MemoryBackend(LazyFamilies):
    """Every family in memory; ``documents`` may be a store made elsewhere (tests)."""

    url = "memory://"

    def __init__(self, documents: Store | None = None, *, base_dir: str | Path = ".") -> None:
        super().__init__()
        self.base_dir = Path(base_dir)
        if documents is not None:
            self._families["documents"] = documents

    @property
    def documents(self) -> Store:
        return self._family("documents", MemoryStore)

    @property
    def traces(self) -> TraceStore:
        return self._family("traces", MemoryTraceStore)

    @property
    def conversations(self) -> ConversationStore:
        return self._family("conversations", MemoryConversationStore)

    @property
    def sentences(self) -> SentenceStore:
        return self._family("sentences", MemorySentenceStore)

    @property
    def evals(self) -> EvalStore:
        from ragline.store.sqlite._evals import SQLiteEvalStore

        return self._family("evals", lambda: SQLiteEvalStore(self.base_dir / EVALS_FILE))

    @property
    def response_cache(self) -> ResponseCache:
        from ragline.models._cache import MemoryResponseCache

        return self._family("response_cache", MemoryResponseCache)

    def migrate(self) -> tuple[list[str], list[str]]:
        return [], []  # no schema
