"""A project's asks and feedback feed the rollups, and a failing rollup write never
fails an ask: its minute is marked as a gap."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

import ragline
from ragline.monitor import MetricQuery, RollupSource
from ragline.monitor._recorder import MonitoredTraceStore
from ragline.store._rollups import minute_of
from ragline.testing import HashEmbedder

DOCS = {
    "warranty.md": "# Warranty\n\nEvery X200 comes with a two-year warranty. "
    "The warranty covers the motor and the battery.\n",
    "garantia.md": "# Garantía\n\nCada X200 tiene una garantía de dos años. "
    "La garantía cubre el motor y la batería.\n",
}
ROUTING = (
    "routing:\n  - name: warranty\n    when: {query_matches: 'warranty'}\n"
    "    boost: {doc_type: finance, factor: 2}\n"
)


def make_project(tmp_path: Path, yaml: str = "") -> ragline.Project:
    docs = tmp_path / "docs"
    docs.mkdir(exist_ok=True)
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    (tmp_path / "ragline.yaml").write_text(
        "store: sqlite:///ragline.db\nembedder: hash\n" + ROUTING + yaml, encoding="utf-8"
    )
    project = ragline.Project(tmp_path, embedder=HashEmbedder())
    project.ingest([docs])
    return project


def source(project: ragline.Project) -> RollupSource:
    store = project.trace_store
    assert isinstance(store, MonitoredTraceStore)
    return RollupSource(project.parts.backend.rollups, pending_gaps=store.recorder.pending_gaps)


def value(project: ragline.Project, metric: str, agg: str, **filters: str) -> float | None:
    query = MetricQuery(metric, agg, 3600, filters)  # type: ignore[arg-type]
    return source(project).query(query, now=time.time()).value


def test_asks_and_feedback_become_rollups(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    answer = project.ask("How long is the X200 warranty?")
    project.ask("What does the battery cost?")
    project.flush_traces(5)
    assert value(project, "requests", "count") == 2
    assert value(project, "requests", "count", route="warranty") == 1
    assert value(project, "errors", "rate") == 0
    assert value(project, "latency", "p50") is not None
    assert value(project, "latency", "max", stage="retrieve") is not None
    # the question's language is detected off the ask path and kept in the trace
    root = next(s for s in project.get_trace(answer.trace_id or "") if s.parent_id is None)
    assert root.attributes["ragline.question.language"] == "en"
    # hits carry their chunk's language, so cross-language retrieval is judged
    assert value(project, "cross_language", "rate") is not None
    project.add_feedback(answer.trace_id or "", "hallucination", "wrong")
    assert value(project, "feedback", "count", kind="hallucination") == 1
    assert value(project, "feedback", "count", kind="hallucination", route="warranty") == 1
    project.close()


def test_rollups_add_up_across_processes(tmp_path: Path) -> None:
    first = make_project(tmp_path)
    first.ask("How long is the X200 warranty?")
    first.close()
    second = ragline.Project(tmp_path, embedder=HashEmbedder())
    second.ask("How long is the X200 warranty?")
    second.flush_traces(5)
    assert value(second, "requests", "count") == 2
    second.close()


def test_a_locked_rollup_table_leaves_asks_alone_and_marks_the_gap(tmp_path: Path) -> None:
    project = make_project(tmp_path, "tracing:\n  write_timeout_ms: 50\n")
    project.ask("How long is the X200 warranty?")
    project.flush_traces(5)
    assert value(project, "requests", "count") == 1
    other = sqlite3.connect(tmp_path / "ragline.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        answer = project.ask("How long is the X200 warranty?")
        assert "two-year" in answer.text  # the ask is unaffected
        project.flush_traces(5)
        store = project.trace_store
        assert isinstance(store, MonitoredTraceStore)
        assert store.recorder.stats.write_errors >= 1
        pending = store.recorder.pending_gaps()
        assert pending  # not persisted yet: the database takes no writes
        got = source(project).query(MetricQuery("requests", "count", 3600), now=time.time())
        assert got.gaps >= 1 and got.value == 1  # the missing ask is a gap, not a zero
    finally:
        other.execute("ROLLBACK")
        other.close()
    project.ask("How long is the X200 warranty?")  # the next batch persists the gap mark
    project.flush_traces(5)
    assert not store.recorder.pending_gaps()
    gaps = project.parts.backend.rollups.gaps(0, time.time() + 120)
    assert {g.minute for g in gaps} == pending
    assert "locked" in gaps[0].reason
    got = RollupSource(project.parts.backend.rollups).query(
        MetricQuery("requests", "count", 3600), now=time.time()
    )
    assert got.gaps == len(pending) and got.value == 2
    project.close()


def test_rollups_can_be_turned_off(tmp_path: Path) -> None:
    project = make_project(tmp_path, "monitor:\n  rollups: false\n")
    project.ask("How long is the X200 warranty?")
    project.flush_traces(5)
    assert not isinstance(project.trace_store, MonitoredTraceStore)
    assert project.parts.backend.rollups.rows() == []
    project.close()


def test_a_bad_retention_is_a_config_error(tmp_path: Path) -> None:
    from ragline.errors import ConfigError

    (tmp_path / "ragline.yaml").write_text(
        "store: memory://\nembedder: hash\nmonitor:\n  retention:\n    traces: soon\n"
    )
    with pytest.raises(ConfigError, match=r"monitor.retention.traces 'soon' is not a duration"):
        ragline.Project(tmp_path, embedder=HashEmbedder())


def test_the_minute_is_the_ask_start(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    before = time.time()
    project.ask("How long is the X200 warranty?")
    project.flush_traces(5)
    minutes = {r.minute for r in project.parts.backend.rollups.rows(metrics=["requests"])}
    assert minutes <= {minute_of(before), minute_of(before) + 60}
    project.close()
