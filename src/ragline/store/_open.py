"""``open_store(url)``: turn a store URL from the config into a ``Store``."""

from __future__ import annotations

from pathlib import Path

from ragline.errors import ConfigError
from ragline.store._base import Store

VALID_FORMS = (
    "sqlite:///relative/path.db (relative to the project folder), "
    "sqlite:////absolute/path.db, sqlite://:memory:, memory://"
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


def open_store(url: str, *, base_dir: str | Path | None = None) -> Store:
    """Open the store a URL names.

    - ``sqlite:///rel/path.db``: relative to ``base_dir`` (or the current directory)
    - ``sqlite:////abs/path.db``: an absolute path
    - ``sqlite://:memory:``: a private in-memory SQLite database
    - ``memory://``: the pure-Python in-memory store
    """
    text = url.strip() if isinstance(url, str) else ""
    scheme = text.split(":", 1)[0].lower() if ":" in text else ""
    if scheme == "memory" and text.lower() in ("memory://", "memory:", "memory:///"):
        from ragline.store._memory import MemoryStore

        return MemoryStore()
    if scheme == "sqlite" and text.lower().startswith("sqlite://"):
        from ragline.store._sqlite import SQLiteStore

        return SQLiteStore(sqlite_path(text, base_dir=base_dir))
    if scheme in ("postgresql", "postgres") or scheme.startswith("postgresql+"):
        raise ConfigError(
            f"store URL {url!r}: the PostgreSQL store is not available yet",
            hint="use sqlite:///ragline.db for now",
        )
    raise ConfigError(
        f"unsupported store URL {url!r}",
        hint=f"valid forms: {VALID_FORMS}",
    )
