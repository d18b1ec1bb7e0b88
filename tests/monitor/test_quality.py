"""Online quality scoring: sampled live asks are scored in the background, their
scores become ``quality`` rollups rules can read and a ``ragline.quality`` span on the
trace; a full queue, a failing scorer and a spent judge budget never touch an ask."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import ragline
from ragline.config import QualitySettings
from ragline.errors import ConfigError
from ragline.evals._metrics._support_judge import JudgeSupport
from ragline.models import Completion
from ragline.monitor import MetricQuery, RollupSource
from ragline.monitor._quality import QualityResources, QualityScorer, sampled
from ragline.monitor._recorder import MonitoredTraceStore
from ragline.store import MemoryStore
from ragline.store._rollups import RollupRow
from ragline.store._traces import SpanRecord
from ragline.testing import FunctionModel, HashEmbedder

DOCS = {
    "warranty.md": "# Warranty\n\nEvery X200 comes with a two-year warranty. "
    "The warranty covers the motor and the battery.\n",
    "shipping.md": "# Shipping\n\nOrders ship within two working days. "
    "Delivery to Spain takes five days.\n",
}


def make_project(tmp_path: Path, quality: str) -> ragline.Project:
    docs = tmp_path / "docs"
    docs.mkdir(exist_ok=True)
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    (tmp_path / "ragline.yaml").write_text(
        f"store: sqlite:///ragline.db\nembedder: hash\nmonitor:\n  quality: {quality}\n",
        encoding="utf-8",
    )
    project = ragline.Project(tmp_path, embedder=HashEmbedder())
    project.ingest([docs])
    return project


def quality(project: ragline.Project, kind: str, agg: str = "mean") -> float | None:
    query = MetricQuery("quality", agg, 3600, {"kind": kind})  # type: ignore[arg-type]
    source = RollupSource(project.parts.backend.rollups)
    return source.query(query, now=time.time()).value


def quality_span(project: ragline.Project, trace_id: str) -> SpanRecord | None:
    return next((s for s in project.get_trace(trace_id) if s.name == "ragline.quality"), None)


def test_sampled_asks_are_scored_into_rollups_and_their_traces(tmp_path: Path) -> None:
    project = make_project(tmp_path, "{sample_rate: 1.0}")
    first = project.ask("How long is the X200 warranty?")
    second = project.ask("How long does delivery to Spain take?")
    assert first.text and not first.abstained  # the ask itself is unchanged
    assert project.flush_traces(10)
    for kind in ("citation_support", "faithfulness", "answer_relevance"):
        assert quality(project, kind, "count") == 2, kind
        value = quality(project, kind)
        assert value is not None and 0.0 <= value <= 1.0
    span = quality_span(project, first.trace_id or "")
    assert span is not None and span.kind == "quality"
    root = next(s for s in project.get_trace(first.trace_id or "") if s.parent_id is None)
    assert span.parent_id == root.span_id
    attrs = span.attributes
    assert attrs["ragline.quality.sample_rate"] == 1.0
    # the extractive answer quotes its passage: its cited sentences are supported
    assert attrs["ragline.quality.citation_support"] == 1.0
    assert attrs["ragline.quality.faithfulness"] == 1.0
    assert 0.0 < attrs["ragline.quality.answer_relevance"] <= 1.0
    assert quality_span(project, second.trace_id or "") is not None
    store = project.trace_store
    assert isinstance(store, MonitoredTraceStore) and store.quality is not None
    assert store.quality.stats["scored"] == 2 and store.quality.stats["failed"] == 0
    project.close()


def test_scoring_is_off_by_default_and_at_rate_zero(tmp_path: Path) -> None:
    project = make_project(tmp_path, "{sample_rate: 0}")
    answer = project.ask("How long is the X200 warranty?")
    project.flush_traces(5)
    assert quality(project, "faithfulness", "count") in (None, 0)
    assert quality_span(project, answer.trace_id or "") is None
    project.close()
    assert QualitySettings().sample_rate == 0.0


def test_sampling_is_by_trace_id_and_close_to_the_rate() -> None:
    rng_ids = [f"{i * 2654435761 % 2**32:08x}" + "0" * 24 for i in range(20_000)]
    share = sum(sampled(t, 0.1) for t in rng_ids) / len(rng_ids)
    assert 0.09 < share < 0.11
    assert all(sampled(t, 0.1) == sampled(t, 0.1) for t in rng_ids[:100])
    assert not sampled(rng_ids[0], 0.0) and sampled(rng_ids[0], 1.0)


# -- the scorer on its own ------------------------------------------------------------


def _root(text: str = "The warranty lasts two years.") -> tuple[SpanRecord, list[SpanRecord]]:
    trace_id, root_id = secrets.token_hex(16), secrets.token_hex(8)
    now = time.time()
    root = SpanRecord(
        trace_id,
        root_id,
        None,
        "ragline.ask",
        "ask",
        "default",
        now,
        now + 0.01,
        attributes={
            "ragline.question": "How long is the warranty?",
            "ragline.answer": f"{text} [1]",
            "ragline.abstained": False,
            "ragline.retrieved.chunk_ids": ["w#0"],
            "ragline.references": ["w#0"],
        },
    )
    answer = SpanRecord(
        trace_id,
        secrets.token_hex(8),
        root_id,
        "ragline.answer",
        "answer",
        "default",
        now,
        now + 0.005,
        attributes={"ragline.sentences": [{"text": text, "citations": [1], "support": 0.9}]},
    )
    return root, [answer]


class _Sink:
    def __init__(self) -> None:
        self.rows: list[RollupRow] = []
        self.spans: list[SpanRecord] = []

    def add_rows(self, rows: Sequence[RollupRow]) -> None:
        self.rows.extend(rows)

    def add_spans(self, spans: Sequence[SpanRecord]) -> None:
        self.spans.extend(spans)


def _resources(judge: Any = None) -> QualityResources:
    from ragline.evals._metrics._support import support_checker
    from ragline.types import Chunk

    store = MemoryStore()
    embedder = HashEmbedder()
    chunk = Chunk(
        id="w#0",
        document_id="w",
        ordinal=0,
        text="The warranty lasts two years from delivery.",
        title="Warranty",
    )
    store.upsert_document(_document("w"), [chunk], embedder.embed_documents([chunk.text]))
    return QualityResources(store, embedder, support_checker("similarity", embedder), judge)


def _document(doc_id: str) -> Any:
    from ragline.types import Document

    return Document(id=doc_id, source=doc_id, title=doc_id, content_hash="h")


def test_a_full_queue_drops_and_counts_never_blocks() -> None:
    entered, release = threading.Event(), threading.Event()
    res = _resources()

    def slow() -> QualityResources:
        entered.set()
        release.wait(10)
        return res

    sink = _Sink()
    scorer = QualityScorer(
        QualitySettings(sample_rate=1.0, queue=1),
        resources=slow,
        write_rows=sink.add_rows,
        write_spans=sink.add_spans,
    )
    scorer.offer(*_root())
    assert entered.wait(5)  # the first ask is being scored, the queue is empty
    started = time.monotonic()
    scorer.offer(*_root())  # queued
    scorer.offer(*_root())  # the queue is full: dropped
    assert time.monotonic() - started < 1.0
    assert scorer.stats["dropped"] == 1
    release.set()
    assert scorer.flush(10)
    assert scorer.stats["scored"] == 2 and len(sink.spans) == 2
    scorer.close()


def test_abstentions_errors_and_redacted_answers_are_not_scored() -> None:
    from dataclasses import replace

    sink = _Sink()
    scorer = QualityScorer(
        QualitySettings(sample_rate=1.0),
        resources=_resources,
        write_rows=sink.add_rows,
        write_spans=sink.add_spans,
    )
    root, children = _root()
    attrs = root.attributes
    scorer.offer(replace(root, attributes={**attrs, "ragline.abstained": True}), children)
    scorer.offer(replace(root, status="error"), children)
    scorer.offer(replace(root, attributes={**attrs, "ragline.answer": "[redacted: pii]"}), children)
    scorer.offer(root, children)
    assert scorer.flush(10)
    assert scorer.stats["sampled"] == 1 and len(sink.spans) == 1
    scorer.close()


def test_a_failing_scorer_is_counted_and_the_rest_go_on() -> None:
    calls = 0

    def broken() -> QualityResources:
        nonlocal calls
        calls += 1
        raise OSError("the NLI model folder vanished")

    sink = _Sink()
    scorer = QualityScorer(
        QualitySettings(sample_rate=1.0),
        resources=broken,
        write_rows=sink.add_rows,
        write_spans=sink.add_spans,
    )
    scorer.offer(*_root())
    scorer.offer(*_root())
    assert scorer.flush(10)
    assert scorer.stats["failed"] == 2 and scorer.stats["scored"] == 0
    assert sink.rows == [] and sink.spans == []
    scorer.close()


def test_an_unsupported_answer_scores_low() -> None:
    sink = _Sink()
    scorer = QualityScorer(
        QualitySettings(sample_rate=1.0, metrics=["faithfulness"]),
        resources=_resources,
        write_rows=sink.add_rows,
        write_spans=sink.add_spans,
    )
    scorer.offer(*_root("Refunds are paid in bitcoin to any wallet on request."))
    scorer.offer(*_root("The warranty lasts two years from delivery."))
    assert scorer.flush(10)
    values = [s.attributes["ragline.quality.faithfulness"] for s in sink.spans]
    assert sorted(values) == [0.0, 1.0]
    [row] = [r for r in sink.rows if r.label == "faithfulness"][:1]
    assert row.metric == "quality"
    scorer.close()


def _judge(cost: float) -> JudgeSupport:
    def reply(messages: Any, tools: Any, options: Any) -> Completion:
        return Completion('{"supported": true, "reason": "stated"}', "judge", cost_usd=cost)

    return JudgeSupport(FunctionModel(reply, name="judge"))


def test_the_judge_stops_at_its_daily_budget() -> None:
    judge = _judge(0.6)
    sink = _Sink()
    scorer = QualityScorer(
        QualitySettings(
            sample_rate=1.0, metrics=["judge"], judge_model="function", judge_budget_usd=1.0
        ),
        resources=lambda: _resources(judge),
        write_rows=sink.add_rows,
        write_spans=sink.add_spans,
    )
    for i in range(3):  # different answers: the judge remembers verdicts it gave
        scorer.offer(*_root(f"The warranty lasts two years, reply {i}."))
        assert scorer.flush(10)
    judged = [s.attributes.get("ragline.quality.judge") for s in sink.spans]
    assert judged == [1.0, 1.0, None]  # 0.6 + 0.6 spent: the third is over budget
    assert sink.spans[2].attributes["ragline.quality.judge.skipped"] == "over_budget"
    assert scorer.stats["judge_over_budget"] == 1
    scorer.close()


def test_the_judge_is_capped_per_hour_when_it_has_no_price() -> None:
    judge = _judge(0.0)
    sink = _Sink()
    scorer = QualityScorer(
        QualitySettings(
            sample_rate=1.0, metrics=["judge"], judge_model="function", judge_max_per_hour=2
        ),
        resources=lambda: _resources(judge),
        write_rows=sink.add_rows,
        write_spans=sink.add_spans,
    )
    for i in range(3):
        scorer.offer(*_root(f"The warranty lasts two years, reply {i}."))
    assert scorer.flush(10)
    assert [s.attributes.get("ragline.quality.judge") for s in sink.spans] == [1.0, 1.0, None]
    scorer.close()


@pytest.mark.parametrize(
    ("quality_yaml", "message"),
    [
        ("{sample_rate: 0.1, metrics: [judge]}", "the judge metric needs a model"),
        ("{sample_rate: 1.5}", "sample_rate"),
        ("{sample_rate: 0.1, metrics: [vibes]}", "metrics"),
    ],
)
def test_bad_quality_settings_are_config_errors(
    tmp_path: Path, quality_yaml: str, message: str
) -> None:
    (tmp_path / "ragline.yaml").write_text(
        f"store: memory://\nembedder: hash\nmonitor:\n  quality: {quality_yaml}\n"
    )
    with pytest.raises(ConfigError, match=message):
        ragline.Project(tmp_path, embedder=HashEmbedder())


def test_a_rule_on_online_quality_loads(tmp_path: Path) -> None:
    # the README's rule: metric quality sliced by kind, read like any other metric
    (tmp_path / "ragline.yaml").write_text(
        "store: memory://\nembedder: hash\nmonitor:\n  quality: {sample_rate: 0.05}\n"
        "alerts:\n  rules:\n    - name: faithfulness-drop\n      metric: quality\n"
        "      agg: mean\n      filter: {kind: faithfulness}\n      window: 1h\n"
        "      condition: '< 0.8'\n      min_samples: 10\n"
    )
    project = ragline.Project(tmp_path, embedder=HashEmbedder())
    [rule] = project.settings.alerts.rules
    assert rule.metric == "quality" and rule.filter == {"kind": "faithfulness"}
