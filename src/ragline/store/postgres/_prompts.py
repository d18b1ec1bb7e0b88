"""``PostgresPromptStore``: prompt versions and labels in the PostgreSQL database.

The shared :class:`~ragline.store.sql._prompts.SQLPromptStore` on the document store's
pool (or a pool of its own, from a URL). Tables from migration ``0014_prompts`` (see
:mod:`._migrations`): ``prompt_versions`` is project-wide; ``prompt_label_events`` has
row-level security, so a tenant's call sees only that tenant's labels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ragline.store._prompts import Clock
from ragline.store.postgres._dialect import PostgresDialect
from ragline.store.sql._prompts import SQLPromptStore

if TYPE_CHECKING:
    from ragline.store.postgres._documents import PostgresStore


class PostgresPromptStore(SQLPromptStore):
    """Prompt versions and labels in a ragline PostgreSQL database."""

    def __init__(
        self,
        url_or_store: str | PostgresStore,
        *,
        max_connections: int = 2,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(
            PostgresDialect(url_or_store, max_connections=max_connections), clock=clock
        )
