"""Retrieval metrics over gold ids: precision@k, recall@k, MRR, nDCG@k, hit rate@k.

Relevance is binary. When a case has ``gold_chunk_ids`` the ranking is the retrieved
chunk ids; otherwise it is document-level: the retrieved chunks' document ids,
de-duplicated by first occurrence (a document ranks where its best chunk ranks, as
``bench/beir_scifact.py`` does), judged against ``gold_doc_ids``.

A case with no gold ids is outside these metrics: ``applies`` is False, and
``score`` on it records ``failure="no_gold_ids"``.

- ``precision@k`` = relevant in the top k / k (the standard definition: a ranking
  shorter than k is not rewarded for it);
- ``recall@k`` = relevant in the top k / number of gold ids;
- ``mrr`` = 1 / rank of the first relevant item (0 when none is retrieved);
- ``ndcg@k`` = DCG@k / ideal DCG@k with gain 1 / log2(rank + 1);
- ``hit@k`` = 1 when any relevant item is in the top k (pass/fail).
"""

from __future__ import annotations

import math
from typing import ClassVar

from ragline.evals._metrics._base import BaseMetric, MetricFailure
from ragline.evals._types import Case, CaseOutput, MetricResult


def ranking(case: Case, output: CaseOutput) -> tuple[list[str], set[str], str]:
    """(ranked ids, gold ids, level) — chunk level when the case has gold chunk ids."""
    if case.gold_chunk_ids:
        ranked = list(dict.fromkeys(c.chunk_id for c in output.contexts))
        return ranked, set(case.gold_chunk_ids), "chunk"
    if case.gold_doc_ids:
        ranked = list(dict.fromkeys(c.document_id for c in output.contexts))
        return ranked, set(case.gold_doc_ids), "document"
    raise MetricFailure("no_gold_ids")


def ndcg_at_k(ranked: list[str], gold: set[str], k: int) -> float:
    dcg = sum(1.0 / math.log2(i + 2) for i, d in enumerate(ranked[:k]) if d in gold)
    idcg = sum(1.0 / math.log2(i + 2) for i in range(min(len(gold), k)))
    return dcg / idcg if idcg else 0.0


class _RetrievalMetric(BaseMetric):
    version = "1"
    label: ClassVar[str]  # the metric is named f"{label}@{k}"

    def __init__(self, k: int = 10) -> None:
        if k < 1:
            raise ValueError("k must be at least 1")
        self.k = k
        self.name = f"{self.label}@{k}"

    def applies(self, case: Case) -> bool:
        return bool(case.gold_doc_ids or case.gold_chunk_ids)


class PrecisionAtK(_RetrievalMetric):
    label = "precision"

    def compute(self, case: Case, output: CaseOutput) -> MetricResult:
        ranked, gold, level = ranking(case, output)
        found = sum(1 for d in ranked[: self.k] if d in gold)
        return self.result(found / self.k, relevant=found, level=level)


class RecallAtK(_RetrievalMetric):
    label = "recall"

    def compute(self, case: Case, output: CaseOutput) -> MetricResult:
        ranked, gold, level = ranking(case, output)
        found = [d for d in ranked[: self.k] if d in gold]
        missing = sorted(gold - set(found))
        return self.result(len(found) / len(gold), level=level, missing=missing)


class MRR(_RetrievalMetric):
    """Reciprocal rank of the first relevant item in the whole ranking (or the top k)."""

    label = "mrr"

    def __init__(self, k: int | None = None) -> None:
        super().__init__(k if k is not None else 1)
        self.cutoff = k  # None: the whole ranking
        self.name = "mrr" if k is None else f"mrr@{k}"

    def compute(self, case: Case, output: CaseOutput) -> MetricResult:
        ranked, gold, level = ranking(case, output)
        for i, d in enumerate(ranked[: self.cutoff]):
            if d in gold:
                return self.result(1.0 / (i + 1), rank=i + 1, level=level)
        return self.result(0.0, rank=None, level=level)


class NDCGAtK(_RetrievalMetric):
    label = "ndcg"

    def compute(self, case: Case, output: CaseOutput) -> MetricResult:
        ranked, gold, level = ranking(case, output)
        return self.result(ndcg_at_k(ranked, gold, self.k), level=level)


class HitRateAtK(_RetrievalMetric):
    label = "hit"

    def compute(self, case: Case, output: CaseOutput) -> MetricResult:
        ranked, gold, level = ranking(case, output)
        hit = any(d in gold for d in ranked[: self.k])
        return self.result(1.0 if hit else 0.0, passed=hit, level=level)


__all__ = ["MRR", "HitRateAtK", "NDCGAtK", "PrecisionAtK", "RecallAtK", "ndcg_at_k", "ranking"]
