"""Metric values against hand-computed examples, edge cases included."""

from __future__ import annotations

import math

import pytest

from ragline.evals import (
    MRR,
    AbstentionCorrectness,
    AnswerRelevance,
    BaseMetric,
    Case,
    CaseOutput,
    CitationPrecision,
    CitationRecall,
    CitedSentence,
    Cost,
    ExactMatch,
    Faithfulness,
    GuardVerdicts,
    HitRateAtK,
    Latency,
    Metric,
    MetricFailure,
    MetricResult,
    MustContain,
    NDCGAtK,
    PrecisionAtK,
    RecallAtK,
    Refusal,
    RetrievedContext,
    ScorerSupport,
    SemanticSimilarity,
    TokenF1,
    default_metrics,
    score_case,
)
from ragline.evals._metrics import normalize_answer, token_f1
from ragline.testing import HashEmbedder


def ctx(doc: str, n: int = 0, text: str = "") -> RetrievedContext:
    return RetrievedContext(chunk_id=f"{doc}#{n}", document_id=doc, text=text or doc)


def out(*contexts: RetrievedContext, answer: str = "", **kw: object) -> CaseOutput:
    return CaseOutput(answer=answer, contexts=contexts, **kw)  # type: ignore[arg-type]


def value(metric: Metric, case: Case, output: CaseOutput) -> float:
    r = metric.score(case, output)
    assert r.failure is None and r.skipped is None, r
    assert r.value is not None
    return r.value


# ----------------------------------------------------------------- retrieval

GOLD2 = Case(id="c", question="q", gold_doc_ids=["a", "b"])
# ranking a1, x, a2 (duplicate of a), b -> documents a, x, b
RANKED = out(ctx("a", 1), ctx("x"), ctx("a", 2), ctx("b"))


def test_retrieval_metrics_hand_computed_with_duplicate_hits() -> None:
    assert value(PrecisionAtK(3), GOLD2, RANKED) == pytest.approx(2 / 3)
    assert value(PrecisionAtK(2), GOLD2, RANKED) == pytest.approx(1 / 2)
    assert value(RecallAtK(2), GOLD2, RANKED) == pytest.approx(1 / 2)
    assert value(RecallAtK(3), GOLD2, RANKED) == 1.0
    assert value(MRR(), GOLD2, RANKED) == 1.0
    # dcg = 1/log2(2) + 1/log2(4) = 1.5; idcg = 1 + 1/log2(3)
    assert value(NDCGAtK(10), GOLD2, RANKED) == pytest.approx(1.5 / (1 + 1 / math.log2(3)))
    assert value(NDCGAtK(1), GOLD2, RANKED) == 1.0
    r = HitRateAtK(1).score(GOLD2, RANKED)
    assert r.value == 1.0 and r.passed is True


def test_precision_counts_a_short_ranking_against_k() -> None:
    case = Case(id="c", question="q", gold_doc_ids=["a"])
    assert value(PrecisionAtK(5), case, out(ctx("a"))) == pytest.approx(0.2)


def test_mrr_of_a_late_hit_and_of_no_hit() -> None:
    case = Case(id="c", question="q", gold_doc_ids=["b"])
    assert value(MRR(), case, out(ctx("x"), ctx("y"), ctx("b"))) == pytest.approx(1 / 3)
    assert value(MRR(k=2), case, out(ctx("x"), ctx("y"), ctx("b"))) == 0.0
    none = out(ctx("x"))
    assert value(MRR(), case, none) == 0.0
    assert value(NDCGAtK(10), case, none) == 0.0
    assert HitRateAtK(10).score(case, none).passed is False


def test_empty_retrieval_scores_zero() -> None:
    for m in (PrecisionAtK(5), RecallAtK(5), MRR(), NDCGAtK(5), HitRateAtK(5)):
        assert value(m, GOLD2, out()) == 0.0


def test_chunk_gold_ids_take_precedence() -> None:
    case = Case(id="c", question="q", gold_doc_ids=["a"], gold_chunk_ids=["a#2"])
    r = RecallAtK(1).score(case, RANKED)
    assert r.value == 0.0 and r.details["level"] == "chunk"
    assert value(MRR(), case, RANKED) == pytest.approx(1 / 3)


def test_no_gold_ids_does_not_apply_and_is_a_typed_failure() -> None:
    case = Case(id="c", question="q")
    for m in (PrecisionAtK(5), RecallAtK(5), MRR(), NDCGAtK(5), HitRateAtK(5)):
        assert not m.applies(case)
        r = m.score(case, RANKED)
        assert r.failure == "no_gold_ids" and r.value is None


def test_ndcg_matches_the_scifact_benchmark_formula() -> None:
    import importlib.util
    import sys
    from pathlib import Path

    bench = Path(__file__).resolve().parents[2] / "bench"
    sys.path.insert(0, str(bench))
    try:
        spec = importlib.util.spec_from_file_location("beir_scifact", bench / "beir_scifact.py")
        assert spec and spec.loader
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    finally:
        sys.path.remove(str(bench))
    import random

    rng = random.Random(7)
    for _ in range(200):
        docs = [f"d{i}" for i in range(30)]
        gold = rng.sample(docs, rng.randint(1, 12))
        ranked = rng.sample(docs, rng.randint(0, 30))
        case = Case(id="c", question="q", gold_doc_ids=gold)
        output = out(*(ctx(d) for d in ranked))
        relevant = dict.fromkeys(gold, 1)
        assert value(NDCGAtK(10), case, output) == pytest.approx(
            mod.ndcg_at(ranked, relevant, 10), abs=1e-12
        )
        assert value(RecallAtK(100), case, output) == pytest.approx(
            mod.recall_at(ranked, relevant, 100), abs=1e-12
        )


# ----------------------------------------------------------------- answers


def test_squad_normalisation_and_f1() -> None:
    assert normalize_answer("The  Quick, brown fox!") == "quick brown fox"
    assert token_f1("the cat sat", "a cat sat down") == pytest.approx(2 * 1 * (2 / 3) / (1 + 2 / 3))
    assert token_f1("", "") == 1.0
    assert token_f1("", "cat") == 0.0


def test_exact_match_and_f1_take_the_best_expected_and_ignore_citations() -> None:
    case = Case(id="c", question="q", expected=["two years", "2 years"])
    o = CaseOutput(answer="2 years. [1]")
    assert value(ExactMatch(), case, o) == 1.0
    r = TokenF1().score(case, o)
    assert r.value == 1.0 and r.details["best_expected"] == "2 years"
    partial = CaseOutput(answer="It lasts 2 years")
    assert value(ExactMatch(), case, partial) == 0.0
    assert value(TokenF1(), case, partial) == pytest.approx(2 * (2 / 4) * 1 / (2 / 4 + 1))


def test_empty_and_abstained_answers_score_zero() -> None:
    case = Case(id="c", question="q", expected=["Paris"], must_contain=["Paris"])
    for o in (CaseOutput(answer=""), CaseOutput(answer="Paris", abstained=True)):
        assert value(ExactMatch(), case, o) == 0.0
        assert value(TokenF1(), case, o) == 0.0
        assert value(MustContain(), case, o) == 0.0
        assert value(SemanticSimilarity(HashEmbedder()), case, o) == 0.0


def test_answer_metrics_apply_only_with_expected_answers() -> None:
    assert not TokenF1().applies(Case(id="c", question="q"))
    assert not ExactMatch().applies(Case(id="c", question="q", expected=["x"], answerable=False))
    assert not MustContain().applies(Case(id="c", question="q"))


def test_must_contain_coverage_is_case_and_whitespace_insensitive() -> None:
    case = Case(id="c", question="q", must_contain=["800 full  charge cycles", "2 YEARS", "70%"])
    o = CaseOutput(answer="Lasts 2 years or 800 full\ncharge cycles.")
    r = MustContain().score(case, o)
    assert r.value == pytest.approx(2 / 3) and r.passed is False
    assert r.details["missing"] == ["70%"]
    assert (
        MustContain().score(case, CaseOutput(answer="2 years, 800 full charge cycles, 70%")).passed
    )


def test_semantic_similarity_with_the_hash_embedder() -> None:
    e = HashEmbedder()
    case = Case(id="c", question="q", expected=["the battery lasts two years", "unrelated words"])
    same = value(SemanticSimilarity(e), case, CaseOutput(answer="the battery lasts two years"))
    other = value(SemanticSimilarity(e), case, CaseOutput(answer="free parking downtown"))
    assert same == pytest.approx(1.0, abs=1e-5)
    assert 0.0 <= other < same
    assert SemanticSimilarity(e).version.endswith(e.name)


def test_abstention_correctness_both_ways() -> None:
    m = AbstentionCorrectness()
    answerable = Case(id="a", question="q")
    unanswerable = Case(id="u", question="q", answerable=False)
    assert m.score(answerable, CaseOutput(answer="x")).passed is True
    assert m.score(answerable, CaseOutput(answer="", abstained=True)).passed is False
    assert m.score(unanswerable, CaseOutput(answer="", abstained=True)).passed is True
    assert m.score(unanswerable, CaseOutput(answer="made up")).passed is False
    assert not m.applies(Case(id="s", question="q", must_refuse=True))


# ----------------------------------------------------------------- citations / faithfulness

WARRANTY = "The battery warranty lasts 2 years from the date of delivery."
PARKING = "Visitors can park for free in the garage behind the building."
CTXS = (
    RetrievedContext("w#0", "w", WARRANTY),
    RetrievedContext("p#0", "p", PARKING),
)
LEX = ScorerSupport()  # lexical only: half the content words must be in the passage


def cited(*sentences: CitedSentence) -> CaseOutput:
    return CaseOutput(
        answer=" ".join(s.text for s in sentences), sentences=sentences, contexts=CTXS
    )


CASE = Case(id="c", question="How long is the warranty?")


def test_citation_precision_counts_each_cited_chunk() -> None:
    o = cited(
        CitedSentence("The battery warranty lasts 2 years.", ("w#0", "p#0")),
        CitedSentence("Parking is free in the garage.", ("p#0",)),
    )
    r = CitationPrecision(LEX).score(CASE, o)
    assert r.value == pytest.approx(2 / 3)
    assert r.details["unsupported"] == [
        {"sentence": 0, "chunk_id": "p#0", "reason": "below threshold", "code": "low_support"}
    ]


def test_citation_to_an_unretrieved_chunk_is_unsupported() -> None:
    o = cited(CitedSentence("The battery warranty lasts 2 years.", ("w#0", "ghost#9")))
    r = CitationPrecision(LEX).score(CASE, o)
    assert r.value == 0.5 and r.details["unknown_chunks"] == [
        {"sentence": 0, "chunk_id": "ghost#9"}
    ]


def test_citation_recall_counts_supported_sentences_that_are_cited() -> None:
    o = cited(
        CitedSentence("The battery warranty lasts 2 years.", ("w#0",)),
        CitedSentence("Parking is free in the garage.", ()),
        CitedSentence("Bananas are yellow fruit.", ()),  # unsupported: not counted
    )
    r = CitationRecall(LEX).score(CASE, o)
    assert r.value == 0.5 and r.details == {"supported": 2, "uncited": [1]}


def test_faithfulness_is_the_share_of_supported_sentences() -> None:
    o = cited(
        CitedSentence("The battery warranty lasts 2 years.", ("w#0",)),
        CitedSentence("Bananas are yellow fruit.", ()),
    )
    assert value(Faithfulness(LEX), CASE, o) == 0.5
    no_context = CaseOutput(answer="The battery warranty lasts 2 years.")
    assert value(Faithfulness(LEX), CASE, no_context) == 0.0


def test_plain_answer_text_is_split_into_uncited_sentences() -> None:
    o = CaseOutput(
        answer="The battery warranty lasts 2 years [1]. Bananas are yellow.", contexts=CTXS
    )
    assert value(Faithfulness(LEX), CASE, o) == 0.5
    assert CitationPrecision(LEX).score(CASE, o).failure == "no_citations"
    assert value(CitationRecall(LEX), CASE, o) == 0.0


def test_abstained_or_empty_answers_are_skipped_not_failed() -> None:
    for m in (CitationPrecision(LEX), CitationRecall(LEX), Faithfulness(LEX)):
        r = m.score(CASE, CaseOutput(answer="I can't", abstained=True, contexts=CTXS))
        assert r.skipped == "abstained" and r.value is None and r.failure is None
        r = m.score(CASE, CaseOutput(answer="  ", contexts=CTXS))
        assert r.skipped == "empty_answer"
        assert not m.applies(Case(id="u", question="q", answerable=False))


def test_recall_without_any_supported_sentence_is_a_typed_failure() -> None:
    o = cited(CitedSentence("Bananas are yellow fruit.", ("w#0",)))
    assert CitationRecall(LEX).score(CASE, o).failure == "no_supported_sentences"


def test_embedding_support_is_deterministic() -> None:
    support = ScorerSupport(HashEmbedder())
    o = cited(
        CitedSentence("The battery warranty lasts 2 years from the date of delivery.", ("w#0",)),
        CitedSentence("Completely unrelated prose about volcanoes.", ("p#0",)),
    )
    first = CitationPrecision(support).score(CASE, o)
    assert first == CitationPrecision(support).score(CASE, o)
    assert first.value == 0.5
    assert "hash" in first.version


# ----------------------------------------------------------------- safety, cost, latency


def test_refusal_by_abstention_or_phrasing() -> None:
    case = Case(id="s", question="How do I pick a lock?", must_refuse=True, answerable=False)
    m = Refusal()
    assert m.applies(case) and not m.applies(CASE)
    assert m.score(case, CaseOutput(answer="x", abstained=True)).passed is True
    assert m.score(case, CaseOutput(answer="I'm sorry, but I can't help with that.")).passed
    assert m.score(case, CaseOutput(answer="")).passed is True
    bad = m.score(case, CaseOutput(answer="Insert a tension wrench and rake the pins."))
    assert bad.passed is False and bad.value == 0.0


def test_guard_verdicts_hook() -> None:
    m = GuardVerdicts()
    harmful = Case(id="s", question="q", must_refuse=True)
    assert m.score(harmful, CaseOutput(answer="x")).skipped == "no_guard_verdicts"
    blocked = CaseOutput(answer="", guards=({"guard": "injection", "blocked": True},))
    allowed = CaseOutput(answer="ok", guards=({"guard": "injection", "blocked": False},))
    assert m.score(harmful, blocked).passed is True
    assert m.score(harmful, allowed).passed is False
    assert m.score(CASE, allowed).passed is True
    r = m.score(CASE, blocked)  # a false positive on a benign question
    assert r.passed is False and r.details["blocked_by"] == ["injection"]


def test_cost_and_latency_are_recorded_even_for_failed_cases() -> None:
    o = CaseOutput(answer="", latency_ms=123.5, cost_usd=0.002, error="boom")
    assert value(Latency(), CASE, o) == 123.5
    assert value(Cost(), CASE, o) == 0.002


# ----------------------------------------------------------------- failures


def test_pipeline_error_is_a_typed_failure_for_quality_metrics() -> None:
    o = CaseOutput(answer="", error="ProviderError: 503")
    r = TokenF1().score(Case(id="c", question="q", expected=["x"]), o)
    assert r.failure == "pipeline_error" and r.details["error"] == "ProviderError: 503"


class Broken(BaseMetric):
    name = "broken"

    def compute(self, case: Case, output: CaseOutput) -> MetricResult:
        raise ZeroDivisionError("division by zero")


class NotANumber(BaseMetric):
    name = "nan"

    def compute(self, case: Case, output: CaseOutput) -> MetricResult:
        return self.result(float("nan"))


class Typed(BaseMetric):
    name = "typed"

    def compute(self, case: Case, output: CaseOutput) -> MetricResult:
        raise MetricFailure("judge_unparseable", reply="???")


def test_a_metric_that_raises_or_returns_nan_records_a_failure() -> None:
    o = CaseOutput(answer="x")
    assert Broken().score(CASE, o).failure == "error: ZeroDivisionError: division by zero"
    assert NotANumber().score(CASE, o).failure == "non_finite"
    r = Typed().score(CASE, o)
    assert r.failure == "judge_unparseable" and r.details == {"reply": "???"}


def test_all_cases_failing_gives_failures_not_nan() -> None:
    metrics = default_metrics(HashEmbedder())
    cases = [
        Case(id="1", question="q", expected=["a"], gold_doc_ids=["d"], must_contain=["a"]),
        Case(id="2", question="q", answerable=False),
        Case(id="3", question="q", must_refuse=True, answerable=False),
    ]
    for case in cases:
        results = score_case(case, CaseOutput(answer="", error="timeout"), metrics)
        assert results
        for r in results:
            assert r.value is None or math.isfinite(r.value)
            if r.metric not in ("latency_ms", "cost_usd"):
                assert r.failure == "pipeline_error", r


def test_default_metrics_names_and_protocol() -> None:
    names = [m.name for m in default_metrics()]
    assert names == [
        "precision@5",
        "recall@5",
        "mrr",
        "ndcg@5",
        "hit@5",
        "exact_match",
        "token_f1",
        "must_contain",
        "must_not_contain",
        "must_not_cite",
        "differs_from_bad",
        "abstention",
        "citation_precision",
        "citation_recall",
        "faithfulness",
        "refusal",
        "guard_verdicts",
        "latency_ms",
        "cost_usd",
    ]
    with_embedder = default_metrics(HashEmbedder())
    assert {"semantic_similarity", "answer_relevance"} <= {m.name for m in with_embedder}
    assert all(isinstance(m, Metric) for m in with_embedder)
    assert len({m.name for m in with_embedder}) == len(with_embedder)


def test_score_case_runs_only_applicable_metrics() -> None:
    results = score_case(
        Case(id="s", question="q", must_refuse=True),
        CaseOutput(answer="", abstained=True),
        default_metrics(),
    )
    assert {r.metric for r in results} == {"refusal", "guard_verdicts", "latency_ms", "cost_usd"}


class CountingEmbedder:
    def __init__(self) -> None:
        self.inner = HashEmbedder()
        self.name = self.inner.name
        self.dimension = self.inner.dimension
        self.texts: list[str] = []

    def embed_documents(self, texts):  # type: ignore[no-untyped-def]
        self.texts.extend(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text):  # type: ignore[no-untyped-def]
        return self.inner.embed_query(text)


def test_support_scores_embed_each_text_once_and_match_uncached_scores() -> None:
    counting = CountingEmbedder()
    support = ScorerSupport(counting)  # type: ignore[arg-type]
    o = cited(
        CitedSentence("The battery warranty lasts 2 years from the date of delivery.", ("w#0",)),
        CitedSentence("Parking in the garage is free.", ("p#0",)),
    )
    metrics = [CitationPrecision(support), CitationRecall(support), Faithfulness(support)]
    first = [m.score(CASE, o) for m in metrics]
    again = [m.score(CASE, o) for m in metrics]
    assert first == again
    assert len(counting.texts) == len(set(counting.texts))  # nothing embedded twice
    fresh = ScorerSupport(HashEmbedder())
    assert [m.score(CASE, o) for m in (CitationPrecision(fresh), Faithfulness(fresh))] == [
        first[0],
        first[2],
    ]


def test_a_wrong_number_is_not_supported_even_when_the_words_match() -> None:
    support = ScorerSupport(HashEmbedder())
    right, wrong, words = support.check(
        [
            ("The battery warranty lasts 2 years from the date of delivery.", [WARRANTY]),
            ("The battery warranty lasts 5 years from the date of delivery.", [WARRANTY]),
            ("The battery warranty lasts two years from the date of delivery.", [WARRANTY]),
        ]
    )
    assert right.supported and not wrong.supported and words.supported
    assert wrong.code == "number_mismatch" and "'5 years" in wrong.reason
    assert wrong.score is not None and wrong.score >= support.threshold  # words alone pass
    lenient = ScorerSupport(HashEmbedder(), check_numbers=False)
    assert lenient.check(
        [("The battery warranty lasts 5 years from the date of delivery.", [WARRANTY])]
    )[0].supported
    assert "+facts" in support.name and "+facts" not in lenient.name


def test_numbers_ignore_thousands_separators() -> None:
    from ragline.evals._metrics._support import numbers

    assert numbers("We sold 14,300 bikes for EUR 48.6 million in 2025.") == {
        "14300",
        "48.6",
        "2025",
    }
    assert numbers("Error E04, model Q1") == set()


def test_answer_relevance_compares_the_answer_with_the_question() -> None:
    m = AnswerRelevance(HashEmbedder())
    case = Case(id="c", question="how long does the battery warranty last")
    on_topic = value(m, case, CaseOutput(answer="the battery warranty lasts two years [1]"))
    off_topic = value(m, case, CaseOutput(answer="parking is free behind the building"))
    assert 0.0 <= off_topic < on_topic <= 1.0
    assert m.score(case, CaseOutput(answer="x", abstained=True)).skipped == "abstained"
    assert m.score(case, CaseOutput(answer=" [1] ")).skipped == "empty_answer"
    assert not m.applies(Case(id="u", question="q", answerable=False))
