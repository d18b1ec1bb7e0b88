"""``open_store(url)``: turn a store URL from the config into a ``Store``."""

from __future__ import annotations

from pathlib import Path

from ragline.errors import ConfigError
from ragline.store._base import Store

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


def open_store(url: str, *, base_dir: str | Path | None = None) -> Store:
    """Open the store a URL names.

    - ``sqlite:///rel/path.db``: relative to ``base_dir`` (or the current directory)
    - ``sqlite:////abs/path.db``: an absolute path
    - ``sqlite://:memory:``: a private in-memory SQLite database
    - ``memory://``: the pure-Python in-memory store
    - ``postgresql://user:password@host:port/db`` (also ``postgres://``): PostgreSQL
      with pgvector (needs ``pip install 'ragline[postgres]'``)
    """
    text = url.strip() if isinstance(url, str) else ""
    scheme = text.split(":", 1)[0].lower() if ":" in text else ""
    if scheme == "memory" and text.lower() in ("memory://", "memory:", "memory:///"):
        from ragline.store._memory import MemoryStore

        return MemoryStore()
    if scheme == "sqlite" and text.lower().startswith("sqlite://"):
        from ragline.store._sqlite import SQLiteStore

        return SQLiteStore(sqlite_path(text, base_dir=base_dir))
    if (scheme in ("postgresql", "postgres") or scheme.startswith("postgresql+")) and (
        "://" in text
    ):
        import importlib.util

        if importlib.util.find_spec("psycopg") is None:
            raise ConfigError(
                "the PostgreSQL store needs psycopg",
                hint="pip install 'ragline[postgres]', or use sqlite:///ragline.db",
            )
        from ragline.store._postgres import PostgresStore

        return PostgresStore(text)
    raise ConfigError(
        f"unsupported store URL {url!r}",
        hint=f"valid forms: {VALID_FORMS}",
    )


def migrate_store(url: str, *, base_dir: str | Path | None = None) -> tuple[list[str], list[str]]:
    """Apply the store's pending schema migrations: ``(applied now, all applied)``.

    Safe to run from several processes at once (SQLite: one writer at a time;
    PostgreSQL: an advisory lock). ``memory://`` has no schema: ``([], [])``.
    """
    text = url.strip() if isinstance(url, str) else ""
    scheme = text.split(":", 1)[0].lower() if ":" in text else ""
    if scheme == "memory" and text.lower() in ("memory://", "memory:", "memory:///"):
        return [], []
    if scheme == "sqlite" and text.lower().startswith("sqlite://"):
        import sqlite3

        from ragline.errors import StoreError
        from ragline.store._migrations import applied_migrations, apply_migrations

        path = sqlite_path(text, base_dir=base_dir)
        if path != ":memory:" and not Path(path).parent.is_dir():
            raise StoreError(
                f"cannot open store {path!r}: its folder does not exist",
                hint="create the folder or fix the store path in ragline.yaml",
            )
        try:
            conn = sqlite3.connect(path, isolation_level=None, timeout=30)
            try:
                conn.execute("PRAGMA busy_timeout = 30000")
                conn.execute("PRAGMA foreign_keys = ON")
                now = apply_migrations(conn)
                return now, applied_migrations(conn)
            finally:
                conn.close()
        except sqlite3.Error as e:
            raise StoreError(
                f"cannot migrate store {path!r}: {e}",
                hint="check that the file is a ragline SQLite database and is writable",
            ) from e
    if (scheme in ("postgresql", "postgres") or scheme.startswith("postgresql+")) and (
        "://" in text
    ):
        from ragline.store._postgres_cache import migrate_postgres

        return migrate_postgres(text)
    raise ConfigError(f"unsupported store URL {url!r}", hint=f"valid forms: {VALID_FORMS}")
