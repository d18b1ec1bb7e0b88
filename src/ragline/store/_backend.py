"""``Backend``: every table family of one store URL, opened once and closed together.

A project's data lives in one place, named by ``store:`` in ``ragline.yaml``. The
backend of that URL (``store.memory``, ``store.sqlite``, ``store.postgres``) hands
out each table family — documents, traces and feedback, conversations, sentence
vectors, evaluation runs, the model response cache — built on first use from one
connection setup (one SQLite file, one PostgreSQL pool), and closes them all. The
rest of ragline sees only the protocols; ``ragline._parts`` is the one place that
opens a backend (:func:`ragline.store.open_backend`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, overload, runtime_checkable

if TYPE_CHECKING:
    from ragline.models._cache import ResponseCache
    from ragline.store._alerts import AlertStore
    from ragline.store._base import Store
    from ragline.store._conversations import ConversationStore
    from ragline.store._evals import EvalStore
    from ragline.store._limits import RateLimits
    from ragline.store._prompts import PromptStore
    from ragline.store._rollups import RollupStore
    from ragline.store._sentences import SentenceStore
    from ragline.store._tickets import TicketStore
    from ragline.store._traces import TraceStore
    from ragline.store._user_memory import UserMemoryStore

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


@runtime_checkable
class Backend(Protocol):
    """The table families of one store; each opened on first use (thread-safe)."""

    #: the store URL, with any password replaced by ``***``
    url: str

    @property
    def documents(self) -> Store: ...

    @property
    def traces(self) -> TraceStore: ...

    @property
    def conversations(self) -> ConversationStore: ...

    @property
    def sentences(self) -> SentenceStore: ...

    @property
    def evals(self) -> EvalStore: ...

    @property
    def response_cache(self) -> ResponseCache: ...

    @property
    def alerts(self) -> AlertStore: ...

    @property
    def rollups(self) -> RollupStore: ...

    @property
    def user_memory(self) -> UserMemoryStore:
        """The agent's long-term memory per (tenant, user)."""
        ...

    @property
    def prompts(self) -> PromptStore:
        """Prompt versions (kept forever) and their labels per tenant."""
        ...

    @property
    def tickets(self) -> TicketStore:
        """The agent's hand-off tickets per tenant."""
        ...

    @property
    def rate_limits(self) -> RateLimits:
        """The server's rate-limit buckets (shared by every process on PostgreSQL)."""
        ...

    def migrate(self) -> tuple[list[str], list[str]]:
        """Apply pending schema migrations: ``(applied now, all applied)``."""
        ...

    def tenant_isolation(self) -> tuple[bool, str] | None:
        """Whether the server itself keeps tenants apart, and why (``ragline doctor``).

        ``None`` when the backend has no such layer (SQLite, memory: every query
        names its tenant); PostgreSQL reports ``False`` when connected as a superuser
        or ``BYPASSRLS`` role, which row-level security never binds.
        """
        ...

    def close(self) -> None:
        """Close every family opened so far (the documents last); safe to call twice."""
        ...


class Family(Generic[T_co]):
    """One table family of a backend class, made by ``make(backend)`` on first use.

    A backend lists its families as a table, ``traces = Family(lambda backend: …)``;
    reading ``backend.traces`` makes the family once (thread-safe, through
    :meth:`LazyFamilies._family`) and :meth:`LazyFamilies.close` closes it.
    """

    def __init__(self, make: Callable[[Any], T_co]) -> None:
        self._make = make
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, backend: None, owner: type) -> Family[T_co]: ...

    @overload
    def __get__(self, backend: LazyFamilies, owner: type) -> T_co: ...

    def __get__(self, backend: LazyFamilies | None, owner: type) -> Family[T_co] | T_co:
        if backend is None:
            return self
        return backend._family(self.name, lambda: self._make(backend))


class LazyFamilies:
    """What every backend shares: families made once, on first use, closed in reverse.

    A backend subclass declares each family as a :class:`Family`.
    """

    def __init__(self) -> None:
        self._families: dict[str, Any] = {}
        self._lock = threading.RLock()  # a family may be made from another (the pool)

    def _family(self, name: str, make: Callable[[], T]) -> T:
        """The family ``name``, made by ``make()`` if it is not made yet."""
        found = self._families.get(name)
        if found is None:
            with self._lock:
                found = self._families.get(name)
                if found is None:
                    found = self._families[name] = make()
        return found  # type: ignore[no-any-return]

    def tenant_isolation(self) -> tuple[bool, str] | None:
        return None  # no server-side layer: see Backend.tenant_isolation

    def close(self) -> None:
        with self._lock:
            families, self._families = self._families, {}
        for name in reversed(list(families)):
            close = getattr(families[name], "close", None)
            if callable(close) and name != "documents":
                close()
        documents = families.get("documents")
        if documents is not None:
            documents.close()
