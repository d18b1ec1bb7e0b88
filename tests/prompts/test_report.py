"""The experiment report's statistics: Wilson and Newcombe intervals against published
values, the two-proportion test, paired comparisons in shadow mode, and the
"not enough data yet" rule."""

from __future__ import annotations

import random
from typing import Any

import pytest

from ragline._config_experiments import ExperimentSettings
from ragline.prompts._report import Observation, build_report
from ragline.prompts._significance import (
    bootstrap_difference,
    rate_difference,
    two_proportion_p,
    wilson,
)


def test_wilson_matches_the_published_values() -> None:
    # Newcombe (1998), table I: 81/263 -> 0.2553 to 0.3662; 0/10 -> 0 to 0.2775
    r = wilson(81, 263)
    assert (round(r.low, 4), round(r.high, 4)) == (0.2553, 0.3662)
    r = wilson(0, 10)
    assert (r.low, round(r.high, 4)) == (0.0, 0.2775)
    assert (wilson(0, 0).low, wilson(0, 0).high) == (0.0, 1.0)  # no data: anything


def test_newcombe_difference_matches_the_published_example() -> None:
    # Newcombe (1998), table II, example (a): 56/70 - 48/80 = 0.2000, 0.0524 to 0.3339
    d = rate_difference(wilson(48, 80), wilson(56, 70))
    assert round(d.delta, 4) == 0.2
    assert (round(d.low, 4), round(d.high, 4)) == (0.0524, 0.3339)
    assert d.significant and d.p_value is not None and d.p_value < 0.01


def test_the_two_proportion_test_is_symmetric_and_one_for_equal_rates() -> None:
    a, b = wilson(30, 100), wilson(45, 100)
    assert two_proportion_p(a, b) == pytest.approx(two_proportion_p(b, a))
    assert two_proportion_p(a, b) == pytest.approx(0.0285, abs=5e-4)  # pooled z = 2.19
    assert two_proportion_p(wilson(5, 10), wilson(50, 100)) == pytest.approx(1.0)


def test_the_rate_interval_covers_a_known_difference_most_of_the_time() -> None:
    rng = random.Random(7)
    covered = 0
    for _ in range(300):
        a = sum(rng.random() < 0.6 for _ in range(200))
        b = sum(rng.random() < 0.7 for _ in range(200))
        d = rate_difference(wilson(a, 200), wilson(b, 200))
        covered += d.low <= 0.1 <= d.high
    assert covered / 300 >= 0.92  # nominal 95 %


def _experiment(mode: str = "ab") -> ExperimentSettings:
    return ExperimentSettings.model_validate(
        {"name": "cite", "mode": mode, "variants": [{"name": "control"}, {"name": "v2"}]}
    )


def _obs(variant: str, i: int, **fields: Any) -> Observation:
    data: dict[str, Any] = {
        "trace_id": f"{variant}-{i}",
        "variant": variant,
        "latency_ms": 100.0,
        "failed": False,
        "abstained": False,
        "citation_support": 0.8,
    }
    data.update(fields)
    return Observation(**data)


def _metric(report: Any, variant: str, metric: str) -> Any:
    return next(c for c in report.comparisons if (c.variant, c.metric) == (variant, metric))


def test_a_small_sample_says_not_enough_data_yet() -> None:
    rows = [_obs("control", i) for i in range(12)] + [_obs("v2", i) for i in range(5)]
    report = build_report(_experiment(), rows)
    abstention = _metric(report, "v2", "abstention")
    assert abstention.difference is None
    assert abstention.note == "not enough data yet (n = 12 vs 5; at least 30 each)"
    assert any("'v2' has 5 requests (fewer than 30)" in w for w in report.warnings)
    thumbs = _metric(report, "v2", "thumbs_up")
    assert thumbs.difference is None and "n = 0 vs 0" in thumbs.note  # no feedback at all


def test_ab_rates_and_means_against_the_control() -> None:
    rows = [
        _obs("control", i, abstained=i % 4 == 0, feedback=i % 2 == 0, latency_ms=100.0 + i % 7)
        for i in range(200)
    ] + [
        _obs("v2", i, abstained=i % 10 == 0, feedback=i % 5 != 0, latency_ms=150.0 + i % 7)
        for i in range(200)
    ]
    rows.append(_obs("v2", 999, failed=True, abstained=None, citation_support=None))
    report = build_report(_experiment(), rows)
    control, v2 = report.variants
    assert (control.requests, v2.requests) == (200, 201)
    assert v2.errors.hits == 1 and v2.abstention.n == 200  # a failed ask is not judged
    assert control.thumbs_up.value == 0.5 and v2.thumbs_up.value == 0.8
    thumbs = _metric(report, "v2", "thumbs_up").difference
    assert thumbs.delta == pytest.approx(0.3) and thumbs.significant
    assert "Newcombe" in thumbs.method and thumbs.p_value < 1e-6
    abstention = _metric(report, "v2", "abstention").difference
    assert abstention.delta == pytest.approx(0.1 - 0.25) and abstention.significant
    latency = _metric(report, "v2", "latency_ms").difference
    assert latency.method == "bootstrap (unpaired)" and 45 < latency.low < 50 < latency.high < 55
    assert not _metric(report, "v2", "citation_support").difference.significant


def test_shadow_mode_pairs_each_shadow_run_with_the_answer_it_shadows() -> None:
    rng = random.Random(3)
    served = [_obs("control", i, latency_ms=rng.uniform(50, 500)) for i in range(60)]
    shadows = [
        _obs("v2", i, latency_ms=s.latency_ms + 10.0, shadow_of=s.trace_id)
        for i, s in enumerate(served)
    ]
    report = build_report(_experiment("shadow"), [*served, *shadows])
    assert report.variants[1].shadow and not report.variants[0].shadow
    latency = _metric(report, "v2", "latency_ms").difference
    # the same requests: the paired interval is exactly the +10 ms, not the spread
    assert latency.method == "bootstrap (paired)"
    assert latency.low == pytest.approx(10.0) and latency.high == pytest.approx(10.0)
    assert _metric(report, "v2", "thumbs_up").note == "no feedback: shadow answers are never shown"
    unpaired = bootstrap_difference([s.latency_ms for s in served], [s.latency_ms for s in shadows])
    assert unpaired.high - unpaired.low > 50  # what ignoring the pairing would say


def test_shadow_abstention_is_paired_with_mcnemar() -> None:
    served = [_obs("control", i, abstained=i < 20) for i in range(60)]
    # the shadow abstains on the same 20 questions and on 10 more: 10 discordant pairs
    shadows = [_obs("v2", i, abstained=i < 30, shadow_of=s.trace_id) for i, s in enumerate(served)]
    report = build_report(_experiment("shadow"), [*served, *shadows])
    d = _metric(report, "v2", "abstention").difference
    assert d.method == "bootstrap (paired), McNemar"
    assert d.delta == pytest.approx(10 / 60)
    assert d.p_value == pytest.approx(2 / 2**10)  # exact: all 10 discordant pairs one way
    assert d.significant
    errors = _metric(report, "v2", "errors").difference
    assert errors.delta == 0 and errors.p_value == 1.0


def test_traces_of_a_removed_variant_are_named_not_counted() -> None:
    rows = [_obs("control", 1), _obs("v0", 1)]
    report = build_report(_experiment(), rows)
    assert [v.requests for v in report.variants] == [1, 0]
    assert "traces name variants the experiment no longer has: v0" in report.warnings
