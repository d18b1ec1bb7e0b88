"""Storage: the protocols of every table family, and one backend per kind of store URL.

- Protocols (what the rest of ragline imports): :class:`Store` (documents, chunks,
  keyword and vector search), :class:`TraceStore`, :class:`ConversationStore`,
  :class:`SentenceStore`, :class:`EvalStore`, :class:`UserMemoryStore` (the agent's
  long-term memory), :class:`PromptStore` (prompt versions and labels), and
  :class:`Backend`, which hands out all of them for one store URL.
- Backends, one folder each: ``store.memory`` (the reference), ``store.sqlite`` (the
  default), ``store.postgres``. :func:`open_backend` turns a URL into one; the
  document stores are also importable from here, lazily (PostgreSQL needs psycopg).
- Whole stores: :func:`copy_store` copies every tenant from one backend to another;
  :class:`LocalPostgres` runs a project's own PostgreSQL (the ``pgserver`` wheel) and
  :func:`create_postgres_role` makes an ordinary role on a server (lazy imports).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragline.store._alerts import AlertEvent, AlertState, AlertStore, EvaluatorLock, Silence
from ragline.store._backend import Backend
from ragline.store._base import Matrix, ScoredChunk, Store, StoreStats, Vector
from ragline.store._claims import ClaimHolder, ClaimOutcome, DocumentClaim
from ragline.store._conversations import ConversationStore
from ragline.store._filters import Condition, matches, parse_filter, parse_filters
from ragline.store._limits import MemoryRateLimits, RateLimits
from ragline.store._open import open_backend
from ragline.store._prompts import LabelEvent, PromptLabel, PromptStore, PromptVersion
from ragline.store._sentences import SentenceStore
from ragline.store._tickets import Ticket, TicketStore
from ragline.store._traces import TraceStore
from ragline.store._user_memory import (
    MemoryEntry,
    MemoryItem,
    MemoryPage,
    ScoredMemory,
    UserMemoryStore,
)

if TYPE_CHECKING:
    from ragline.store._copy import CopySummary, copy_store
    from ragline.store._evals import EvalStore
    from ragline.store.memory import MemoryStore
    from ragline.store.postgres._documents import PostgresStore
    from ragline.store.postgres._local import LocalPostgres
    from ragline.store.postgres._roles import create_postgres_role
    from ragline.store.sqlite import SQLiteStore

__all__ = [
    "AlertEvent",
    "AlertState",
    "AlertStore",
    "Backend",
    "ClaimHolder",
    "ClaimOutcome",
    "Condition",
    "ConversationStore",
    "CopySummary",
    "DocumentClaim",
    "EvalStore",
    "EvaluatorLock",
    "LabelEvent",
    "LocalPostgres",
    "Matrix",
    "MemoryEntry",
    "MemoryItem",
    "MemoryPage",
    "MemoryRateLimits",
    "MemoryStore",
    "PostgresStore",
    "PromptLabel",
    "PromptStore",
    "PromptVersion",
    "RateLimits",
    "SQLiteStore",
    "ScoredChunk",
    "ScoredMemory",
    "SentenceStore",
    "Silence",
    "Store",
    "StoreStats",
    "Ticket",
    "TicketStore",
    "TraceStore",
    "UserMemoryStore",
    "Vector",
    "copy_store",
    "create_postgres_role",
    "matches",
    "open_backend",
    "open_store",
    "parse_filter",
    "parse_filters",
]

_LAZY = {
    "EvalStore": "ragline.store._evals",  # pydantic: imported on first use
    "MemoryStore": "ragline.store.memory",
    "SQLiteStore": "ragline.store.sqlite",
    "PostgresStore": "ragline.store.postgres._documents",
    "CopySummary": "ragline.store._copy",
    "copy_store": "ragline.store._copy",
    "LocalPostgres": "ragline.store.postgres._local",
    "create_postgres_role": "ragline.store.postgres._roles",
}


def open_store(url: str, *, base_dir: str | Path | None = None) -> Store:
    """The document store of a URL: ``sqlite:///path.db``, ``sqlite://:memory:``,
    ``memory://``, ``postgresql://user:password@host:5432/db``."""
    return open_backend(url, base_dir=base_dir).documents


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ragline.store' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
