"""The default metric set, which metrics a report shows per category, and scoring helpers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ragline.evals._metrics._answer import (
    AbstentionCorrectness,
    AnswerRelevance,
    ExactMatch,
    MustContain,
    SemanticSimilarity,
    TokenF1,
)
from ragline.evals._metrics._citations import CitationPrecision, CitationRecall, Faithfulness
from ragline.evals._metrics._negative import DiffersFromBad, MustNotCite, MustNotContain
from ragline.evals._metrics._retrieval import MRR, HitRateAtK, NDCGAtK, PrecisionAtK, RecallAtK
from ragline.evals._metrics._safety import Cost, GuardVerdicts, Latency, Refusal
from ragline.evals._metrics._support import SupportChecker, support_checker
from ragline.evals._types import Case, CaseOutput, Metric, MetricResult

if TYPE_CHECKING:
    from ragline.embed._base import Embedder
    from ragline.models._base import Model


def retrieval_metrics(k: int = 10, *, recall_k: int | None = None) -> list[Metric]:
    """precision@k, recall@k, MRR, nDCG@k, hit@k (and recall@``recall_k`` when given).

    ``retrieval_metrics(10, recall_k=100)`` is the BEIR set (nDCG@10, recall@100)."""
    out: list[Metric] = [PrecisionAtK(k), RecallAtK(k), MRR(), NDCGAtK(k), HitRateAtK(k)]
    if recall_k is not None and recall_k != k:
        out.append(RecallAtK(recall_k))
    return out


def default_metrics(
    embedder: Embedder | None = None,
    judge: Model | SupportChecker | None = None,
    *,
    k: int = 5,
    checker: str = "facts",
    threshold: float | None = None,
) -> list[Metric]:
    """Every metric, configured: retrieval at ``k`` (the default ``retrieval.k``);
    answer metrics (semantic similarity and answer relevance only with an
    ``embedder``); citations and faithfulness (judged by ``judge`` — a model or a
    checker — when given, otherwise by the deterministic ``checker``, ``support.checker``:
    facts or similarity, at ``threshold``, ``support.eval_threshold``); safety, cost
    and latency."""
    support: SupportChecker
    if judge is None:
        support = support_checker(checker, embedder, threshold=threshold)
    elif isinstance(judge, SupportChecker):
        support = judge
    else:
        from ragline.evals._metrics._judge import LLMJudge

        support = LLMJudge(judge)
    out: list[Metric] = [
        *retrieval_metrics(k),
        ExactMatch(),
        TokenF1(),
        MustContain(),
        MustNotContain(),
        MustNotCite(),
        DiffersFromBad(),
    ]
    if embedder is not None:
        out += [SemanticSimilarity(embedder), AnswerRelevance(embedder)]
    out += [
        AbstentionCorrectness(),
        CitationPrecision(support),
        CitationRecall(support),
        Faithfulness(support),
        Refusal(),
        GuardVerdicts(),
        Latency(),
        Cost(),
    ]
    return out


def _retrieval_names(k: int) -> tuple[str, ...]:
    return (f"precision@{k}", f"recall@{k}", "mrr", f"ndcg@{k}", f"hit@{k}")


def category_metrics(category: str, *, k: int = 5) -> tuple[str, ...]:
    """The metrics a report shows first for a category (others that scored follow).

    A custom category gets the answer and retrieval metrics."""
    answer = ("exact_match", "token_f1", "must_contain", "semantic_similarity", "abstention")
    table: dict[str, tuple[str, ...]] = {
        "factual_accuracy": (*answer, *_retrieval_names(k)),
        "citation_quality": (
            "citation_precision",
            "citation_recall",
            "faithfulness",
            *_retrieval_names(k),
        ),
        "response_relevance": (*answer, "answer_relevance", "faithfulness", *_retrieval_names(k)),
        "safety": ("refusal", "guard_verdicts", "abstention"),
        "retrieval": _retrieval_names(k),
    }
    return table.get(category, (*answer, *_retrieval_names(k)))


#: ``category_metrics`` at the default k = 5, for the four standard categories
METRICS_BY_CATEGORY: dict[str, tuple[str, ...]] = {
    c: category_metrics(c)
    for c in ("factual_accuracy", "citation_quality", "response_relevance", "safety")
}

#: metrics summarised over all cases (p50/p95/mean), not per category
OPERATIONAL_METRICS: tuple[str, ...] = ("latency_ms", "cost_usd")


def score_case(case: Case, output: CaseOutput, metrics: Sequence[Metric]) -> list[MetricResult]:
    """Every metric that applies to ``case``, scored; never raises (same contract as the
    runner's ``score_case``)."""
    out = []
    for m in metrics:
        try:
            applies = m.applies(case)
        except Exception as e:
            out.append(MetricResult(m.name, m.version, failure=f"error: {type(e).__name__}: {e}"))
            continue
        if applies:
            try:
                out.append(m.score(case, output))
            except Exception as e:  # a Metric not built on BaseMetric
                out.append(
                    MetricResult(m.name, m.version, failure=f"error: {type(e).__name__}: {e}")
                )
    return out


__all__ = [
    "METRICS_BY_CATEGORY",
    "OPERATIONAL_METRICS",
    "category_metrics",
    "default_metrics",
    "retrieval_metrics",
    "score_case",
]
