"""``PostgresSentenceStore``: the extractive answerer's sentence vectors in PostgreSQL.

The shared :class:`~ragline.store.sql._sentences.SQLSentenceStore` on the document
store's pool. Table ``sentence_vectors`` from migration ``0010_sentence_vectors`` (see
:mod:`._migrations`), with row-level security like the document tables: every call
runs with its tenant set, so a query sees only that tenant's rows even without its
``WHERE tenant``. A lookup is ``hash = ANY(…)``; ``put(timeout_s=…)`` sets a local
``lock_timeout`` and ``statement_timeout`` for that write only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ragline.store.postgres._dialect import PostgresDialect
from ragline.store.sql._sentences import SQLSentenceStore

if TYPE_CHECKING:
    from ragline.store.postgres._documents import PostgresStore


class PostgresSentenceStore(SQLSentenceStore):
    """Sentence vectors sharing a :class:`PostgresStore`'s pool (``close`` leaves it open)."""

    def __init__(self, store: PostgresStore) -> None:
        super().__init__(PostgresDialect(store))
