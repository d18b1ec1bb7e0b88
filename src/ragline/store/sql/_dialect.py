"""``Dialect``: what a SQL backend supplies so that a table family is written once.

A shared family (:mod:`ragline.store.sql`) writes its statements with the dialect's
words and runs them through it:

- **words**: the parameter mark (``?`` or ``%s``), how a JSON parameter is written
  (PostgreSQL casts it to ``jsonb``), the substring function, a list membership test.
  Inserts and upserts are written here once: both engines speak ``ON CONFLICT``;
- **running**: :meth:`Dialect.fetch` for one read and :meth:`Dialect.run` for work
  that must commit together. Both take the tenant the statement is for: PostgreSQL
  sets it for row-level security (``None`` opts in to the all-tenant view that the
  trace writer and operator tools use); SQLite, which has no row-level security,
  runs the statement as it is. Errors come out as ``StoreError`` either way;
- **values**: PostgreSQL text cannot hold NUL, so :meth:`Dialect.clean` stores it as
  U+FFFD where a family accepts any text (notes, search text), and
  :meth:`Dialect.storable` tells a family that a key with a NUL names no row, so it
  can answer as for an unknown key without asking the server.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Protocol, TypedDict, TypeVar, Unpack

T = TypeVar("T")
V = TypeVar("V")

Names = Sequence[str]  # column names
Rows = list[tuple[Any, ...]]


class RunOptions(TypedDict, total=False):
    """How :meth:`Dialect.run` runs its work.

    ``idempotent`` (default ``True``): the work may be retried once after a lost
    connection; pass ``False`` for work whose retry would see its own first attempt
    (an insert that must be new, a counter). ``timeout_s`` (default none): how long the
    work may wait for a lock, for this transaction only.
    """

    idempotent: bool
    timeout_s: float | None


class Result(Protocol):
    """What a statement returns: a sqlite3 or psycopg cursor."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Statements(Protocol):
    """Where the work of :meth:`Dialect.run` executes: a sqlite3 connection or a psycopg
    cursor, inside the transaction."""

    def execute(self, sql: str, params: Any = ..., /) -> Result: ...

    def executemany(self, sql: str, rows: Any, /) -> object: ...


Work = Callable[[Statements], T]  # what runs in one transaction


class Dialect(ABC):
    """The words and the runner of one SQL backend (see the module docstring)."""

    #: the parameter mark
    mark: ClassVar[str]
    #: the mark of a parameter that is JSON text bound for a JSON column
    json_mark: ClassVar[str]
    #: the function ``f(text, part)`` giving the position of ``part`` (0 when absent)
    find: ClassVar[str]

    # -- words -----------------------------------------------------------------------

    def marks(self, columns: Names, json: Names = ()) -> str:
        """One mark per column (:attr:`json_mark` for the ``json`` ones), comma-separated."""
        return ", ".join(self.json_mark if c in json else self.mark for c in columns)

    def insert(self, table: str, columns: Names, *, json: Names = ()) -> str:
        """``INSERT INTO table (columns) VALUES (marks)``."""
        return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({self.marks(columns, json)})"

    def insert_new(self, table: str, columns: Names, key: Names, *, json: Names = ()) -> str:
        """An insert that does nothing (``rowcount`` 0) when the ``key`` is taken."""
        return f"{self.insert(table, columns, json=json)} ON CONFLICT ({', '.join(key)}) DO NOTHING"

    def upsert(self, table: str, columns: Names, key: Names, *, json: Names = ()) -> str:
        """An insert that replaces every other column of the row with the same ``key``."""
        changed = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
        conflict = f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {changed}"
        return f"{self.insert(table, columns, json=json)} {conflict}"

    def any_of(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """``column`` is one of ``values``: the condition and its parameters."""
        return f"{column} IN ({', '.join(self.mark for _ in values)})", list(values)

    # -- values ----------------------------------------------------------------------

    def clean(self, value: V) -> V:
        """``value`` as the backend can store it (unchanged unless said otherwise)."""
        return value

    def storable(self, *keys: Any) -> bool:
        """Whether a row could have these key values (if not, no query is needed)."""
        return True

    # -- running ---------------------------------------------------------------------

    @abstractmethod
    def fetch(self, tenant: str | None, sql: str, params: Sequence[Any] = ()) -> Rows:
        """The rows of one read statement for ``tenant`` (``None``: every tenant)."""

    @abstractmethod
    def run(self, tenant: str | None, work: Work[T], **options: Unpack[RunOptions]) -> T:
        """``work`` in one transaction for ``tenant`` (``None``: every tenant), committed
        when it returns, rolled back when it raises (see :class:`RunOptions`)."""

    def lock(self, db: Statements, key: str) -> None:  # noqa: B027  # most need none
        """Inside :meth:`run`'s work: hold ``key``'s lock until the transaction ends, so
        writers of one key queue. SQLite: nothing to do (a write transaction is ``BEGIN
        IMMEDIATE``: one writer at a time)."""

    @abstractmethod
    def close(self) -> None:
        """Close what this dialect opened (a shared pool or file stays open)."""
