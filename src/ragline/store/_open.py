"""Store URLs: which backend a URL names, its SQLite path, and how to print it safely."""

from __future__ import annotations

from pathlib import Path

from ragline.errors import ConfigError
from ragline.store._backend import Backend

VALID_FORMS = (
    "sqlite:///relative/path.db (relative to the project folder), "
    "sqlite:////absolute/path.db, sqlite://:memory:, memory://, "
    "postgresql://user:password@host:5432/database"
)


def sqlite_path(url: str, *, base_dir: str | Path | None = None) -> str:
    """The database path a ``sqlite:`` URL names (``:memory:`` for an in-memory database)."""
    rest = url[len("sqlite://") :]
    if rest in (":memory:", "/:memory:"):
        return ":memory:"
    if not rest.startswith("/") or rest == "/":
        raise ConfigError(
            f"store URL {url!r} has no database path",
            hint=f"valid forms: {VALID_FORMS}",
        )
    path_text = rest[1:]  # sqlite:///rel.db -> rel.db ; sqlite:////abs.db -> /abs.db
    path = Path(path_text).expanduser()
    if not path.is_absolute():
        path = Path(base_dir if base_dir is not None else Path.cwd()) / path
    return str(path)


def redact_url(url: str) -> str:
    """The store URL with any password replaced by ``***`` (for printing)."""
    import re

    text = re.sub(r"^([a-zA-Z][\w+.-]*://[^:/@]*:)[^@]*@", r"\1***@", url.strip())
    return re.sub(r"(?i)([?&]password=)[^&]*", r"\1***", text)


def backend_kind(url: str) -> str:
    """``"memory"``, ``"sqlite"`` or ``"postgres"``: which backend a store URL names.

    Raises :class:`ConfigError` for anything else.
    """
    text = url.strip().lower() if isinstance(url, str) else ""
    scheme = text.split(":", 1)[0] if ":" in text else ""
    if scheme == "memory" and text in ("memory://", "memory:", "memory:///"):
        return "memory"
    if scheme == "sqlite" and text.startswith("sqlite://"):
        return "sqlite"
    if (scheme in ("postgresql", "postgres") or scheme.startswith("postgresql+")) and (
        "://" in text
    ):
        return "postgres"
    raise ConfigError(f"unsupported store URL {url!r}", hint=f"valid forms: {VALID_FORMS}")


def open_backend(
    url: str,
    *,
    base_dir: str | Path | None = None,
    trace_busy_timeout_ms: int = 500,
    ann_threshold: int | None = None,
) -> Backend:
    """The :class:`Backend` a store URL names (nothing is opened until first used).

    - ``sqlite:///rel/path.db``: relative to ``base_dir`` (or the current directory)
    - ``sqlite:////abs/path.db``: an absolute path
    - ``sqlite://:memory:``: a private in-memory SQLite database
    - ``memory://``: the pure-Python in-memory store
    - ``postgresql://user:password@host:port/db`` (also ``postgres://``): PostgreSQL
      with pgvector (needs ``pip install 'ragline[postgres]'``)

    ``base_dir`` is also where the evaluation runs of an in-memory store are kept
    (``ragline-evals.db``). ``trace_busy_timeout_ms`` bounds how long the trace writer
    waits for a SQLite lock before it drops (and counts) a batch. ``ann_threshold``
    (SQLite only; default :data:`~ragline.store.sqlite._vector_plan.ANN_THRESHOLD`) is
    the tenant size from which vector search uses the approximate index.
    """
    kind = backend_kind(url)
    text = url.strip()
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    if kind == "memory":
        from ragline.store.memory import MemoryBackend

        return MemoryBackend(base_dir=base)
    if kind == "sqlite":
        from ragline.store.sqlite import SQLiteBackend

        return SQLiteBackend(
            sqlite_path(text, base_dir=base),
            base_dir=base,
            trace_busy_timeout_ms=trace_busy_timeout_ms,
            ann_threshold=ann_threshold,
        )
    import importlib.util

    if importlib.util.find_spec("psycopg") is None:
        raise ConfigError(
            "the PostgreSQL store needs psycopg",
            hint="pip install 'ragline[postgres]', or use sqlite:///ragline.db",
        )
    from ragline.store.postgres import PostgresBackend

    return PostgresBackend(text)
