"""SQLiteEvalStore (and the memory backend's, a SQLite file): the conformance suite,
plus what only a file has: runs survive a reopen, an old schema is a clear error, and
the project's choice of file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ragline import Project
from ragline.errors import ConfigError
from ragline.store import open_backend
from ragline.store._evals import EvalStore
from ragline.store.sqlite import SQLiteEvalStore
from ragline.testing import EvalStoreConformance
from ragline.testing._eval_conformance import make_result, new_run


class TestSQLiteEvalStore(EvalStoreConformance):
    @pytest.fixture
    def eval_store(self, tmp_path: Path) -> Iterator[EvalStore]:
        store = SQLiteEvalStore(tmp_path / "ragline.db")
        yield store
        store.close()


class TestMemoryBackendEvalStore(EvalStoreConformance):
    """``memory://`` keeps evaluation runs in ``ragline-evals.db`` in the project folder."""

    @pytest.fixture
    def eval_store(self, tmp_path: Path) -> Iterator[EvalStore]:
        backend = open_backend("memory://", base_dir=tmp_path)
        yield backend.evals
        backend.close()


def test_round_trip_survives_reopen(tmp_path: Path) -> None:
    db = tmp_path / "ragline.db"
    store = SQLiteEvalStore(db)
    store.create_run(new_run(name="baseline"))
    result = make_result("c1")
    store.add_result("20250101-000000-abcdef", result)
    store.finish_run("20250101-000000-abcdef", "complete", {"cases": 1})
    store.close()
    store = SQLiteEvalStore(db)
    run = store.get_run("20250101-000000-abcdef")
    assert run.status == "complete" and run.summary == {"cases": 1} and run.finished_at
    assert run.fingerprint == {"embedder": "hash", "retrieval": {"k": 5}}
    (back,) = store.results(run.id)
    assert back.case == result.case and back.output == result.output
    assert back.metrics == result.metrics
    assert store.done_keys(run.id) == {("c1", 0)}


def test_eval_store_location(tmp_path: Path) -> None:
    p = Project(tmp_path, overrides={"embedder": "hash"})
    assert p.evals.path == str(tmp_path / "ragline.db")  # the project's database
    p = Project(tmp_path, overrides={"embedder": "hash", "store": "memory://"})
    assert p.evals.path == str(tmp_path / "ragline-evals.db")
    p = Project(tmp_path, overrides={"evals.store": "sqlite:///runs.db"})
    assert p.evals.path == str(tmp_path / "runs.db")
    p = Project(tmp_path, overrides={"evals.store": "mysql://x/y"})  # PostgreSQL: see
    with pytest.raises(ConfigError, match="not a SQLite or PostgreSQL URL"):  # *_postgres.py
        _ = p.evals


def test_old_development_schema_is_a_clear_error(tmp_path: Path) -> None:
    import sqlite3

    from ragline.errors import StoreError
    from ragline.store.sqlite._migrations import MIGRATIONS, apply_migrations

    db = tmp_path / "old.db"
    conn = sqlite3.connect(db, isolation_level=None)
    apply_migrations(conn, MIGRATIONS[:7])
    conn.execute("CREATE TABLE eval_runs (id TEXT PRIMARY KEY, data TEXT NOT NULL)")
    conn.execute("INSERT INTO migrations VALUES ('0008_eval_runs', 0)")
    conn.close()
    with pytest.raises(StoreError, match="development build") as e:
        SQLiteEvalStore(db)
    assert "evals.store" in str(e.value)
