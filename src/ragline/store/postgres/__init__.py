"""The PostgreSQL backend (``postgresql://…``): every family on one connection pool.

Tables, row-level security and migrations: :mod:`._migrations`. The document store
(:class:`PostgresStore`) owns the pool; every other family shares it, so one process
holds one pool per database. psycopg is imported when the backend first connects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ragline.store._backend import LazyFamilies
from ragline.store._open import redact_url

if TYPE_CHECKING:
    from ragline.models._cache import ResponseCache
    from ragline.store._base import Store
    from ragline.store._conversations import ConversationStore
    from ragline.store._evals import EvalStore
    from ragline.store._sentences import SentenceStore
    from ragline.store._traces import TraceStore
    from ragline.store.postgres._documents import PostgresStore

__all__ = ["PostgresBackend"]


class PostgresBackend(LazyFamilies):
    """Every family in the PostgreSQL database ``url`` (migrated when first opened)."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self._url = url
        self.url = redact_url(url)

    def _pool(self) -> PostgresStore:
        from ragline.store.postgres._documents import PostgresStore

        return self._family("documents", lambda: PostgresStore(self._url))

    @property
    def documents(self) -> Store:
        return self._pool()

    @property
    def traces(self) -> TraceStore:
        from ragline.store.postgres._traces import PostgresTraceStore

        return self._family("traces", lambda: PostgresTraceStore(self._pool()))

    @property
    def conversations(self) -> ConversationStore:
        from ragline.store.postgres._conversations import PostgresConversationStore

        return self._family("conversations", lambda: PostgresConversationStore(self._pool()))

    @property
    def sentences(self) -> SentenceStore:
        from ragline.store.postgres._sentences import PostgresSentenceStore

        return self._family("sentences", lambda: PostgresSentenceStore(self._pool()))

    @property
    def evals(self) -> EvalStore:
        from ragline.store.postgres._evals import PostgresEvalStore

        return self._family("evals", lambda: PostgresEvalStore(self._pool()))

    @property
    def response_cache(self) -> ResponseCache:
        from ragline.store.postgres._cache import PostgresResponseCache

        return self._family("response_cache", lambda: PostgresResponseCache(self._pool()))

    def migrate(self) -> tuple[list[str], list[str]]:
        """Apply pending migrations (an advisory lock: safe from many processes)."""
        from ragline.store.postgres._migrations import migrate_postgres

        return migrate_postgres(self._url)
