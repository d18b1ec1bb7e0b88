"""Public test helpers: fakes and conformance suites for every pluggable part.

Heavy or pytest-only names are imported lazily.
"""

from __future__ import annotations

from ragline._lazy import lazy_exports
from ragline.embed._hash import HashEmbedder

__all__ = [
    "FAKE_ORDERS",
    "AlertStoreConformance",
    "ConversationStoreConformance",
    "EmbedderConformance",
    "EvalStoreConformance",
    "FakeMetricSource",
    "FakeModel",
    "FunctionModel",
    "GuardConformance",
    "HashEmbedder",
    "ModelCall",
    "ModelConformance",
    "NotifierConformance",
    "PromptStoreConformance",
    "RateLimitsConformance",
    "RecordingNotifier",
    "RerankerConformance",
    "ResponseCacheConformance",
    "RollupConformance",
    "SentenceStoreConformance",
    "ServerProcess",
    "StoreConformance",
    "SupportCheckerConformance",
    "TicketStoreConformance",
    "TraceStoreConformance",
    "UserMemoryStoreConformance",
    "block_real_requests",
    "broken_policy",
    "lookup_order",
    "real_requests_blocked",
    "reference_policy",
    "sample_notification",
    "tool_turn",
]

# name → the module that defines it, imported on first use
_LAZY = {
    "AlertStoreConformance": "ragline.testing._alert_conformance",
    "FakeMetricSource": "ragline.testing._monitor",
    "RecordingNotifier": "ragline.testing._monitor",
    "ConversationStoreConformance": "ragline.testing._conversation_conformance",
    "EmbedderConformance": "ragline.testing._embedder_conformance",
    "EvalStoreConformance": "ragline.testing._eval_conformance",
    "FakeModel": "ragline.testing._models",
    "FunctionModel": "ragline.testing._models",
    "GuardConformance": "ragline.testing._guard_conformance",
    "ModelCall": "ragline.testing._models",
    "ModelConformance": "ragline.testing._model_conformance",
    "NotifierConformance": "ragline.testing._notifier_conformance",
    "PromptStoreConformance": "ragline.testing._prompt_conformance",
    "RateLimitsConformance": "ragline.testing._rate_limit_conformance",
    "RerankerConformance": "ragline.testing._reranker_conformance",
    "ResponseCacheConformance": "ragline.testing._response_cache_conformance",
    "RollupConformance": "ragline.testing._rollup_conformance",
    "SentenceStoreConformance": "ragline.testing._sentence_conformance",
    "ServerProcess": "ragline.testing._server",
    "StoreConformance": "ragline.testing._store_conformance",
    "SupportCheckerConformance": "ragline.testing._support_conformance",
    "TicketStoreConformance": "ragline.testing._ticket_conformance",
    "TraceStoreConformance": "ragline.testing._trace_conformance",
    "UserMemoryStoreConformance": "ragline.testing._user_memory_conformance",
    "block_real_requests": "ragline.testing._models",
    "real_requests_blocked": "ragline.testing._models",
    "sample_notification": "ragline.testing._notifier_conformance",
    "FAKE_ORDERS": "ragline.testing._agent",
    "lookup_order": "ragline.testing._agent",
    "tool_turn": "ragline.testing._agent",
    "broken_policy": "ragline.testing._agent_policy",
    "reference_policy": "ragline.testing._agent_policy",
}

__getattr__ = lazy_exports(__name__, _LAZY)
