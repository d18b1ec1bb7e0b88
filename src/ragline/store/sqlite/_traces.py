"""``SQLiteTraceStore``: spans, feedback and drop counters in the project's SQLite file.

The shared :class:`~ragline.store.sql._traces.SQLTraceStore` on a connection of its
own to the same database file as :class:`SQLiteStore` (WAL mode, so readers and the
trace writer don't block each other), with a short busy timeout: the background
writer would rather drop a batch (and count it) than wait long behind another
process's write.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic_core import to_json

from ragline.store.sql._traces import SQLTraceStore
from ragline.store.sqlite._connect import SQLiteDialect, file_database


def _dumps(value: Any) -> str:
    """Compact JSON; anything not JSON becomes its ``str``, NaN/inf become null.

    pydantic-core's encoder (already a dependency, via pydantic) is several times
    faster than ``json.dumps`` on span attributes, and this runs for every span.
    """
    return to_json(value, fallback=str, inf_nan_mode="null").decode()


class SQLiteTraceStore(SQLTraceStore):
    """Traces and feedback in a ragline SQLite database (the same file as the store).

    >>> traces = SQLiteTraceStore("ragline.db")                    # doctest: +SKIP
    >>> traces.list_traces(tenant="acme", status="error", limit=10)  # doctest: +SKIP
    """

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 500) -> None:
        self.path = str(path)
        db = file_database(self.path, "trace", busy_timeout_ms=busy_timeout_ms)
        super().__init__(SQLiteDialect(db), dumps=_dumps)
