"""The public surface of each package is pinned: changing it is a deliberate act."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "ragline": [
        "Answer", "AnswerSentence", "Chunk", "ConfigError", "Document", "Hit", "InputError",
        "Project", "ProviderError", "RaglineError", "Reference", "StoreError", "__version__",
    ],
    "ragline.store": [
        "Condition", "Matrix", "MemoryStore", "SQLiteStore", "ScoredChunk", "Store",
        "StoreStats", "Vector", "matches", "open_store", "parse_filter", "parse_filters",
    ],
    "ragline.embed": [
        "EMBEDDER_CHOICES", "Embedder", "HashEmbedder", "MiniLMEmbedder", "OpenAIEmbedder",
        "make_embedder",
    ],
    "ragline.retrieve": [
        "Boost", "MODES", "Mode", "Retriever", "RoutingPlan", "SearchResult", "apply_boosts",
        "min_max", "mmr_select", "plan_routing", "rrf_fuse", "single_leg", "weighted_fuse",
    ],
    "ragline.answer": [
        "ABSTAIN_TEXT", "CitationEvent", "CitationReport", "CitedText", "DeltaEvent",
        "DoneEvent", "ErrorEvent", "Event", "ExtractiveAnswerer", "ExtractiveTuning",
        "GeneratedAnswer", "GroundedAnswerer", "PromptTemplate", "RenderedPrompt",
        "RetrievalEvent", "Segment", "SupportScorer", "format_chunk", "marker_numbers",
        "segments", "split_sentences", "verify_citations",
    ],
    "ragline.models": [
        "AnthropicModel", "CachedModel", "CircuitBreakerModel", "CircuitOpenError",
        "CircuitState", "Completion", "CostTracker", "Delta", "FallbackError", "FallbackModel",
        "FinishReason", "MalformedResponse", "MemoryResponseCache", "Message", "Model",
        "OpenAIModel", "PRICES", "Price", "ProviderTimeout", "ProviderUnavailable",
        "RateLimitError", "RateLimitWaitError", "RateLimitedModel", "RealRequestsBlocked",
        "RequestRejected", "ResponseCache", "RetryingModel", "Role", "StoreResponseCache",
        "StreamInterrupted", "StreamStalled", "ToolCall", "ToolSpec", "TrackingModel",
        "UnavailableModel", "Usage", "UsageTotals", "build_model", "cache_key", "cost_usd",
        "make_model", "price_for", "response_cache_for", "unwrap", "wrap_model",
    ],
    "ragline.testing": [
        "EmbedderConformance", "FakeModel", "FunctionModel", "HashEmbedder", "ModelCall",
        "StoreConformance", "block_real_requests", "real_requests_blocked",
    ],
}  # fmt: skip


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_all_is_pinned_and_importable(module: str) -> None:
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(PUBLIC[module])
    for name in mod.__all__:
        assert getattr(mod, name) is not None, f"{module}.{name}"
