"""Finished ask traces become per-minute rollups that answer every metric query."""

from __future__ import annotations

import pytest

from ragline.errors import InputError
from ragline.monitor import MetricQuery, RollupRecorder, RollupSource
from ragline.store._rollups import bucket_of, minute_of
from ragline.store.memory import MemoryRollupStore

from .spans import T0, ask_trace

NOW = T0 + 59.0  # inside the first minute


def _setup() -> tuple[RollupRecorder, RollupSource]:
    store = MemoryRollupStore()
    recorder = RollupRecorder(store)
    return recorder, RollupSource(store, pending_gaps=recorder.pending_gaps)


def q(metric: str, agg: str, window_s: float = 3600, **filters: str) -> MetricQuery:
    return MetricQuery(metric, agg, window_s, filters)  # type: ignore[arg-type]


def test_requests_errors_and_abstentions() -> None:
    recorder, source = _setup()
    recorder.record(ask_trace(1) + ask_trace(2, abstained=True) + ask_trace(3, status="error"))
    recorder.record(ask_trace(4))
    assert source.query(q("requests", "count"), now=NOW).value == 4
    assert source.query(q("requests", "rate", 60), now=NOW).value == pytest.approx(4 / 60)
    errors = source.query(q("errors", "rate"), now=NOW)
    assert errors.value == pytest.approx(0.25) and errors.samples == 4
    assert source.query(q("errors", "count"), now=NOW).value == 1
    # abstention is judged on asks that answered: 1 of the 3
    abst = source.query(q("abstentions", "rate"), now=NOW)
    assert abst.value == pytest.approx(1 / 3) and abst.samples == 3


def test_latency_percentiles_overall_and_per_stage() -> None:
    recorder, source = _setup()
    values = [10.0 * (i + 1) for i in range(100)]  # 10, 20, …, 1000 ms
    recorder.record(
        [s for i, v in enumerate(values) for s in ask_trace(i, ms=v, stages={"retrieve": v / 2})]
    )
    # nearest rank: p50 is the 50th value (500), p95 the 95th (950), p99 the 99th (990)
    for agg, exact in (("p50", 500.0), ("p95", 950.0), ("p99", 990.0)):
        got = source.query(q("latency", agg), now=NOW).value
        assert got is not None and abs(got - exact) / exact <= 0.045, agg
    assert source.query(q("latency", "max"), now=NOW).value == pytest.approx(1000.0)
    assert source.query(q("latency", "mean"), now=NOW).value == pytest.approx(505.0)
    stage = source.query(q("latency", "p50", stage="retrieve"), now=NOW).value
    assert stage is not None and abs(stage - 250.0) / 250.0 <= 0.045
    assert source.query(q("latency", "mean", stage="retrieve"), now=NOW).value == pytest.approx(
        252.5
    )


def test_percentiles_merge_exactly_across_minutes_and_writers() -> None:
    """P95 over three minutes written by two recorders equals P95 of one histogram."""
    store = MemoryRollupStore()
    a, b = RollupRecorder(store), RollupRecorder(store)
    samples = []
    for i in range(90):
        ms = float(5 + (i * 37) % 400)
        samples.append(ms)
        (a if i % 2 else b).record(ask_trace(i, start=T0 + 60 * (i % 3), ms=ms))
    one = MemoryRollupStore()
    RollupRecorder(one).record([s for i, ms in enumerate(samples) for s in ask_trace(i, ms=ms)])
    now = T0 + 179
    merged = RollupSource(store).query(q("latency", "p95", 180), now=now).value
    single = RollupSource(one).query(q("latency", "p95", 180), now=now).value
    assert merged == single


def test_tokens_and_cost_per_model_and_cache_hits() -> None:
    recorder, source = _setup()
    recorder.record(
        ask_trace(1, model=("gpt-a", 100, 20, 0.01))
        + ask_trace(2, model=("gpt-a", 50, 10, 0.005), cached=True)
        + ask_trace(3, model=("gpt-b", 7, 3, 0.001))
        + ask_trace(4)  # extractive: no model span
    )
    assert source.query(q("tokens", "sum"), now=NOW).value == 190
    assert source.query(q("tokens", "sum", model="gpt-a"), now=NOW).value == 180
    assert source.query(q("tokens", "mean", model="gpt-a"), now=NOW).value == 90
    assert source.query(q("cost", "sum", model="gpt-b"), now=NOW).value == pytest.approx(0.001)
    hits = source.query(q("cache_hits", "rate"), now=NOW)
    assert hits.value == pytest.approx(1 / 3) and hits.samples == 3  # asks that asked a model


def test_guard_triggers_citations_and_routes() -> None:
    recorder, source = _setup()
    recorder.record(
        ask_trace(1, rules=["finance"], guard_action="block", sentences=[([1], 0.9), ([2], 0.2)])
        + ask_trace(2, rules=["finance", "eu"], sentences=[([1], 0.5), ([], 0.0)])
        + ask_trace(3, sentences=[([1], 0.44)])
    )
    assert source.query(q("guard_triggers", "rate"), now=NOW).value == pytest.approx(1 / 3)
    # cited sentences: 0.9 ✓, 0.2 ✗, 0.5 ✓, 0.44 ✗ (min support 0.45); uncited not judged
    support = source.query(q("citation_support", "mean"), now=NOW)
    assert support.value == pytest.approx(2 / 4) and support.samples == 4
    assert source.query(q("requests", "count", route="finance"), now=NOW).value == 2
    assert source.query(q("requests", "count", route="eu"), now=NOW).value == 1
    fin = source.query(q("citation_support", "mean", route="finance"), now=NOW).value
    assert fin == pytest.approx(2 / 3)
    assert source.query(q("requests", "count", route="hr"), now=NOW).value is None


def test_cross_language_needs_both_languages() -> None:
    recorder, source = _setup()
    recorder.record(
        ask_trace(1, question_language="en", hits=[(0.9, "en"), (0.5, "es")])
        + ask_trace(2, question_language="en", hits=[(0.9, "en"), (0.5, "en")])
        + ask_trace(3, question_language="en", hits=[(0.9, None)])  # hit language unknown
        + ask_trace(4, hits=[(0.9, "es")])  # question language unknown
    )
    cross = source.query(q("cross_language", "rate"), now=NOW)
    assert cross.value == pytest.approx(0.5) and cross.samples == 2


def test_scores_and_their_drift_against_a_baseline() -> None:
    recorder, source = _setup()
    # baseline hour: top-1 scores around 0.8; the last 10 minutes: around 0.4
    for i in range(60):
        recorder.record(ask_trace(i, start=T0 + 60 * i, hits=[(0.78 + (i % 5) * 0.01, None)]))
    for i in range(10):
        recorder.record(ask_trace(100 + i, start=T0 + 3600 + 60 * i, hits=[(0.4, None)]))
    now = T0 + 3600 + 599
    stable = MetricQuery("top1_score", "psi", 540, {}, baseline_s=3000)
    drift = source.query(stable, now=now)
    assert drift.value is not None and drift.value > 0.25  # a large shift
    assert drift.baseline == pytest.approx(0.80, abs=0.01)  # the baseline's mean
    kstat = source.query(MetricQuery("top1_score", "ks", 540, {}, baseline_s=3000), now=now)
    assert kstat.value == pytest.approx(1.0)  # no overlap at all
    mean = source.query(MetricQuery("top1_score", "mean", 540, {}, baseline_s=3000), now=now)
    assert mean.value == pytest.approx(0.4) and mean.baseline == pytest.approx(0.80, abs=0.01)
    # the same distribution in both windows: no drift
    same = source.query(MetricQuery("top1_score", "psi", 1800, {}, baseline_s=1800), now=T0 + 3599)
    assert same.value is not None and same.value < 0.1
    assert source.query(
        MetricQuery("top1_score", "ks", 1800, {}, baseline_s=1800), now=T0 + 3599
    ).value == pytest.approx(0.0, abs=0.05)


def test_psi_by_hand() -> None:
    from ragline.monitor._rollup_source import ks, psi

    # baseline 50/50 over two buckets, window 90/10: PSI = 0.4·ln(0.9/0.5) + (−0.4)·ln(0.1/0.5)
    a, b = bucket_of(1.0), bucket_of(2.0)
    expected = 0.4 * __import__("math").log(0.9 / 0.5) - 0.4 * __import__("math").log(0.1 / 0.5)
    assert psi({a: 90, b: 10}, {a: 50, b: 50}) == pytest.approx(expected)
    assert ks({a: 90, b: 10}, {a: 50, b: 50}) == pytest.approx(0.4)
    assert psi({}, {a: 1}) is None and ks({a: 1}, {}) is None


def test_an_empty_window_is_no_data_not_zero() -> None:
    recorder, source = _setup()
    recorder.record(ask_trace(1, start=T0))
    later = T0 + 7200  # two hours on: the last hour is empty
    for metric, agg in (("requests", "count"), ("errors", "rate"), ("latency", "p95")):
        value = source.query(q(metric, agg), now=later)
        assert value.value is None and value.samples == 0, metric
    assert source.query(q("feedback", "count"), now=later).value is None
    assert source.query(q("requests", "count"), now=NOW).value == 1


def test_feedback_counts_by_kind_and_route() -> None:
    from ragline.store._traces import Feedback

    recorder, source = _setup()
    recorder.record(ask_trace(1, rules=["finance"]) + ask_trace(2))
    assert source.query(q("feedback", "count"), now=NOW).value == 0  # asks, no feedback yet
    for i, kind in enumerate(["hallucination", "hallucination", "good"]):
        recorder.feedback(Feedback(f"f{i}", "t", "acme", kind, None, T0 + 10), "finance")
    assert source.query(q("feedback", "count"), now=NOW).value == 3
    assert source.query(q("feedback", "count", kind="hallucination"), now=NOW).value == 2
    assert source.query(q("feedback", "count", kind="good", route="finance"), now=NOW).value == 1
    assert source.query(q("feedback", "count", tenant="globex"), now=NOW).value is None


def test_tenants_are_sliced_apart() -> None:
    recorder, source = _setup()
    recorder.record(ask_trace(1, tenant="acme") + ask_trace(2, tenant="globex", status="error"))
    assert source.query(q("errors", "rate", tenant="acme"), now=NOW).value == 0
    assert source.query(q("errors", "rate", tenant="globex"), now=NOW).value == 1
    assert source.query(q("errors", "rate"), now=NOW).value == pytest.approx(0.5)


def test_a_trace_split_over_batches_is_rolled_up_once_its_root_arrives() -> None:
    recorder, source = _setup()
    spans = ask_trace(1, stages={"retrieve": 40.0})
    recorder.record(spans[:2])
    assert source.query(q("requests", "count"), now=NOW).value is None
    recorder.record(spans[2:])
    got = source.query(q("latency", "max", stage="retrieve"), now=NOW).value
    assert got == pytest.approx(40.0)
    assert recorder.stats.asks == 1


def test_a_clock_that_jumps_back_moves_asks_to_their_own_minute() -> None:
    recorder, source = _setup()
    recorder.record(ask_trace(1, start=T0 + 600))
    recorder.record(ask_trace(2, start=T0))  # the wall clock went back ten minutes
    recorder.record(ask_trace(3, start=T0 + 5))
    assert source.query(q("requests", "count", 3600), now=T0 + 660).value == 3
    # "now" before the jump-ahead minute: the later ask is in the future, not counted
    assert source.query(q("requests", "count", 120), now=T0 + 30).value == 2
    rows = recorder.rollups.rows(metrics=["requests"])
    assert sorted(r.minute for r in rows) == [minute_of(T0), minute_of(T0 + 600)]


def test_bad_queries_say_what_is_wrong() -> None:
    _, source = _setup()
    with pytest.raises(InputError, match="unknown metric 'latncy'"):
        source.query(q("latency".replace("e", "", 1), "p95"), now=NOW)
    with pytest.raises(InputError, match="no aggregation 'p95'"):
        source.query(q("errors", "p95"), now=NOW)
    with pytest.raises(InputError, match="cannot be filtered by model"):
        source.query(q("errors", "rate", model="x"), now=NOW)
    with pytest.raises(InputError, match="positive"):
        source.query(q("errors", "rate", 0), now=NOW)
