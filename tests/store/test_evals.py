"""The SQLite evaluation store: runs and results survive a reopen; lookups say what's wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragline import Project
from ragline.errors import ConfigError, NotFoundError
from ragline.evals import Case, CaseOutput, CitedSentence, MetricResult, RetrievedContext
from ragline.store._evals import CaseResult, RunInfo
from ragline.store.sqlite import SQLiteEvalStore


def make_result(case_id: str, *, error: str | None = None, key: str = "k") -> CaseResult:
    return CaseResult(
        case=Case(id=case_id, question=f"q {case_id}?", expected=["a"], category="safety"),
        repeat_index=0,
        output=CaseOutput(
            answer="a [1]",
            sentences=(CitedSentence("a", ("c1",)),),
            contexts=(RetrievedContext("c1", "d1", "text", 0.5),),
            latency_ms=12.5,
            trace_id="t-1",
            error=error,
            guards=({"blocked": False, "guard": "pii"},),
        ),
        metrics=[
            MetricResult("token_f1", "1", value=1.0, details={"x": 1}),
            MetricResult("refusal", "1", failure="pipeline_error"),
            MetricResult("guard", "1", skipped="no_guards"),
        ],
        cache_key=key,
        case_hash="h",
        metrics_key="m",
    )


def new_run(run_id: str = "20250101-000000-abcdef", name: str | None = None) -> RunInfo:
    return RunInfo(
        id=run_id,
        name=name,
        dataset_path="cases.jsonl",
        dataset_hash="dh",
        fingerprint={"embedder": "hash", "retrieval": {"k": 5}},
        fingerprint_hash="fh",
    )


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


def test_run_lookup_by_prefix_name_and_last(tmp_path: Path) -> None:
    store = SQLiteEvalStore(tmp_path / "e.db")
    store.create_run(new_run("20250101-000000-aaaaaa", name="base"))
    later = new_run("20250102-000000-bbbbbb")
    later.created_at += 10
    store.create_run(later)
    assert store.get_run("20250101").id == "20250101-000000-aaaaaa"
    assert store.get_run("base").id == "20250101-000000-aaaaaa"
    assert store.get_run("last").id == "20250102-000000-bbbbbb"
    assert [r.id for r in store.list_runs()] == ["20250102-000000-bbbbbb", "20250101-000000-aaaaaa"]
    with pytest.raises(NotFoundError, match="several runs"):
        store.get_run("2025010")
    with pytest.raises(NotFoundError, match="no evaluation run 'nope'") as e:
        store.get_run("nope")
    assert "ragline eval list" in str(e.value)


def test_cache_never_returns_a_failed_output(tmp_path: Path) -> None:
    store = SQLiteEvalStore(tmp_path / "e.db")
    store.create_run(new_run())
    store.add_result("20250101-000000-abcdef", make_result("c1", error="boom", key="k1"))
    assert store.cached(["k1"]) == {}
    store.add_results(
        "20250101-000000-abcdef", [make_result("c2", key="k2"), make_result("c3", key="k3")]
    )
    hits = store.cached(["k1", "k2", "k3", "k4"])
    assert sorted(hits) == ["k2", "k3"]
    assert hits["k2"].output.answer == "a [1]" and hits["k2"].metrics_key == "m"


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
