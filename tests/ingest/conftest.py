"""Fixtures for ingestion tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragline.config import IngestSettings
from ragline.ingest import Ingestor
from ragline.store import MemoryStore

from .helpers import CountingEmbedder, make_settings


@pytest.fixture
def settings() -> IngestSettings:
    return make_settings()


@pytest.fixture
def embedder() -> CountingEmbedder:
    return CountingEmbedder()


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "docs").mkdir()
    return tmp_path


@pytest.fixture
def ingestor(
    store: MemoryStore, embedder: CountingEmbedder, settings: IngestSettings, project: Path
) -> Ingestor:
    return Ingestor(store, embedder, settings, project_dir=project)
