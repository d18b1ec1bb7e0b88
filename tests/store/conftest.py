"""Fixtures shared by the store tests: a session-wide PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .pg_helpers import fresh_database, start_server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    """A running PostgreSQL + pgvector on a loopback port (skips if not installed)."""
    yield from start_server()


@pytest.fixture
def pg_url(pg_server: Any) -> Iterator[str]:
    """The URL of a fresh, empty database for one test (as the non-superuser app role)."""
    yield from fresh_database(pg_server)
