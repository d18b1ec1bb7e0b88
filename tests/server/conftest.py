"""Fixtures: the two-tenant project of ``_kb`` and ``ragline serve`` as a real process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ragline.testing import ServerProcess

from ._kb import KEYS_ENV, make_project


@pytest.fixture(scope="session")
def two_tenant_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project(tmp_path_factory.mktemp("server-kb"))


@pytest.fixture(scope="session")
def server(two_tenant_dir: Path) -> Iterator[ServerProcess]:
    """One real server for the read-mostly tests of the session."""
    with ServerProcess(two_tenant_dir, env=KEYS_ENV) as proc:
        yield proc
