"""PostgresEvalStore: the evaluation store on PostgreSQL, and the project's choice of it.

A real PostgreSQL (the ``pgserver`` wheel's binaries) on a loopback port, one fresh
database per test (``pg_url`` in ``conftest.py``): the conformance suite, a reopen,
and the project's choice of eval store. The runner's own tests run on PostgreSQL in
``tests/evals/test_runner_postgres.py``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ragline import Project
from ragline.errors import ConfigError, StoreError
from ragline.store._evals import EvalStore
from ragline.testing import EvalStoreConformance
from ragline.testing._eval_conformance import RUN, make_result, new_run


class TestPostgresEvalStore(EvalStoreConformance):
    @pytest.fixture
    def eval_store(self, pg_url: str) -> Iterator[EvalStore]:
        from ragline.store.postgres._evals import PostgresEvalStore

        store = PostgresEvalStore(pg_url)
        yield store
        store.close()


def test_round_trip_survives_reopen(pg_url: str) -> None:
    from ragline.store.postgres._evals import PostgresEvalStore

    store = PostgresEvalStore(pg_url)
    store.create_run(new_run(name="baseline"))
    result = make_result("c1")
    store.add_result(RUN, result)
    store.finish_run(RUN, "complete", {"cases": 1, "mean": math.nan, "名前": "ü"})
    store.close()
    store = PostgresEvalStore(pg_url)
    run = store.get_run(RUN)
    assert run.status == "complete" and run.finished_at and run.name == "baseline"
    assert run.summary["cases"] == 1 and math.isnan(run.summary["mean"])
    assert run.summary["名前"] == "ü"
    assert run.fingerprint == {"embedder": "hash", "retrieval": {"k": 5}}
    (back,) = store.results(run.id)
    assert back.case == result.case and back.output == result.output
    assert back.metrics == result.metrics
    assert store.done_keys(run.id) == {("c1", 0)}
    store.close()


def test_open_eval_store_chooses_postgresql(tmp_path: Path, pg_url: str) -> None:
    from ragline.store.postgres._evals import PostgresEvalStore

    p = Project(tmp_path, overrides={"embedder": "hash", "evals.store": pg_url})
    es = p.evals
    assert isinstance(es, PostgresEvalStore)
    assert "app-secret-pw" not in es.url  # shown without the password
    es.create_run(new_run())
    es.close()
    assert not (tmp_path / "ragline-evals.db").exists()

    p = Project(tmp_path, overrides={"embedder": "hash", "store": pg_url})
    es = p.evals  # the project's own PostgreSQL database
    assert isinstance(es, PostgresEvalStore) and es.get_run("last").id == RUN
    es.close()
    _ = p.store  # once the project's store is open, its pool is shared
    shared = p.evals
    assert shared.get_run(RUN).id == RUN
    shared.close()  # leaves the project's store open
    assert p.stats() is not None
    p.close()


def test_open_eval_store_rejects_other_urls(tmp_path: Path) -> None:
    p = Project(tmp_path, overrides={"evals.store": "mysql://x/y"})
    with pytest.raises(ConfigError, match="not a SQLite or PostgreSQL URL") as e:
        _ = p.evals
    assert "postgresql://" in str(e.value)


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    from ragline.testing._postgres import free_port

    url = f"postgresql://ragline:s3cr3t-pw@127.0.0.1:{free_port()}/ragline"
    p = Project(tmp_path, overrides={"evals.store": url})
    with pytest.raises(StoreError, match="cannot connect") as e:
        _ = p.evals
    assert "s3cr3t-pw" not in str(e.value)


def test_cli_eval_run_list_report_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    """``ragline eval`` end to end with ``evals.store: postgresql://…``; no SQLite file."""
    import json

    from typer.testing import CliRunner

    from ragline.cli import app

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "warranty.md").write_text("# Warranty\n\nThe frame has a two year warranty.\n")
    (tmp_path / "cases.jsonl").write_text(
        json.dumps({"id": "w", "question": "How long is the warranty?", "expected": ["two year"]})
        + "\n"
    )
    (tmp_path / "ragline.yaml").write_text(f"store: memory://\nevals:\n  store: {pg_url}\n")

    def cli(*args: str) -> Any:
        return CliRunner().invoke(app, ["-C", str(tmp_path), "--embedder", "hash", *args])

    assert cli("ingest", str(docs)).exit_code == 0
    first = cli("eval", "run", str(tmp_path / "cases.jsonl"), "--json")
    assert first.exit_code == 0, first.output
    run_id = json.loads(first.stdout)["run"]
    again = cli("eval", "run", str(tmp_path / "cases.jsonl"), "--json")
    assert again.exit_code == 0, again.output
    listed = cli("eval", "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert run_id in listed.stdout and json.loads(again.stdout)["run"] in listed.stdout
    report = cli("eval", "report", run_id, "--format", "json")
    assert report.exit_code == 0, report.output
    assert run_id in report.stdout
    assert not list(tmp_path.glob("*.db"))  # nothing went to a SQLite file
