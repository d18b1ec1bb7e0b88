"""``EvalStoreConformance``: the shared test suite every ``EvalStore`` must pass.

Subclass it in a backend's test module and implement ``make_store`` (a fresh, empty
store; the suite closes it after each test)::

    class TestMyEvalStore(EvalStoreConformance):
        def make_store(self) -> EvalStore:
            return MyEvalStore(...)

For fixtures (a temporary folder, a server), override the ``eval_store`` fixture
instead and yield the store.

What the runner and ``ragline eval`` rely on: a run is found by its id, a unique id
prefix, its name or ``last``; results are stored as each case finishes, a re-stored
(case, repeat) replaces the old one, and ``done_keys`` says what a resume may skip;
``cached`` hands back an earlier output only when it did not fail, byte for byte.
Text round-trips exactly; a NUL in an identifier may instead be refused with
``InputError`` (PostgreSQL text cannot hold one), and text that is not valid Unicode
(a lone surrogate) is refused. Whatever is refused stores nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from ragline.errors import InputError, NotFoundError, RaglineError, StoreError
from ragline.store._evals import (
    Case,
    CaseOutput,
    CaseResult,
    CitedSentence,
    EvalStore,
    MetricResult,
    RetrievedContext,
    RunInfo,
)

T0 = 1_764_000_000.0  # 2025-11-24, a fixed epoch for run creation times
RUN = "20250101-000000-abcdef"

#: valid Unicode that must come back exactly, in ids and in content
ODD_TEXTS = [
    "Garantie ünïcödé ß",
    "保修期是多久？",
    "ما هي مدة الضمان؟",  # right-to-left
    "e\u0301 🎉👩‍👩‍👧 zero\u200bwidth \ufeffbom \u2028sep \uffff \U0010ffff",
    "line 1\r\nline 2\t\"quoted\" 'single' \\backslash % _ *",
    "'; DROP TABLE eval_runs; --",
]


#: what an error about a lone surrogate says (the encoder's words, or ragline's)
NOT_UNICODE = r"surrogate|not valid Unicode"


def new_run(
    run_id: str = RUN,
    name: str | None = None,
    *,
    created_at: float | None = None,
    fingerprint: dict[str, Any] | None = None,
) -> RunInfo:
    """A run that has just started (status ``running``)."""
    run = RunInfo(
        id=run_id,
        name=name,
        dataset_path="cases.jsonl",
        dataset_hash="dh",
        fingerprint=fingerprint or {"embedder": "hash", "retrieval": {"k": 5}},
        fingerprint_hash="fh",
    )
    if created_at is not None:
        run.created_at = created_at
    return run


def make_result(
    case_id: str,
    *,
    error: str | None = None,
    key: str = "k",
    repeat: int = 0,
    position: int = 0,
    metrics_key: str = "m",
    answer: str = "a [1]",
) -> CaseResult:
    """One scored case with every kind of output and metric outcome."""
    return CaseResult(
        case=Case(id=case_id, question=f"q {case_id}?", expected=["a"], category="safety"),
        repeat_index=repeat,
        output=CaseOutput(
            answer=answer,
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
        metrics_key=metrics_key,
        position=position,
    )


def _same_json(a: Any, b: Any) -> bool:
    """Equality where NaN equals NaN (JSON round trips of summaries keep NaN)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_json(x, y) for x, y in zip(a, b, strict=True))
    return bool(type(a) is type(b) and a == b)


def _keys(results: list[CaseResult]) -> list[tuple[str, int]]:
    return [r.key for r in results]


class EvalStoreConformance:
    """Behaviour every ``EvalStore`` must have. Subclasses implement ``make_store``."""

    def make_store(self) -> EvalStore:  # pragma: no cover - always overridden
        raise NotImplementedError("subclasses return a fresh, empty EvalStore")

    @pytest.fixture
    def eval_store(self) -> Iterator[EvalStore]:
        store = self.make_store()
        try:
            yield store
        finally:
            store.close()

    # -- runs --------------------------------------------------------------------------

    def test_a_run_round_trips_exactly(self, eval_store: EvalStore) -> None:
        fingerprint = {"embedder": "hash", "nested": {"k": 5, "ü": ["🎉", None, 1.5, True]}}
        run = new_run(name="baseline", created_at=T0 + 0.123456789, fingerprint=fingerprint)
        run.target = "http"
        run.repeats = 3
        eval_store.create_run(run)
        got = eval_store.get_run(RUN)
        assert got.to_dict() == run.to_dict()
        assert (got.status, got.finished_at, got.summary) == ("running", None, {})
        assert [r.to_dict() for r in eval_store.list_runs()] == [run.to_dict()]

    def test_run_lookup_by_prefix_name_and_last(self, eval_store: EvalStore) -> None:
        store = eval_store
        store.create_run(new_run("20250101-000000-aaaaaa", name="base", created_at=T0))
        store.create_run(new_run("20250102-000000-bbbbbb", created_at=T0 + 10))
        assert store.get_run("20250101").id == "20250101-000000-aaaaaa"
        assert store.get_run("base").id == "20250101-000000-aaaaaa"
        assert store.get_run("last").id == "20250102-000000-bbbbbb"
        assert store.get_run("latest").id == "20250102-000000-bbbbbb"
        assert [r.id for r in store.list_runs()] == [
            "20250102-000000-bbbbbb",
            "20250101-000000-aaaaaa",
        ]
        assert [r.id for r in store.list_runs(limit=1)] == ["20250102-000000-bbbbbb"]
        with pytest.raises(NotFoundError, match="several runs") as several:
            store.get_run("2025010")
        assert "more characters" in str(several.value)
        for bad in ("nope", "", "%", "_", "2025%", "2025010_", "x\x00y", "20250101-000000-AAA"):
            with pytest.raises(NotFoundError, match=re.escape(f"no evaluation run {bad!r}")) as e:
                store.get_run(bad)
            assert "ragline eval list" in str(e.value)

    def test_a_prefix_is_literal_and_an_exact_id_wins(self, eval_store: EvalStore) -> None:
        store = eval_store
        store.create_run(new_run("nightly_a-1", created_at=T0))
        store.create_run(new_run("nightly", created_at=T0 + 1))
        store.create_run(new_run("nightly_b-2", created_at=T0 + 2))
        assert store.get_run("nightly").id == "nightly"  # also a prefix of the others
        assert store.get_run("nightly_a").id == "nightly_a-1"
        assert store.get_run("nightly_b").id == "nightly_b-2"
        with pytest.raises(NotFoundError, match="several runs"):
            store.get_run("nightly_")
        with pytest.raises(NotFoundError, match="no evaluation run"):
            store.get_run("nightlya")  # "_" is not a wildcard

    def test_a_name_shared_by_several_runs_finds_the_newest(self, eval_store: EvalStore) -> None:
        for run_id, created in [("r-old", T0), ("r-newest", T0 + 2), ("r-middle", T0 + 1)]:
            eval_store.create_run(new_run(run_id, name="nightly", created_at=created))
        assert eval_store.get_run("nightly").id == "r-newest"

    def test_an_empty_store_has_no_last_run(self, eval_store: EvalStore) -> None:
        assert eval_store.list_runs() == []
        with pytest.raises(NotFoundError, match="no evaluation run 'last'"):
            eval_store.get_run("last")

    def test_runs_are_listed_newest_first_up_to_the_limit(self, eval_store: EvalStore) -> None:
        order = [3, 0, 54, 1, *range(4, 54), 2]  # 55 runs, written out of time order
        for n in order:
            eval_store.create_run(new_run(f"run-{n:02d}", created_at=T0 + n))
        newest_first = [f"run-{n:02d}" for n in range(54, -1, -1)]
        assert [r.id for r in eval_store.list_runs()] == newest_first[:50]  # the default
        assert [r.id for r in eval_store.list_runs(limit=3)] == newest_first[:3]
        assert [r.id for r in eval_store.list_runs(limit=100)] == newest_first
        assert eval_store.list_runs(limit=0) == []

    def test_a_duplicate_run_id_is_a_clear_error(self, eval_store: EvalStore) -> None:
        eval_store.create_run(new_run(name="first"))
        eval_store.add_result(RUN, make_result("c1"))
        with pytest.raises(StoreError, match="already exists") as e:
            eval_store.create_run(new_run(name="second"))
        assert e.value.hint
        kept = eval_store.get_run(RUN)
        assert kept.name == "first" and len(eval_store.list_runs()) == 1
        assert _keys(eval_store.results(RUN)) == [("c1", 0)]

    # -- finishing a run ---------------------------------------------------------------

    def test_finishing_stores_the_status_and_summary(self, eval_store: EvalStore) -> None:
        run = new_run()
        eval_store.create_run(run)
        summary: dict[str, Any] = {
            "cases": 3,
            "mean": math.nan,  # a metric with no values: NaN must survive
            "best": math.inf,
            "worst": -math.inf,
            "ratio": 0.1 + 0.2,
            "名前": "ü 🎉",
            "by_category": {"safety": {"refusal": [1.0, None, math.nan]}},
            "flags": [True, False, None],
        }
        eval_store.finish_run(RUN, "complete", summary)
        got = eval_store.get_run(RUN)
        assert got.status == "complete"
        assert got.finished_at is not None and got.finished_at >= run.created_at
        assert _same_json(got.summary, summary), got.summary
        assert math.isnan(got.summary["mean"]) and got.summary["ratio"] == 0.1 + 0.2
        [listed] = eval_store.list_runs()
        assert listed.status == "complete" and _same_json(listed.summary, summary)

    def test_finishing_again_replaces_status_and_summary(self, eval_store: EvalStore) -> None:
        eval_store.create_run(new_run())
        eval_store.finish_run(RUN, "interrupted", {"cases": 1, "old": True})
        eval_store.finish_run(RUN, "complete", {"cases": 3})  # a resumed run finishes
        got = eval_store.get_run(RUN)
        assert (got.status, got.summary) == ("complete", {"cases": 3})

    def test_finishing_an_unknown_run_creates_nothing(self, eval_store: EvalStore) -> None:
        eval_store.create_run(new_run())
        eval_store.finish_run("nope", "complete", {"cases": 1})
        with pytest.raises(NotFoundError):
            eval_store.get_run("nope")
        [only] = eval_store.list_runs()
        assert (only.id, only.status, only.summary) == (RUN, "running", {})

    # -- results -----------------------------------------------------------------------

    def test_a_result_round_trips_exactly(self, eval_store: EvalStore) -> None:
        eval_store.create_run(new_run())
        result = make_result("c1", key="k1", repeat=2, position=7, metrics_key="mk")
        result.cached = True
        result.case = Case(
            id="c1",
            question="How long is the warranty?",
            tenant="acme",
            expected=["two years", "24 months"],
            must_contain=["two"],
            gold_doc_ids=["warranty.md"],
            gold_chunk_ids=["warranty.md#0"],
            answerable=True,
            category="factual_accuracy",
            tags=["smoke", "ü"],
            source_trace_id="a" * 32,
            notes="from a trace",
        )
        result.metrics.append(MetricResult("exact", "2", value=0.0, passed=False))
        eval_store.add_result(RUN, result)
        [back] = eval_store.results(RUN)
        assert back == result  # case, output, metrics, keys, hashes, cached, position
        assert back.output.guards == ({"blocked": False, "guard": "pii"},)
        assert back.metric("exact") == MetricResult("exact", "2", value=0.0, passed=False)
        assert eval_store.done_keys(RUN) == {("c1", 2)}

    def test_a_nan_metric_value_survives(self, eval_store: EvalStore) -> None:
        eval_store.create_run(new_run())
        result = make_result("c1")
        result.metrics = [MetricResult("x", "1", value=math.nan, details={"d": math.inf})]
        eval_store.add_result(RUN, result)
        [back] = eval_store.results(RUN)
        [metric] = back.metrics
        assert metric.value is not None and math.isnan(metric.value)
        assert metric.details == {"d": math.inf}

    def test_results_are_ordered_by_position_then_repeat(self, eval_store: EvalStore) -> None:
        eval_store.create_run(new_run())
        written = [("b", 1, 0), ("a", 0, 1), ("c", 2, 0), ("a", 0, 0), ("b", 1, 1)]
        for case_id, position, repeat in written:
            eval_store.add_result(RUN, make_result(case_id, position=position, repeat=repeat))
        assert _keys(eval_store.results(RUN)) == [
            ("a", 0),
            ("a", 1),
            ("b", 0),
            ("b", 1),
            ("c", 0),
        ]
        assert [r.position for r in eval_store.results(RUN)] == [0, 0, 1, 1, 2]
        assert eval_store.done_keys(RUN) == {(c, r) for c, _, r in written}

    def test_rewriting_a_result_replaces_it(self, eval_store: EvalStore) -> None:
        eval_store.create_run(new_run())
        eval_store.add_result(RUN, make_result("c0", key="k0"))
        eval_store.add_result(RUN, make_result("c1", error="boom", key="k1", position=1))
        eval_store.add_result(RUN, make_result("c1", key="k1", position=1))  # re-scored
        results = eval_store.results(RUN)
        assert _keys(results) == [("c0", 0), ("c1", 0)]
        assert results[1].output.error is None
        assert eval_store.done_keys(RUN) == {("c0", 0), ("c1", 0)}
        assert eval_store.cached(["k1"])["k1"].output.error is None  # now reusable

        again = make_result("c0", key="k0-new", answer="again", error="boom", position=5)
        eval_store.add_results(RUN, [again])
        results = eval_store.results(RUN)
        assert _keys(results) == [("c1", 0), ("c0", 0)]  # at its new position
        assert (results[1].output.answer, results[1].cache_key) == ("again", "k0-new")
        assert eval_store.cached(["k0", "k0-new"]) == {}  # the good row it replaced is gone

    def test_add_results_writes_the_batch_in_one_go(self, eval_store: EvalStore) -> None:
        eval_store.create_run(new_run())
        eval_store.add_results(RUN, [])  # nothing to write
        assert eval_store.results(RUN) == []
        batch = [make_result(f"c{i}", key=f"k{i}", position=i) for i in range(3)]
        batch.append(make_result("c1", key="k1-again", position=1))  # the last one wins
        eval_store.add_results(RUN, batch)
        results = eval_store.results(RUN)
        assert _keys(results) == [("c0", 0), ("c1", 0), ("c2", 0)]
        assert results[1].cache_key == "k1-again"

    def test_a_failing_batch_stores_none_of_it(self, eval_store: EvalStore) -> None:
        eval_store.create_run(new_run())
        eval_store.add_result(RUN, make_result("kept", key="kept"))
        good = [make_result(f"c{i}", key=f"k{i}", position=i + 1) for i in range(3)]
        bad = make_result("bad", answer="lone \ud800 surrogate", position=9)
        with pytest.raises((ValueError, RaglineError), match=NOT_UNICODE):
            eval_store.add_results(RUN, [*good[:2], bad, good[2]])
        assert eval_store.done_keys(RUN) == {("kept", 0)}
        assert sorted(eval_store.cached(["kept", "k0", "k1", "k2"])) == ["kept"]
        eval_store.add_results(RUN, good)  # the store still works
        assert len(eval_store.done_keys(RUN)) == 4

    def test_results_belong_to_their_run(self, eval_store: EvalStore) -> None:
        eval_store.create_run(new_run("run-a", created_at=T0))
        eval_store.create_run(new_run("run-b", created_at=T0 + 1))
        eval_store.add_result("run-a", make_result("c1", answer="from a"))
        eval_store.add_result("run-b", make_result("c1", answer="from b"))
        eval_store.add_result("run-b", make_result("c2", position=1))
        assert [r.output.answer for r in eval_store.results("run-a")] == ["from a"]
        assert _keys(eval_store.results("run-b")) == [("c1", 0), ("c2", 0)]
        assert eval_store.done_keys("run-a") == {("c1", 0)}
        assert eval_store.done_keys("run-b") == {("c1", 0), ("c2", 0)}
        assert eval_store.results("run") == [] and eval_store.done_keys("run") == set()
        assert eval_store.results("nope") == [] and eval_store.done_keys("nope") == set()

    def test_a_result_of_an_unknown_run_is_refused(self, eval_store: EvalStore) -> None:
        eval_store.create_run(new_run())
        with pytest.raises(StoreError):
            eval_store.add_result("ghost", make_result("c1", key="ghost-key"))
        with pytest.raises(StoreError):
            eval_store.add_results("ghost", [make_result("c2", key="ghost-key")])
        assert eval_store.done_keys("ghost") == set()
        assert eval_store.cached(["ghost-key"]) == {}
        assert [r.id for r in eval_store.list_runs()] == [RUN]

    # -- the output cache --------------------------------------------------------------

    def test_cache_never_returns_a_failed_output(self, eval_store: EvalStore) -> None:
        eval_store.create_run(new_run())
        eval_store.add_result(RUN, make_result("c1", error="boom", key="k1"))
        assert eval_store.cached(["k1"]) == {}
        eval_store.add_results(RUN, [make_result("c2", key="k2"), make_result("c3", key="k3")])
        hits = eval_store.cached(["k1", "k2", "k3", "k4", "k2"])
        assert sorted(hits) == ["k2", "k3"]
        assert hits["k2"].output.answer == "a [1]" and hits["k2"].metrics_key == "m"
        assert eval_store.cached([]) == {}

    def test_a_newer_failure_does_not_hide_an_older_output(self, eval_store: EvalStore) -> None:
        eval_store.create_run(new_run("run-1", created_at=T0))
        eval_store.create_run(new_run("run-2", created_at=T0 + 1))
        eval_store.add_result("run-1", make_result("c1", key="k", answer="good"))
        eval_store.add_result("run-2", make_result("c1", key="k", error="model down"))
        assert eval_store.cached(["k"])["k"].output.answer == "good"
        assert eval_store.cached(["k"], metrics_key="m")["k"].output.answer == "good"

    def test_cache_prefers_the_same_metrics_then_the_newest(self, eval_store: EvalStore) -> None:
        for i, metrics_key in enumerate(["m-old", "m-wanted", "m-newest"]):
            run_id = f"2025010{i + 1}-000000-aaaaaa"
            eval_store.create_run(new_run(run_id, created_at=T0 + i))
            result = make_result("c1", key="k", metrics_key=metrics_key)
            result.output = CaseOutput(answer=f"answer {i}")
            eval_store.add_result(run_id, result)
        assert eval_store.cached(["k"], metrics_key="m-wanted")["k"].output.answer == "answer 1"
        assert eval_store.cached(["k"], metrics_key="other")["k"].output.answer == "answer 2"
        assert eval_store.cached(["k"])["k"].metrics_key == "m-newest"
        # a run written later with old metrics is the newest row of those metrics
        eval_store.create_run(new_run("20250104-000000-aaaaaa", created_at=T0 + 3))
        later = make_result("c1", key="k", metrics_key="m-old")
        later.output = CaseOutput(answer="answer 3")
        eval_store.add_result("20250104-000000-aaaaaa", later)
        assert eval_store.cached(["k"], metrics_key="m-wanted")["k"].output.answer == "answer 1"
        assert eval_store.cached(["k"], metrics_key="m-old")["k"].output.answer == "answer 3"
        assert eval_store.cached(["k"], metrics_key="other")["k"].output.answer == "answer 3"

    def test_a_hit_carries_what_the_runner_reuses(self, eval_store: EvalStore) -> None:
        eval_store.create_run(new_run())
        result = make_result("c1", key="k1", metrics_key="mk")
        result.case_hash = "case-hash-1"
        eval_store.add_result(RUN, result)
        hit = eval_store.cached(["k1"], metrics_key="mk")["k1"]
        assert hit.output == result.output and hit.metrics == result.metrics
        assert (hit.case_hash, hit.metrics_key) == ("case-hash-1", "mk")

    def test_cached_json_is_reused_byte_for_byte(self, eval_store: EvalStore) -> None:
        eval_store.create_run(new_run("run-1", created_at=T0))
        first = make_result("c1", key="k", answer='Zwei Jahre 🎉 « x » \x00 \\ "q"')
        first.metrics.append(MetricResult("f", "1", value=0.1 + 0.2, details={"ü": [1e-300]}))
        eval_store.add_result("run-1", first)
        hit = eval_store.cached(["k"])["k"]
        assert hit.output == first.output and hit.metrics == first.metrics
        assert hit.output_json and hit.metrics_json

        # the runner re-stores a hit with its JSON as read, and must get those bytes back
        eval_store.create_run(new_run("run-2", created_at=T0 + 1))
        reused = make_result("c1", key="k", answer="ignored: the JSON wins")
        reused.output_json, reused.metrics_json = hit.output_json, hit.metrics_json
        reused.cached = True
        eval_store.add_result("run-2", reused)
        again = eval_store.cached(["k"])["k"]
        assert again.output_json == hit.output_json
        assert again.metrics_json == hit.metrics_json
        [stored] = eval_store.results("run-2")
        assert stored.output == first.output and stored.cached

        # and JSON written in another layout is kept as it is, not re-encoded
        eval_store.create_run(new_run("run-3", created_at=T0 + 2))
        odd = make_result("c1", key="k")
        odd.output_json = '{"answer":  "verbatim ü",\n "abstained": true}'
        odd.metrics_json = "[ ]"
        eval_store.add_result("run-3", odd)
        newest = eval_store.cached(["k"])["k"]
        assert newest.output_json == '{"answer":  "verbatim ü",\n "abstained": true}'
        assert newest.metrics_json == "[ ]"
        assert newest.output == CaseOutput(answer="verbatim ü", abstained=True)
        assert newest.metrics == []

    def test_many_cache_keys(self, eval_store: EvalStore) -> None:
        eval_store.create_run(new_run())
        eval_store.add_results(
            RUN, [make_result(f"c{i}", key=f"k{i}", position=i) for i in range(1500)]
        )
        hits = eval_store.cached([f"k{i}" for i in range(0, 3000, 2)])
        assert len(hits) == 750
        assert sorted(hits) == sorted(f"k{i}" for i in range(0, 1500, 2))
        assert hits["k1498"].output.answer == "a [1]"
        assert len(eval_store.done_keys(RUN)) == 1500
        assert [r.position for r in eval_store.results(RUN)] == list(range(1500))

    # -- text --------------------------------------------------------------------------

    def test_odd_unicode_round_trips_everywhere(self, eval_store: EvalStore) -> None:
        for i, text in enumerate(ODD_TEXTS):
            run_id = f"run {i} {text}"
            run = new_run(run_id, name=f"name {text}", created_at=T0 + i, fingerprint={text: text})
            run.dataset_path = f"cases/{text}.jsonl"
            eval_store.create_run(run)
            result = make_result(f"case {text}", key=f"key {text}", answer=text)
            result.case = result.case.model_copy(update={"question": text, "expected": [text]})
            result.case_hash = result.metrics_key = text
            result.metrics = [MetricResult(text, text, value=1.0, details={text: text})]
            eval_store.add_result(run_id, result)
            eval_store.finish_run(run_id, "complete", {text: text})

            got = eval_store.get_run(run_id)
            assert (
                got.to_dict()
                == replace(
                    run, status="complete", finished_at=got.finished_at, summary={text: text}
                ).to_dict()
            )
            assert eval_store.get_run(f"name {text}").id == run_id
            assert eval_store.get_run(f"run {i} {text[:3]}").id == run_id  # a prefix
            assert eval_store.results(run_id) == [result]
            assert eval_store.done_keys(run_id) == {(f"case {text}", 0)}
            hit = eval_store.cached([f"key {text}"], metrics_key=text)[f"key {text}"]
            assert (hit.output.answer, hit.metrics_key, hit.case_hash) == (text, text, text)
        assert len(eval_store.list_runs()) == len(ODD_TEXTS)

    def test_nul_in_content_round_trips(self, eval_store: EvalStore) -> None:
        eval_store.create_run(new_run(fingerprint={"prompt": "a\x00b"}))
        result = make_result("c1", key="k", answer="before \x00 after")
        result.case = result.case.model_copy(update={"question": "nul \x00?", "notes": "\x00"})
        result.metrics = [MetricResult("m", "1", failure="bad\x00", details={"\x00": "\x00"})]
        result.output = replace(
            result.output,
            answer="before \x00 after",
            sentences=(CitedSentence("s\x00", ("c\x001",)),),
            contexts=(RetrievedContext("c\x001", "d\x00", "t\x00", 0.5),),
            error=None,
            guards=({"blocked": False, "reason": "\x00"},),
        )
        eval_store.add_result(RUN, result)
        eval_store.finish_run(RUN, "complete", {"note": "x\x00y"})
        assert eval_store.results(RUN) == [result]
        run = eval_store.get_run(RUN)
        assert run.fingerprint == {"prompt": "a\x00b"} and run.summary == {"note": "x\x00y"}
        assert eval_store.cached(["k"])["k"].output == result.output

    def test_nul_in_an_identifier_round_trips_or_is_refused(self, eval_store: EvalStore) -> None:
        """SQLite keeps a NUL; PostgreSQL text cannot, so it refuses it (never alters it)."""
        eval_store.create_run(new_run())
        try:
            eval_store.create_run(new_run("run\x00nul", name="na\x00me", created_at=T0))
        except InputError as e:
            assert "NUL" in str(e)
            assert [r.id for r in eval_store.list_runs()] == [RUN]
        else:
            got = eval_store.get_run("run\x00nul")
            assert (got.id, got.name) == ("run\x00nul", "na\x00me")
            assert eval_store.get_run("na\x00me").id == "run\x00nul"
        with pytest.raises(NotFoundError):
            eval_store.get_run("run\ufffdnul")  # never stored as another character

        for field, result in [
            ("case id", make_result("case\x00nul", key="k1")),
            ("cache key", make_result("c2", key="key\x00nul")),
        ]:
            try:
                eval_store.add_result(RUN, result)
            except InputError as e:
                assert "NUL" in str(e), field
                assert result.key not in eval_store.done_keys(RUN), field
            else:
                assert result.key in eval_store.done_keys(RUN), field
                hit = eval_store.cached([result.cache_key])
                assert list(hit) == [result.cache_key], field
        assert all("\ufffd" not in case_id for case_id, _ in eval_store.done_keys(RUN))
        assert eval_store.cached(["key\ufffdnul"]) == {}

    def test_invalid_unicode_is_refused_and_stores_nothing(self, eval_store: EvalStore) -> None:
        eval_store.create_run(new_run())
        with pytest.raises((ValueError, RaglineError), match=NOT_UNICODE):
            eval_store.create_run(new_run("run-bad", name="lone \udc80 surrogate"))
        with pytest.raises(NotFoundError):
            eval_store.get_run("run-bad")
        with pytest.raises((ValueError, RaglineError), match=NOT_UNICODE):
            eval_store.add_result(RUN, make_result("c1", key="k1", answer="lone \ud800"))
        assert eval_store.done_keys(RUN) == set() and eval_store.cached(["k1"]) == {}
        eval_store.add_result(RUN, make_result("c1", key="k1"))  # the store still works
        assert eval_store.done_keys(RUN) == {("c1", 0)}
