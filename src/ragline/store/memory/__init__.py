"""The in-memory backend (``memory://``): the reference implementation of every family.

Nothing survives the process except evaluation runs, which are kept in
``ragline-evals.db`` in the project folder so runs can be compared later.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ragline.store._backend import Family, LazyFamilies
from ragline.store._limits import MemoryRateLimits
from ragline.store.memory._alerts import MemoryAlertStore
from ragline.store.memory._conversations import MemoryConversationStore
from ragline.store.memory._documents import MemoryStore
from ragline.store.memory._prompts import MemoryPromptStore
from ragline.store.memory._rollups import MemoryRollupStore
from ragline.store.memory._sentences import MemorySentenceStore
from ragline.store.memory._tickets import MemoryTicketStore
from ragline.store.memory._traces import MemoryTraceStore
from ragline.store.memory._user_memory import MemoryUserMemoryStore

if TYPE_CHECKING:
    from ragline.models._cache import ResponseCache
    from ragline.store._base import Store
    from ragline.store._evals import EvalStore

__all__ = [
    "MemoryAlertStore",
    "MemoryBackend",
    "MemoryConversationStore",
    "MemoryPromptStore",
    "MemoryRollupStore",
    "MemorySentenceStore",
    "MemoryStore",
    "MemoryTicketStore",
    "MemoryTraceStore",
    "MemoryUserMemoryStore",
]

EVALS_FILE = "ragline-evals.db"


def _evals(backend: MemoryBackend) -> EvalStore:
    from ragline.store.sqlite._evals import SQLiteEvalStore  # pydantic: on first use

    return SQLiteEvalStore(backend.base_dir / EVALS_FILE)


def _response_cache(backend: MemoryBackend) -> ResponseCache:
    from ragline.models._cache import MemoryResponseCache

    return MemoryResponseCache()


class MemoryBackend(LazyFamilies):
    """Every family in memory; ``documents`` may be a store made elsewhere (tests)."""

    url = "memory://"
    documents: Family[Store] = Family(lambda backend: MemoryStore())
    traces = Family(lambda backend: MemoryTraceStore())
    conversations = Family(lambda backend: MemoryConversationStore())
    sentences = Family(lambda backend: MemorySentenceStore())
    evals = Family(_evals)
    response_cache = Family(_response_cache)
    alerts = Family(lambda backend: MemoryAlertStore())
    rollups = Family(lambda backend: MemoryRollupStore())
    user_memory = Family(lambda backend: MemoryUserMemoryStore())
    prompts = Family(lambda backend: MemoryPromptStore())
    tickets = Family(lambda backend: MemoryTicketStore())
    rate_limits = Family(lambda backend: MemoryRateLimits())  # per process

    def __init__(self, documents: Store | None = None, *, base_dir: str | Path = ".") -> None:
        super().__init__()
        self.base_dir = Path(base_dir)
        if documents is not None:
            self._families["documents"] = documents

    def migrate(self) -> tuple[list[str], list[str]]:
        return [], []  # no schema
