"""Metrics: retrieval, answer, citations, faithfulness, safety, cost and latency."""

from ragline.evals._metrics._agent import (
    AgentSteps,
    AgentSuccess,
    MemoryRecall,
    NoLoop,
    ToolCallAccuracy,
    ToolErrorRecovery,
    agent_metrics,
)
from ragline.evals._metrics._answer import (
    AbstentionCorrectness,
    AnswerRelevance,
    ExactMatch,
    MustContain,
    SemanticSimilarity,
    TokenF1,
    normalize_answer,
    token_f1,
)
from ragline.evals._metrics._base import BaseMetric, MetricFailure, MetricSkipped
from ragline.evals._metrics._citations import CitationPrecision, CitationRecall, Faithfulness
from ragline.evals._metrics._judge import JudgePrompt, LLMJudge, parse_verdict
from ragline.evals._metrics._negative import DiffersFromBad, MustNotCite, MustNotContain
from ragline.evals._metrics._registry import (
    METRICS_BY_CATEGORY,
    OPERATIONAL_METRICS,
    category_metrics,
    default_metrics,
    retrieval_metrics,
    score_case,
)
from ragline.evals._metrics._retrieval import MRR, HitRateAtK, NDCGAtK, PrecisionAtK, RecallAtK
from ragline.evals._metrics._safety import Cost, GuardVerdicts, Latency, Refusal, is_refusal
from ragline.evals._metrics._support import (
    FactSupport,
    ScorerSupport,
    SupportChecker,
    SupportVerdict,
    support_checker,
)
from ragline.evals._metrics._support_factory import build_support_checker
from ragline.evals._metrics._support_judge import JudgeSupport
from ragline.evals._metrics._support_nli import NLISupport

__all__ = [
    "METRICS_BY_CATEGORY",
    "MRR",
    "OPERATIONAL_METRICS",
    "AbstentionCorrectness",
    "AgentSteps",
    "AgentSuccess",
    "AnswerRelevance",
    "BaseMetric",
    "CitationPrecision",
    "CitationRecall",
    "Cost",
    "DiffersFromBad",
    "ExactMatch",
    "FactSupport",
    "Faithfulness",
    "GuardVerdicts",
    "HitRateAtK",
    "JudgePrompt",
    "JudgeSupport",
    "LLMJudge",
    "Latency",
    "MemoryRecall",
    "MetricFailure",
    "MetricSkipped",
    "MustContain",
    "MustNotCite",
    "MustNotContain",
    "NDCGAtK",
    "NLISupport",
    "NoLoop",
    "PrecisionAtK",
    "RecallAtK",
    "Refusal",
    "ScorerSupport",
    "SemanticSimilarity",
    "SupportChecker",
    "SupportVerdict",
    "TokenF1",
    "ToolCallAccuracy",
    "ToolErrorRecovery",
    "agent_metrics",
    "build_support_checker",
    "category_metrics",
    "default_metrics",
    "is_refusal",
    "normalize_answer",
    "parse_verdict",
    "retrieval_metrics",
    "score_case",
    "support_checker",
    "token_f1",
]
