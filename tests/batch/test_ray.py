"""``--executor ray`` on a local Ray (``ray.init(address="local", num_cpus=2)``, one per
module): ingest and evaluation give exactly the local results, on SQLite and on a real
PostgreSQL, and a worker killed mid-batch changes nothing but the time taken.

``ragline.batch`` reuses the Ray this process initialised, so the CLI and the Python API
run on this module's cluster without starting their own.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from typer.testing import CliRunner

from ragline.cli import app
from ragline.evals._dataset import load_cases
from ragline.evals._metrics import default_metrics
from ragline.evals._runner import EvalRunner, ProjectTarget
from ragline.testing import HashEmbedder

from .helpers import assert_same, open_project, report_rows, snapshot, write_corpus

ray = pytest.importorskip("ray", reason="the Ray executor tests need pip install 'ragline[ray]'")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[Any]:
    # the workers unpickle this module's test embedder by value (they cannot import tests/)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
    )
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("kb"))


@pytest.fixture(scope="module")
def local_result(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The local executor's ingest of the corpus: the reference every Ray run must match."""
    with open_project(tmp_path_factory.mktemp("local")) as project:
        report = project.ingest([corpus], root=corpus.parent)
        return {"rows": report_rows(report), "snapshot": snapshot(project)}


def test_ingest_on_ray_matches_local_and_is_idempotent(
    corpus: Path, local_result: dict[str, Any], tmp_path: Path
) -> None:
    with open_project(tmp_path / "p") as project:
        report = project.ingest([corpus], root=corpus.parent, executor="ray", workers=2)
        assert report_rows(report) == local_result["rows"]
        assert ("corpus/empty.md", "failed", 0, 0) in report_rows(report)
        assert_same(snapshot(project), local_result["snapshot"])
        again = project.ingest([corpus], root=corpus.parent, executor="ray", workers=2)
        assert {r.status for r in again.files} == {"unchanged", "failed"}
        assert again.chunks_embedded == 0
        assert_same(snapshot(project), local_result["snapshot"])


def test_ingest_cli_prints_the_local_summary(corpus: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    outputs = []
    for name, extra in (("local", []), ("ray", ["--executor", "ray", "--workers", "2"])):
        project = tmp_path / name
        project.mkdir()
        result = runner.invoke(
            app, ["-C", str(project), "--embedder", "hash", "ingest", str(corpus), *extra]
        )
        assert result.exit_code == 0, result.output
        # the summary's last line, less the elapsed time
        outputs.append(result.output.strip().splitlines()[-1].rsplit(" in ", 1)[0])
    assert outputs[0] == outputs[1]
    assert "added" in outputs[1] and "chunks embedded" in outputs[1]


@pytest.fixture(scope="module")
def pg_server() -> Iterator[Any]:
    """A real PostgreSQL + pgvector on a loopback port (the pgserver wheel's binaries)."""
    missing = [m for m in ("psycopg", "pgserver") if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"PostgreSQL tests need {', '.join(missing)} (pip install -e '.[dev]')")
    from ragline.testing._postgres import TempPostgres

    server = TempPostgres().start()
    try:
        yield server
    finally:
        server.stop()


def test_ingest_on_ray_into_postgres_matches_local(
    corpus: Path, pg_server: Any, tmp_path: Path
) -> None:
    results = []
    for name in ("local", "ray"):
        url = str(pg_server.create_database(f"ray_{name}"))
        try:
            with open_project(tmp_path / name, store=url) as project:
                report = project.ingest([corpus], root=corpus.parent, executor=name)
                results.append((report_rows(report), snapshot(project)))
        finally:
            pg_server.drop_database(f"ray_{name}")
    assert results[0][0] == results[1][0]
    assert_same(results[0][1], results[1][1])


class SlowEmbedder(HashEmbedder):
    """The hash embedder (same name, same vectors), slowed down, noting which worker
    process starts each batch in ``marks`` (so the test can kill one mid-batch)."""

    def __init__(self, marks: Path) -> None:
        super().__init__()
        self.marks = str(marks)

    def embed_documents(self, texts: Any) -> npt.NDArray[np.float32]:
        Path(self.marks, f"{os.getpid()}-{time.monotonic_ns()}").touch()
        time.sleep(0.3)
        return super().embed_documents(texts)


def _kill_first_worker(marks: Path, killed: list[int], stop: threading.Event) -> None:
    while not stop.is_set():
        pids = {int(p.name.split("-")[0]) for p in marks.iterdir()} - {os.getpid()}
        if pids:
            pid = min(pids)
            os.kill(pid, signal.SIGKILL)  # mid-batch: it sleeps 0.3 s after the mark
            killed.append(pid)
            return
        time.sleep(0.02)


def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(
    corpus: Path, local_result: dict[str, Any], tmp_path: Path
) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    killed: list[int] = []
    stop = threading.Event()
    killer = threading.Thread(target=_kill_first_worker, args=(marks, killed, stop))
    (tmp_path / "p").mkdir()
    from ragline import Project

    from .helpers import OVERRIDES

    with Project(tmp_path / "p", overrides=OVERRIDES, embedder=SlowEmbedder(marks)) as project:
        killer.start()
        try:
            report = project.ingest([corpus], root=corpus.parent, executor="ray", workers=2)
        finally:
            stop.set()
            killer.join()
        assert killed, "no worker was killed"
        with pytest.raises(ProcessLookupError):
            os.kill(killed[0], 0)
        later = {int(p.name.split("-")[0]) for p in marks.iterdir()} - {killed[0]}
        assert len(later) >= 2  # the other worker and the restarted one carried on
        assert report_rows(report) == local_result["rows"]
        assert_same(snapshot(project), local_result["snapshot"])


def _cases(corpus: Path, tmp_path: Path) -> Path:
    import json

    path = tmp_path / "cases.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for i in range(8):
            case = {
                "id": f"c{i}",
                "question": f"What does paragraph 0 of document {i} say about term{i}x0x3?",
                "gold_doc_ids": [f"corpus/doc{i:02d}.md"],
                "must_contain": [f"term{i}x0x3"],
            }
            f.write(json.dumps(case) + "\n")
    return path


def _metric_values(project: Any, run_id: str) -> dict[tuple[str, str], Any]:
    out = {}
    for result in project.evals.results(run_id):
        for m in result.metrics:
            if "latency" not in m.metric and "cost" not in m.metric:
                out[(result.case.id, m.metric)] = (m.value, m.failure, m.skipped)
    return out


def test_eval_on_ray_gives_the_local_metrics(corpus: Path, tmp_path: Path) -> None:
    from ragline.batch import parse_executor
    from ragline.batch._evals import ray_target

    cases = load_cases(_cases(corpus, tmp_path))
    with open_project(tmp_path / "p") as project:
        project.ingest([corpus], root=corpus.parent)
        metrics = default_metrics(project.embedder, None, k=project.settings.retrieval.k)
        local = ProjectTarget(project)
        runs = []
        with ray_target(parse_executor("ray"), local, workers=2) as on_ray:
            for target, concurrency in ((local, 1), (on_ray, on_ray.workers)):
                runner = EvalRunner(
                    project.evals, target, metrics, concurrency=concurrency, use_cache=False
                )
                runs.append(runner.run(cases, dataset_path="cases.jsonl"))
        values = [_metric_values(project, run.id) for run in runs]
        assert values[0] == values[1]
        assert len(values[0]) >= 8 * 5
        assert runs[0].fingerprint_hash == runs[1].fingerprint_hash  # one configuration
        assert [r.status for r in runs] == ["complete", "complete"]
        assert sum(1 for (_case, name), _v in values[1].items() if name == "hit@5") == 8


def test_eval_cli_with_ray_stores_a_complete_run(corpus: Path, tmp_path: Path) -> None:
    project_dir = tmp_path / "p"
    with open_project(project_dir) as project:
        project.ingest([corpus], root=corpus.parent)
    cases = _cases(corpus, tmp_path)
    command = ["-C", str(project_dir), "--embedder", "hash", "eval", "run", str(cases)]
    result = CliRunner().invoke(
        app, [*command, "--executor", "ray", "--workers", "2", "--json", "--no-cache"]
    )
    assert result.exit_code == 0, result.output
    with open_project(project_dir) as project:
        (run,) = project.evals.list_runs()
        assert run.status == "complete"
        assert len(project.evals.results(run.id)) == 8
