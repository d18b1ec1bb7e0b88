"""The public surface of each package is pinned: changing it is a deliberate act."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "ragline": [
        "Answer", "AnswerSentence", "Chunk", "ConfigError", "Document", "Hit", "InputError",
        "Project", "ProviderError", "RaglineError", "Reference", "StoreError", "__version__",
    ],
    "ragline.batch": [
        "ExecutorSpec", "RayEmbedder", "flush_chunks", "import_ray", "parse_executor",
        "ray_embedder", "ray_session",
    ],
    "ragline.server": ["KeyRing", "create_app", "hash_key", "new_key", "openapi_schema", "serve"],
    "ragline.store": [
        "AlertEvent", "AlertState", "AlertStore", "EvaluatorLock", "Silence",
        "Backend", "ClaimHolder", "ClaimOutcome", "Condition", "ConversationStore",
        "CopySummary", "DocumentClaim", "EvalStore",
        "LocalPostgres", "Matrix", "MemoryStore", "PostgresStore", "SQLiteStore",
        "ScoredChunk", "SentenceStore", "Store", "StoreStats", "TraceStore", "Vector",
        "copy_store", "create_postgres_role", "matches", "open_backend", "open_store",
        "parse_filter", "parse_filters",
        "MemoryEntry", "MemoryItem", "MemoryPage", "ScoredMemory", "UserMemoryStore",
        "LabelEvent", "PromptLabel", "PromptStore", "PromptVersion",
        "Ticket", "TicketStore",
        "MemoryRateLimits", "RateLimits",
    ],
    "ragline.store.memory": [
        "MemoryAlertStore", "MemoryBackend", "MemoryConversationStore", "MemorySentenceStore",
        "MemoryStore", "MemoryTraceStore", "MemoryRollupStore",
        "MemoryUserMemoryStore", "MemoryPromptStore", "MemoryTicketStore",
    ],
    "ragline.store.sqlite": [
        "SQLiteAlertStore", "SQLiteBackend", "SQLiteConversationStore", "SQLiteEvalStore",
        "SQLiteResponseCache", "SQLiteSentenceStore", "SQLiteStore", "SQLiteTraceStore",
        "SQLiteRollupStore",
        "SQLiteUserMemoryStore", "SQLitePromptStore", "SQLiteTicketStore",
    ],
    "ragline.store.postgres": ["LocalPostgres", "PostgresBackend", "create_postgres_role"],
    "ragline.embed": [
        "EMBEDDER_CHOICES", "Embedder", "HashEmbedder", "MiniLMEmbedder", "OpenAIEmbedder",
        "make_embedder", "parse_embedder_spec",
    ],
    "ragline.retrieve": [
        "Boost", "MODES", "Mode", "Retriever", "RoutingPlan", "SearchResult", "apply_boosts",
        "min_max", "mmr_select", "plan_routing", "rrf_fuse", "single_leg", "weighted_fuse",
        "RankedHit", "RoutingExplanation", "RuleMatch", "explain_routing", "match_rules",
    ],
    "ragline.prompts": [
        "DEFAULT_LABEL", "PromptFile", "PromptRegistry", "ResolvedPrompt", "load_file",
        "parse_prompt",
    ],
    "ragline.answer": [
        "ABSTAIN_TEXT", "Answerer", "Ask", "AskOptions", "AskRequest", "Chat", "ChatReply",
        "CitationEvent", "CitationReport", "CitedText", "ConversationEvent", "DeltaEvent",
        "DoneEvent", "Draft", "ErrorEvent", "Event", "ExtractiveAnswerer", "ExtractiveModel",
        "ExtractiveTuning", "FactScorer", "GeneratedAnswer", "GroundedAnswerer", "Pipeline",
        "PromptTemplate",
        "RenderedPrompt", "RetrievalEvent", "SearchOptions", "Segment", "Stage",
        "SupportScorer", "check_question", "format_chunk", "marker_numbers", "segments",
        "split_sentences", "verify_citations",
    ],
    "ragline.models": [
        "AnthropicModel", "CachedModel", "CircuitBreakerModel", "CircuitOpenError",
        "CircuitState", "Completion", "CostTracker", "Delta", "FallbackError", "FallbackModel",
        "FinishReason", "MalformedResponse", "MemoryResponseCache", "Message", "Model",
        "OpenAIModel", "PRICES", "Price", "ProviderTimeout", "ProviderUnavailable",
        "RateLimitError", "RateLimitWaitError", "RateLimitedModel", "RealRequestsBlocked",
        "RequestRejected", "ResponseCache", "RetryingModel", "Role",
        "StreamInterrupted", "StreamStalled", "ToolCall", "ToolSpec", "TrackingModel",
        "UnavailableModel", "Usage", "UsageTotals", "build_model", "cache_key", "cost_usd",
        "make_model", "price_for", "unwrap", "wrap_model",
    ],
    "ragline.evals": [
        "AgentSteps", "AgentSuccess", "AgentTarget", "MemoryRecall", "NoLoop",
        "ToolCallAccuracy", "ToolErrorRecovery", "agent_metrics",
        "AbstentionCorrectness", "AnswerRelevance", "BaseMetric", "CATEGORIES", "Case",
        "CaseEdit", "CaseOutput", "CaseResult", "CasesAdded",
        "CitationPrecision", "CitationRecall", "CitedSentence", "Comparison", "Cost",
        "DiffersFromBad",
        "EvalDocument", "EvalInterrupted", "EvalRunner", "EvalStore", "ExactMatch",
        "Faithfulness", "Gate", "GateResult", "GuardVerdicts", "HitRateAtK", "HttpTarget",
        "JudgePrompt", "LLMJudge", "Latency", "METRICS_BY_CATEGORY", "MRR", "Metric",
        "MetricFailure", "MetricResult", "MetricSkipped", "MustContain", "MustNotCite",
        "MustNotContain", "NDCGAtK",
        "PrecisionAtK", "ProjectTarget", "RecallAtK", "Refusal", "RetrievedContext", "RunInfo",
        "FactSupport", "ScorerSupport", "SemanticSimilarity", "SupportChecker", "support_checker",
        "SupportVerdict", "Target", "TokenF1", "add_case_from_trace", "add_cases_from_feedback",
        "append_cases", "category_metrics", "compare_runs", "default_metrics", "dump_case",
        "edit_case", "evaluate_gates", "list_cases", "load_beir",
        "load_cases", "load_gates", "load_squad", "mcnemar",
        "paired_bootstrap", "report_html", "report_json", "retrieval_metrics", "save_cases",
        "score_case", "summarize", "write_documents",
        "ReplayQuery", "ReplayReport", "ReplayedAsk",
        "JudgeSupport", "NLISupport", "build_support_checker",
    ],
    "ragline.trace": [
        "CONTENT_KEYS", "CONTENT_MODES", "FEEDBACK_KINDS", "NOOP_SPAN", "NOOP_TRACER", "Feedback",
        "NoopSpan", "NoopTracer", "OTLPExporter", "Span",
        "SpanEvent", "SpanProcessor", "SpanRecord", "TraceNotFoundError", "TraceStats",
        "TraceStore", "TraceSummary", "TraceWriter", "Tracer", "activate", "current_span",
        "iterate_in", "redact_pii", "span",
    ],
    "ragline.guards": [
        "ACTIONS", "GUARD_STAGES", "PII_LABELS", "SEVERITY", "Action", "Finding", "Guard",
        "GuardContext", "GuardStage", "InjectionGuard", "PiiGuard", "Scorer", "Verdict", "allow",
        "find_pii", "injection_scan", "redact_pii",
        "UNSAFE_CATEGORIES", "UnsafeRequestGuard", "unsafe_scan",
        "Topic", "TopicGuard",
    ],
    "ragline.rerank": [
        "KINDS", "CrossEncoderReranker", "HttpReranker", "LlmReranker", "Reranker",
        "ScoringReranker", "check_reranker", "make_reranker", "order_by",
        "parse_reranker_spec", "passage",
    ],
    "ragline.monitor": [
        "FILTERS", "METRICS", "OUTCOMES", "Aggregation", "CycleReport", "DeliveryPolicy",
        "Dispatcher", "EmailNotifier", "Evaluator", "FileNotifier", "MetricInfo",
        "MetricQuery", "MetricSource", "MetricValue", "MonitorLoop", "Notification",
        "NotificationState", "Notifier", "NotifierStats", "PagerDutyNotifier", "RuleResult",
        "SlackNotifier", "WebhookNotifier", "build_dispatcher", "build_notifier",
        "MonitoredTraceStore", "RollupRecorder", "RollupSource", "RollupStats",
        "format_duration", "parse_duration",
    ],
    "ragline.testing": [
        "AlertStoreConformance", "FakeMetricSource", "RecordingNotifier",
        "ConversationStoreConformance", "EmbedderConformance", "EvalStoreConformance",
        "FakeModel", "FunctionModel", "GuardConformance", "HashEmbedder", "ModelCall",
        "ModelConformance", "NotifierConformance", "RerankerConformance",
        "ResponseCacheConformance", "sample_notification",
        "SentenceStoreConformance", "ServerProcess",
        "StoreConformance", "TraceStoreConformance", "block_real_requests",
        "real_requests_blocked", "broken_policy", "reference_policy",
        "RollupConformance",
        "UserMemoryStoreConformance", "PromptStoreConformance", "SupportCheckerConformance",
        "FAKE_ORDERS", "lookup_order", "tool_turn", "TicketStoreConformance",
        "RateLimitsConformance",
    ],
    "ragline.agent": [
        "STOP_REASONS", "SYSTEM_PROMPT", "Agent", "AgentDoneEvent", "AgentEvent", "AgentLimits",
        "AgentMemory", "AgentRun", "CitationBook", "ConversationWindow", "Fact", "Handoff",
        "KnowledgeBase", "LongTermMemory", "LoopDetector", "MCPClient", "MCPTool", "MemoryHit",
        "Stop", "StopReason", "Tool", "ToolCallEvent", "ToolResult", "ToolResultEvent",
        "builtin_tools", "calculate", "call_tools", "close_mcp_tools", "conversation_window",
        "mcp_tools", "render_memories", "salient_facts", "tool",
    ],
}  # fmt: skip


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_all_is_pinned_and_importable(module: str) -> None:
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(PUBLIC[module])
    for name in mod.__all__:
        assert getattr(mod, name) is not None, f"{module}.{name}"
