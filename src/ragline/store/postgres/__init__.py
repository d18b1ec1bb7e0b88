"""The PostgreSQL backend (``postgresql://…``): every family on one connection pool.

Tables, row-level security and migrations: :mod:`._migrations`. The document store
(:class:`PostgresStore`) owns the pool; every other family shares it, so one process
holds one pool per database. psycopg is imported when the backend first connects
(and pydantic when the evaluation tables are first used).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ragline.store._backend import Family, LazyFamilies
from ragline.store._open import redact_url
from ragline.store.postgres._conversations import PostgresConversationStore
from ragline.store.postgres._documents import PostgresStore
from ragline.store.postgres._prompts import PostgresPromptStore
from ragline.store.postgres._rollups import PostgresRollupStore
from ragline.store.postgres._sentences import PostgresSentenceStore
from ragline.store.postgres._tickets import PostgresTicketStore
from ragline.store.postgres._traces import PostgresTraceStore
from ragline.store.postgres._user_memory import PostgresUserMemoryStore

if TYPE_CHECKING:
    from ragline.models._cache import ResponseCache
    from ragline.store._alerts import AlertStore
    from ragline.store._evals import EvalStore
    from ragline.store._limits import RateLimits

from ragline.store.postgres._local import LocalPostgres
from ragline.store.postgres._roles import create_postgres_role

__all__ = ["LocalPostgres", "PostgresBackend", "create_postgres_role"]


def _evals(backend: PostgresBackend) -> EvalStore:
    from ragline.store.postgres._evals import PostgresEvalStore  # pydantic: on first use

    return PostgresEvalStore(backend.documents)


def _response_cache(backend: PostgresBackend) -> ResponseCache:
    from ragline.store.postgres._cache import PostgresResponseCache

    return PostgresResponseCache(backend.documents)


def _alerts(backend: PostgresBackend) -> AlertStore:
    from ragline.store.postgres._alerts import PostgresAlertStore

    return PostgresAlertStore(backend.documents)


def _rate_limits(backend: PostgresBackend) -> RateLimits:
    from ragline.store.postgres._limits import PostgresRateLimits

    return PostgresRateLimits(backend.documents)


class PostgresBackend(LazyFamilies):
    """Every family in the PostgreSQL database ``url`` (migrated when first opened).

    The document store owns the pool; every other family is made from it.
    """

    documents = Family(lambda backend: PostgresStore(backend._url))
    traces = Family(lambda backend: PostgresTraceStore(backend.documents))
    conversations = Family(lambda backend: PostgresConversationStore(backend.documents))
    sentences = Family(lambda backend: PostgresSentenceStore(backend.documents))
    evals = Family(_evals)
    response_cache = Family(_response_cache)
    alerts = Family(_alerts)
    rollups = Family(lambda backend: PostgresRollupStore(backend.documents))
    user_memory = Family(lambda backend: PostgresUserMemoryStore(backend.documents))
    prompts = Family(lambda backend: PostgresPromptStore(backend.documents))
    tickets = Family(lambda backend: PostgresTicketStore(backend.documents))
    rate_limits = Family(_rate_limits)

    def __init__(self, url: str) -> None:
        super().__init__()
        self._url = url  # with its password: never printed
        self.url = redact_url(url)

    def tenant_isolation(self) -> tuple[bool, str] | None:
        from ragline.store.postgres._roles import ROLE_HINT

        problem = self.documents.row_security_problem
        if problem is not None:
            return False, f"{problem}: row-level security does not apply — {ROLE_HINT}"
        return True, f"row-level security applies (connected as {self.documents.role})"

    def migrate(self) -> tuple[list[str], list[str]]:
        """Apply pending migrations (an advisory lock: safe from many processes)."""
        from ragline.store.postgres._migrations import migrate_postgres

        return migrate_postgres(self._url)
