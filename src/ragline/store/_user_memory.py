"""User memory: what the agent remembers about one user of one tenant — records and contract.

A memory item is a short text (a fact, a commitment, a summary of a conversation)
with the vector of that text, kept per ``(tenant, user)``. The agent's long-term
memory (:mod:`ragline.agent._memory`) writes items after a run and recalls the
nearest ones for a new question; ``ragline memory list|forget`` and
``GET/DELETE /v1/memory`` read and delete them.

Every backend (memory, SQLite, PostgreSQL) passes
``ragline.testing.UserMemoryStoreConformance``. Every call names its tenant *and*
user: another user's item, or another tenant's, behaves exactly like an unknown id.

The protocol is ``UserMemoryStore``, not ``MemoryStore``: that name is the in-memory
document store's (``ragline.store.MemoryStore``) since the first release.

Search is exact cosine over the user's own items (a user holds hundreds, not
millions; :class:`BaseUserMemoryStore` caps nothing but the caller does — see
``agent.memory.max_items``), written once here for every backend, so the scores are
the same numbers on SQLite and PostgreSQL. Vectors of another embedder (the project
changed ``embedder:``) are never compared: they are skipped until re-recorded.
"""

from __future__ import annotations

import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from ragline.errors import InputError
from ragline.store._base import Vector
from ragline.store._conversation_rows import check_tenant, check_text

Clock = Callable[[], float]

MAX_USER_CHARS = 256
MAX_TEXT_CHARS = 20_000
MAX_PAGE = 1_000
_CURSOR = re.compile(r"(-?[0-9]+(?:\.[0-9]+)?(?:e[-+]?[0-9]+)?):([0-9a-f]{32})\Z")


@dataclass(frozen=True, slots=True)
class MemoryEntry:
    """One item to remember (what :meth:`UserMemoryStore.add` takes)."""

    text: str
    vector: npt.ArrayLike  # any 1-D numbers; stored unit-length as float32
    embedder: str
    kind: str = "fact"  # "fact", "commitment", "preference", "order", "summary", …
    conversation_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MemoryItem:
    """One remembered item as stored (its vector is not returned)."""

    id: str  # 32 lowercase hex characters
    tenant: str
    user: str
    text: str
    kind: str
    embedder: str
    created_at: float  # Unix epoch seconds
    conversation_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The item as ``ragline memory list --json`` and ``GET /v1/memory`` show it."""
        return {
            "id": self.id,
            "user": self.user,
            "kind": self.kind,
            "text": self.text,
            "created_at": self.created_at,
            "conversation_id": self.conversation_id,
            "metadata": dict(self.metadata),
            "embedder": self.embedder,
        }


@dataclass(frozen=True, slots=True)
class ScoredMemory:
    item: MemoryItem
    score: float  # cosine similarity of the item's vector and the query's, in [-1, 1]


@dataclass(frozen=True, slots=True)
class MemoryPage:
    items: list[MemoryItem]  # newest first
    next_cursor: str | None  # pass to ``list_items(cursor=…)`` for the next page; None: done


@runtime_checkable
class UserMemoryStore(Protocol):
    def add(self, tenant: str, user: str, entries: Sequence[MemoryEntry]) -> list[MemoryItem]:
        """Store ``entries`` for ``(tenant, user)`` in one transaction; the stored items.

        Raises ``InputError`` (nothing stored) for an empty user, empty text, a vector
        that is not a finite, non-zero 1-D array, or an unstorable string.
        """
        ...

    def search(
        self, tenant: str, user: str, vector: npt.ArrayLike, *, embedder: str, k: int = 5
    ) -> list[ScoredMemory]:
        """The ``k`` items of this user (made by ``embedder``) nearest ``vector``, best first."""
        ...

    def list_items(
        self, tenant: str, user: str, *, limit: int = 50, cursor: str | None = None
    ) -> MemoryPage:
        """This user's items, newest first, ``limit`` at a time (``InputError``: bad cursor)."""
        ...

    def get(self, tenant: str, user: str, memory_id: str) -> MemoryItem | None: ...

    def forget(self, tenant: str, user: str, memory_id: str) -> bool:
        """Delete one item; ``False`` if this user has no such item."""
        ...

    def forget_user(self, tenant: str, user: str) -> int:
        """Delete every item of this user (vectors and index entries with them); how many."""
        ...

    def count(self, tenant: str, user: str | None = None) -> int:
        """Items of one user, or of every user of the tenant."""
        ...

    def close(self) -> None: ...


def check_user(user: Any) -> str:
    if not isinstance(user, str) or not user.strip():
        raise InputError(
            "user must be a non-empty string", hint="pass the end user's id, e.g. user='u-1042'"
        )
    if len(user) > MAX_USER_CHARS:
        raise InputError(f"user id is {len(user)} characters; at most {MAX_USER_CHARS}")
    return check_text(user, "user")


def check_vector(vector: Any, what: str = "vector") -> Vector:
    """``vector`` as a unit-length float32 1-D array; ``InputError`` when it cannot be one."""
    try:
        array = np.asarray(vector, dtype=np.float32)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a list of numbers") from None
    if array.ndim != 1 or array.shape[0] == 0:
        raise InputError(f"{what} must be a non-empty 1-D array, not shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise InputError(f"{what} holds NaN or infinite values", hint="check the embedder")
    norm = float(np.linalg.norm(array))
    if norm == 0.0:
        raise InputError(f"{what} is all zeros", hint="check the embedder")
    out: Vector = (array / norm).astype(np.float32)
    return out


def check_entry(entry: Any) -> tuple[MemoryEntry, Vector]:
    """``entry`` checked, and its vector as stored (unit length, float32)."""
    if not isinstance(entry, MemoryEntry):
        raise InputError(f"a memory entry must be a MemoryEntry, not {type(entry).__name__}")
    text = check_text(entry.text, "memory text")
    if not text.strip():
        raise InputError("memory text is empty", hint="remember something")
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(
            f"memory text is {len(text)} characters; at most {MAX_TEXT_CHARS}",
            hint="store a summary, not the whole conversation",
        )
    kind = check_text(entry.kind, "memory kind")
    if not kind.strip():
        raise InputError("memory kind is empty", hint="e.g. kind='fact'")
    check_text(entry.embedder, "embedder")
    if entry.conversation_id is not None:
        check_text(entry.conversation_id, "conversation_id")
    if not isinstance(entry.metadata, dict):
        raise InputError("memory metadata must be a JSON object (a dict)")
    return entry, check_vector(entry.vector)


def encode_cursor(item: MemoryItem) -> str:
    return f"{item.created_at!r}:{item.id}"


def decode_cursor(cursor: str) -> tuple[float, str]:
    found = _CURSOR.match(cursor) if isinstance(cursor, str) else None
    if found is None:
        raise InputError(
            f"invalid memory cursor {cursor!r}",
            hint="pass the next_cursor of the previous page, unchanged",
        )
    return float(found.group(1)), found.group(2)


Candidate = tuple[str, float, Vector]  # an item's id, created_at and vector


def rank(candidates: Sequence[Candidate], query: Vector, k: int) -> list[tuple[str, float]]:
    """The ids and cosines of the ``k`` best candidates (ties: newest first, then id);
    vectors of another dimension than the query's are skipped."""
    same = [c for c in candidates if c[2].shape == query.shape]
    if not same or k <= 0:
        return []
    scores = np.stack([c[2] for c in same]) @ query
    ids = np.array([c[0] for c in same])
    created = np.array([c[1] for c in same], dtype=np.float64)
    order = np.lexsort((ids, -created, -scores))[:k]  # the last key sorts first
    return [(str(ids[i]), float(scores[i])) for i in order]


class BaseUserMemoryStore(ABC):
    """The checked calls every backend shares; a backend implements the ``_`` methods.

    Input is checked once, here, before anything is written, so a bad entry is the
    same ``InputError`` on every backend and a batch with one bad entry stores none.
    """

    _clock: Clock

    def add(self, tenant: str, user: str, entries: Sequence[MemoryEntry]) -> list[MemoryItem]:
        tenant, user = check_tenant(tenant), check_user(user)
        checked = [check_entry(e) for e in entries]
        if not checked:
            return []
        now = self._clock()
        items = [
            (
                MemoryItem(
                    id=uuid.uuid4().hex,
                    tenant=tenant,
                    user=user,
                    text=e.text,
                    kind=e.kind,
                    embedder=e.embedder,
                    created_at=now,
                    conversation_id=e.conversation_id,
                    metadata=dict(e.metadata),
                ),
                vector,
            )
            for e, vector in checked
        ]
        self._insert(tenant, items)
        return [item for item, _ in items]

    def search(
        self, tenant: str, user: str, vector: npt.ArrayLike, *, embedder: str, k: int = 5
    ) -> list[ScoredMemory]:
        tenant, user = check_tenant(tenant), check_user(user)
        query = check_vector(vector, "query vector")
        if k <= 0:
            return []
        best = rank(self._candidates(tenant, user, embedder), query, int(k))
        items = {i.id: i for i in self._items(tenant, user, [memory_id for memory_id, _ in best])}
        return [ScoredMemory(items[m], score) for m, score in best if m in items]

    def list_items(
        self, tenant: str, user: str, *, limit: int = 50, cursor: str | None = None
    ) -> MemoryPage:
        tenant, user = check_tenant(tenant), check_user(user)
        if not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
            raise InputError(f"limit must be between 1 and {MAX_PAGE}, not {limit!r}")
        after = decode_cursor(cursor) if cursor is not None else None
        items = self._page(tenant, user, limit + 1, after)
        more = len(items) > limit
        items = items[:limit]
        return MemoryPage(items, encode_cursor(items[-1]) if more else None)

    def get(self, tenant: str, user: str, memory_id: str) -> MemoryItem | None:
        tenant, user = check_tenant(tenant), check_user(user)
        if not isinstance(memory_id, str) or "\x00" in memory_id:
            return None
        return self._get(tenant, user, memory_id)

    def forget(self, tenant: str, user: str, memory_id: str) -> bool:
        tenant, user = check_tenant(tenant), check_user(user)
        if not isinstance(memory_id, str) or "\x00" in memory_id:
            return False
        return self._delete(tenant, user, memory_id)

    def forget_user(self, tenant: str, user: str) -> int:
        return self._delete_user(check_tenant(tenant), check_user(user))

    def count(self, tenant: str, user: str | None = None) -> int:
        tenant = check_tenant(tenant)
        return self._count(tenant, None if user is None else check_user(user))

    # -- what a backend implements ------------------------------------------------------

    @abstractmethod
    def _insert(self, tenant: str, items: list[tuple[MemoryItem, Vector]]) -> None: ...

    @abstractmethod
    def _candidates(self, tenant: str, user: str, embedder: str) -> list[Candidate]:
        """The id, created_at and vector of each of the user's items made by ``embedder``."""

    @abstractmethod
    def _items(self, tenant: str, user: str, ids: Sequence[str]) -> list[MemoryItem]:
        """The user's items among ``ids`` (any order; unknown ids left out)."""

    @abstractmethod
    def _page(
        self, tenant: str, user: str, limit: int, after: tuple[float, str] | None
    ) -> list[MemoryItem]:
        """Up to ``limit`` items newest first (``created_at`` DESC, ``id`` DESC), strictly
        after the ``(created_at, id)`` of ``after``."""

    @abstractmethod
    def _get(self, tenant: str, user: str, memory_id: str) -> MemoryItem | None: ...

    @abstractmethod
    def _delete(self, tenant: str, user: str, memory_id: str) -> bool: ...

    @abstractmethod
    def _delete_user(self, tenant: str, user: str) -> int: ...

    @abstractmethod
    def _count(self, tenant: str, user: str | None) -> int: ...

    @abstractmethod
    def close(self) -> None: ...
