"""Stores: the ``Store`` protocol, the SQLite default, PostgreSQL and an in-memory reference."""

from ragline.store._base import Matrix, ScoredChunk, Store, StoreStats, Vector
from ragline.store._filters import Condition, matches, parse_filter, parse_filters
from ragline.store._memory import MemoryStore
from ragline.store._postgres import PostgresStore
from ragline.store._sqlite import SQLiteStore

__all__ = [
    "Condition",
    "Matrix",
    "MemoryStore",
    "PostgresStore",
    "SQLiteStore",
    "ScoredChunk",
    "Store",
    "StoreStats",
    "Vector",
    "matches",
    "open_store",
    "parse_filter",
    "parse_filters",
]


def open_store(url: str, *, base_dir: str | None = None) -> Store:
    """Open a store from a URL: ``sqlite:///path.db``, ``sqlite://:memory:``, ``memory://``,
    ``postgresql://user:password@host:5432/db``."""
    from ragline.store._open import open_store as _open

    return _open(url, base_dir=base_dir)
