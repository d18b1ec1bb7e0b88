"""Prompt versions and labels on the reference and SQLite backends: conformance, files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ragline.store import PromptStore, open_backend
from ragline.store.memory import MemoryBackend, MemoryPromptStore
from ragline.store.sqlite import SQLitePromptStore
from ragline.testing import PromptStoreConformance
from ragline.testing._prompt_conformance import version_of


class TestMemoryPromptStore(PromptStoreConformance):
    def make_store(self, clock: Callable[[], float]) -> PromptStore:
        return MemoryPromptStore(clock=clock)


class TestSQLitePromptStore(PromptStoreConformance):
    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path: Path) -> None:
        self.db = tmp_path / "ragline.db"
        backend = open_backend(f"sqlite:///{self.db}")
        backend.migrate()
        backend.close()

    def make_store(self, clock: Callable[[], float]) -> PromptStore:
        return SQLitePromptStore(self.db, clock=clock)


def test_versions_and_labels_survive_a_reopen(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'r.db'}"
    backend = open_backend(db)
    backend.migrate()
    kept = backend.prompts.add_version(version_of("cite", "Q: {{ question }}"))
    backend.prompts.set_label("acme", "cite", "production", kept.version)
    backend.close()
    again = open_backend(db)
    assert again.prompts.get_version("cite", kept.version) == kept
    assert again.prompts.label("acme", "cite", "production") == kept.version
    again.close()


def test_backends_hand_out_their_prompt_store(tmp_path: Path) -> None:
    for backend in (MemoryBackend(), open_backend("sqlite://:memory:")):
        assert isinstance(backend.prompts, MemoryPromptStore)
        backend.close()
    backend = open_backend(f"sqlite:///{tmp_path / 'r.db'}")
    _, names = backend.migrate()
    assert "0014_prompts" in names and "0015_memory" in names
    assert isinstance(backend.prompts, SQLitePromptStore)
    backend.close()
