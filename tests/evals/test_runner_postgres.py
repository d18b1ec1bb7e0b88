"""The runner's resume, cache and concurrency on PostgreSQL.

``test_runner.py``'s own tests, collected here again with the ``store`` fixture
switched to a :class:`PostgresEvalStore` on a real PostgreSQL (the ``pgserver``
wheel's binaries, one server for the module, a fresh database per test). The
evaluation store itself is tested in ``tests/store/test_evals_postgres.py``.
"""

from __future__ import annotations

import importlib.util
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from test_runner import (  # the runner tests, re-run below on PostgreSQL
    project,
    test_all_cases_failing_still_reports,
    test_any_configuration_change_misses_the_cache,
    test_bad_runner_input,
    test_cached_scores_are_reused_only_for_the_same_metrics,
    test_concurrency_gives_the_same_results,
    test_interrupted_concurrent_run_keeps_finished_cases,
    test_interrupted_run_resumes_only_the_missing_cases,
    test_knowledge_base_change_misses_the_cache,
    test_no_cache_reruns_everything,
    test_pipeline_errors_are_counted_not_raised,
    test_repeats_are_separate_results,
    test_resume_refuses_a_changed_dataset_or_config,
    test_run_scores_and_stores_every_case,
    test_unchanged_rerun_comes_from_the_cache,
)

from ragline.store._evals import EvalStore

__all__ = [
    "project",
    "test_all_cases_failing_still_reports",
    "test_any_configuration_change_misses_the_cache",
    "test_bad_runner_input",
    "test_cached_scores_are_reused_only_for_the_same_metrics",
    "test_concurrency_gives_the_same_results",
    "test_interrupted_concurrent_run_keeps_finished_cases",
    "test_interrupted_run_resumes_only_the_missing_cases",
    "test_knowledge_base_change_misses_the_cache",
    "test_no_cache_reruns_everything",
    "test_pipeline_errors_are_counted_not_raised",
    "test_repeats_are_separate_results",
    "test_resume_refuses_a_changed_dataset_or_config",
    "test_run_scores_and_stores_every_case",
    "test_unchanged_rerun_comes_from_the_cache",
]

MISSING = [
    m for m in ("psycopg", "psycopg_pool", "pgserver") if importlib.util.find_spec(m) is None
]
_names = itertools.count()


@pytest.fixture(scope="module")
def pg_server() -> Iterator[Any]:
    if MISSING:
        pytest.skip(f"PostgreSQL tests need {', '.join(MISSING)} (pip install -e '.[dev]')")
    from ragline.testing._postgres import TempPostgres

    server = TempPostgres().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: Any) -> Iterator[str]:
    name = f"e{next(_names)}"
    url = str(pg_server.create_database(name))
    try:
        yield url
    finally:
        pg_server.drop_database(name)


@pytest.fixture
def store(pg_url: str) -> Iterator[EvalStore]:
    from ragline.store.postgres._evals import PostgresEvalStore

    s = PostgresEvalStore(pg_url)
    yield s
    s.close()
