"""The user cache (exported and assembled model files) and a lock for writing into it."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


def cache_root() -> Path:
    """``$RAGLINE_CACHE_DIR``, else ``~/.cache/ragline``."""
    env = os.environ.get("RAGLINE_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "ragline"


@contextlib.contextmanager
def file_lock(lock_path: Path) -> Iterator[None]:
    """An exclusive inter-process lock (POSIX ``flock``; a no-op where unavailable —
    writers there still rename finished files into place, so files stay whole)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with lock_path.open("a") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
