"""``ragline.yaml``: the schema, loading, and the environment-variable registry.

Precedence: CLI flags > environment variables (``RAGLINE_*``) > ``ragline.yaml`` >
defaults. Nested keys in env vars use ``__``: ``RAGLINE_RETRIEVAL__K=8``. Values are
parsed as YAML, so ``RAGLINE_TENANTS__ACME__LANGUAGES='[en]'`` works.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ragline._config_agent import AgentSettings as AgentSettings
from ragline._config_alerts import AlertRule as AlertRule
from ragline._config_alerts import AlertSettings as AlertSettings
from ragline._config_alerts import Condition as Condition
from ragline._config_alerts import check_alert_channels as check_alert_channels
from ragline._config_alerts import configured_channels as configured_channels
from ragline._config_alerts import parse_condition as parse_condition
from ragline._config_base import _OffAsFalse as _OffAsFalse
from ragline._config_base import _Strict as _Strict
from ragline._config_base import _yaml_off as _yaml_off
from ragline._config_experiments import ExperimentsSettings as ExperimentsSettings
from ragline._config_guards import BannedPolicy as BannedPolicy
from ragline._config_guards import BannedTopic as BannedTopic
from ragline._config_guards import CitationPolicy as CitationPolicy
from ragline._config_guards import CustomGuardPolicy as CustomGuardPolicy
from ragline._config_guards import GuardActionName as GuardActionName
from ragline._config_guards import GuardSettings as GuardSettings
from ragline._config_guards import GuardStageName as GuardStageName
from ragline._config_guards import HttpGuardPolicy as HttpGuardPolicy
from ragline._config_guards import InjectionPolicy as InjectionPolicy
from ragline._config_guards import JudgePolicy as JudgePolicy
from ragline._config_guards import LanguagePolicy as LanguagePolicy
from ragline._config_guards import LeakPolicy as LeakPolicy
from ragline._config_guards import LengthPolicy as LengthPolicy
from ragline._config_guards import PiiPolicy as PiiPolicy
from ragline._config_guards import SchemaPolicy as SchemaPolicy
from ragline._config_guards import TenantGuardSettings as TenantGuardSettings
from ragline._config_guards import UnsafeCategoryName as UnsafeCategoryName
from ragline._config_guards import UnsafePolicy as UnsafePolicy
from ragline._config_guards import _GuardPolicy as _GuardPolicy
from ragline._config_guards import check_topic as check_topic
from ragline._config_memory import AgentMCPSettings as AgentMCPSettings
from ragline._config_memory import MCPServerSettings as MCPServerSettings
from ragline._config_memory import MemorySettings as MemorySettings
from ragline._config_monitor import MonitorSettings as MonitorSettings
from ragline._config_monitor import QualitySettings as QualitySettings
from ragline._config_monitor import RetentionSettings as RetentionSettings
from ragline._config_notify import NOTIFIER_SETTINGS as NOTIFIER_SETTINGS
from ragline._config_notify import EmailNotifierSettings as EmailNotifierSettings
from ragline._config_notify import FileNotifierSettings as FileNotifierSettings
from ragline._config_notify import NotifierSettings as NotifierSettings
from ragline._config_notify import PagerDutyNotifierSettings as PagerDutyNotifierSettings
from ragline._config_notify import SlackNotifierSettings as SlackNotifierSettings
from ragline._config_notify import WebhookNotifierSettings as WebhookNotifierSettings
from ragline._config_notify import _NotifierSettings as _NotifierSettings
from ragline._config_support import SupportSettings as SupportSettings
from ragline._config_template import CONFIG_TEMPLATE as CONFIG_TEMPLATE
from ragline._config_ui import UISettings as UISettings
from ragline.errors import ConfigError

CONFIG_FILE = "ragline.yaml"
ENV_PREFIX = "RAGLINE_"


class DocTypeRule(_Strict):
    """Assign ``doc_type`` to files whose path matches a glob (front-matter wins)."""

    match: str = Field(description="glob on the path relative to the project, e.g. 'finance/**'")
    doc_type: str


class MetadataRule(_Strict):
    """``{key: company, regex: '^(\\w+)_', from: path, group: 1}``: a regex extractor.

    The first match of ``regex`` (case-insensitive) in the chosen text sets ``key`` to
    the group's text, unless the document's own metadata already has ``key``.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)
    key: str = Field(min_length=1, description="the metadata key the rule sets")
    regex: str = Field(description="a regular expression, searched case-insensitively")
    source: Literal["title", "first_page", "text", "path"] = Field(
        "first_page",
        alias="from",
        description="where to search: the title, the first page, the whole text, the path",
    )
    group: int = Field(1, ge=0, description="the capture group that holds the value")

    @model_validator(mode="after")
    def _regex_compiles(self) -> MetadataRule:
        try:
            pattern = re.compile(self.regex, re.IGNORECASE)
        except re.error as e:
            raise ValueError(
                f"extractor for {self.key!r}: not a valid regular expression ({e})"
            ) from None
        if self.group > pattern.groups:
            raise ValueError(
                f"extractor for {self.key!r}: group {self.group} does not exist "
                f"(the regex has {pattern.groups} group(s); use 0 for the whole match)"
            )
        return self

    @property
    def compiled(self) -> re.Pattern[str]:
        return _compiled_rule(self.regex)


_RULE_CACHE: dict[str, re.Pattern[str]] = {}


def _compiled_rule(regex: str) -> re.Pattern[str]:
    pattern = _RULE_CACHE.get(regex)
    if pattern is None:
        pattern = _RULE_CACHE[regex] = re.compile(regex, re.IGNORECASE)
    return pattern


class MetadataSettings(_Strict):
    """``ingest.metadata``: document-level metadata found at ingest (see
    ``ragline.ingest._metadata``)."""

    enabled: bool = Field(
        True,
        description="false: no ragline.* document metadata at all (nor its line in the "
        "indexed text); regex extractors still run",
    )
    auto: bool = Field(
        True,
        description="find the organisation, reporting period and document type in the "
        "title and cover page (ragline.org, ragline.period, ragline.doc_type)",
    )
    extract: list[MetadataRule] = Field(
        default_factory=list, description="regex extractors, applied in order"
    )


class IngestSettings(_Strict):
    chunk_size: int = Field(800, ge=100, le=20_000, description="target characters per chunk")
    chunk_overlap: int = Field(120, ge=0, description="characters shared by neighbouring chunks")
    max_file_mb: float = Field(50.0, gt=0, description="files larger than this are refused")
    max_unpacked_mb: float = Field(
        200.0, gt=0, description="refuse .docx files that unpack to more (zip bombs)"
    )
    languages: list[str] = Field(
        default_factory=lambda: ["en", "es", "fr", "de", "it", "pt", "nl"],
        description="ISO 639-1 codes the language detector chooses between",
    )
    doc_types: list[DocTypeRule] = Field(default_factory=list)
    batch_size: int = Field(64, ge=1, le=4096, description="texts per embedding batch")
    pdf_max_elements: int = Field(
        5_000_000,
        ge=10_000,
        description="the most elements one PDF array or dictionary may hold (pypdf's own "
        "default, 100,000, refuses real SEC filings); bounds memory on hostile files",
    )
    pdf_max_parse_work: int = Field(
        50_000_000,
        ge=100_000,
        description="the most tokens pypdf may parse in one page's content stream",
    )
    metadata: MetadataSettings = Field(default_factory=MetadataSettings)
    claim_timeout_s: float = Field(
        900.0,
        gt=0,
        description="a run's claim on a document it is ingesting expires after this long "
        "(sooner when its process is gone on this host); another run then takes it over",
    )

    @model_validator(mode="after")
    def _overlap_below_size(self) -> IngestSettings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("chunk_overlap must be smaller than chunk_size")
        return self


class EmbedSettings(_Strict):
    backend: Literal["auto", "torch", "onnx"] = Field(
        "auto", description="how the bundled MiniLM runs; auto picks the measured-faster one"
    )
    base_url: str | None = Field(None, description="for openai:* embedders")
    api_key_env: str = Field("OPENAI_API_KEY", description="env var holding the API key")
    timeout_s: float = Field(60.0, gt=0)


class RetrievalSettings(_Strict):
    k: int = Field(5, ge=1, le=1000, description="hits returned")
    candidates: int = Field(50, ge=1, le=10_000, description="hits taken from each retriever")
    mode: Literal["hybrid", "keyword", "dense"] = "hybrid"
    fusion: Literal["rrf", "weighted"] = "rrf"
    rrf_k: int = Field(60, ge=1)
    keyword_weight: float = Field(0.5, ge=0, description="weighted fusion only")
    dense_weight: float = Field(0.5, ge=0, description="weighted fusion only")
    mmr: bool = Field(False, description="diversify hits with maximal marginal relevance")
    mmr_lambda: float = Field(0.7, ge=0, le=1, description="1 = relevance only, 0 = diversity only")
    reranker: str = Field(
        "none",
        description="reorders the fused hits: none, http:<URL> (a /rerank API), "
        "cross-encoder:<folder> (ONNX), llm:<model spec>",
    )
    rerank_candidates: int = Field(
        20, ge=1, le=1000, description="fused hits the reranker scores (the rest follow)"
    )
    rerank_timeout_ms: float = Field(
        2000, gt=0, description="an HTTP or LLM reranker slower than this falls back"
    )
    rerank_on_error: Literal["fallback", "fail"] = Field(
        "fallback",
        description="a reranker error: keep the fused order and record why, or fail the ask",
    )
    rerank_model: str | None = Field(
        None, description="http reranker: the model name sent in the request, if it needs one"
    )
    rerank_api_key_env: str | None = Field(
        None, description="http reranker: env var holding a bearer token"
    )
    metadata_match: Literal["boost", "filter", "off"] = Field(
        "boost",
        description="organisations, periods and document types of the tenant's documents "
        "named in the question: boost their hits, filter to them, or ignore them",
    )
    metadata_boost: float = Field(
        2.0, gt=0, description="the factor a matched metadata value multiplies a hit's score by"
    )
    ann_threshold: int = Field(
        20_000,
        ge=0,
        description="SQLite store: a tenant with at least this many chunks searches vectors "
        "through an approximate (HNSW) index kept beside the database file; below it, and "
        "for selective filters, an exact scan (0: always exact)",
    )


class AnswerSettings(_Strict):
    max_sentences: int = Field(3, ge=1, le=20, description="extractive answers")
    min_relevance: float = Field(
        0.37,
        ge=0,
        le=1,
        description="below this best-hit relevance the answer says the knowledge base "
        "does not contain it (calibrated in bench/)",
    )
    template: str = Field(
        "grounded_v2",
        description="LLM answers: a packaged prompt template name, or a file path "
        "(grounded_v2 marks every passage as data; grounded_v1 is the earlier one)",
    )
    token_budget: int = Field(
        3000, ge=200, description="LLM answers: prompt tokens; lowest-ranked chunks are dropped"
    )
    min_support: float = Field(
        0.45,
        ge=0,
        le=1,
        description="LLM answers: a cited chunk must support its sentence this much",
    )
    attribute_min: float = Field(
        0.55, ge=0, le=1, description="LLM answers: support needed to cite an unmarked sentence"
    )
    unsupported: Literal["mark", "drop"] = Field(
        "mark",
        description="LLM answers: a sentence below min_support is marked supported=false in "
        "every interface (mark) or left out of the answer (drop)",
    )
    precompute_sentences: bool = Field(
        True,
        description="extractive answers: embed every chunk's sentences at ingest and keep "
        "them in the store, so a new question embeds only itself (slower ingest)",
    )


class ChatSettings(_Strict):
    """How a conversation's follow-up messages are asked (chat, /v1/chat, OpenAI API)."""

    rewrite: Literal["auto", "rule", "llm", "off"] = Field(
        "auto",
        description="rewrite a follow-up that cannot stand alone: rule (offline), llm (a "
        "model writes the standalone question; the rule on error), off (as typed); auto: "
        "llm when rewrite_model is set or the answer model is a remote LLM, else rule",
    )
    rewrite_model: str | None = Field(
        None, description="the model spec for llm rewrites (default: the answer model)"
    )
    rewrite_timeout_ms: float = Field(
        3000, gt=0, description="an llm rewrite slower than this falls back to the rule"
    )


class ModelSettings(_Strict):
    """Per-model options, keyed by model spec in ``models:`` (e.g. ``openai:gpt-4o-mini``)."""

    base_url: str | None = Field(
        None, description="OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1"
    )
    api_key_env: str | None = Field(
        None, description="env var holding the key (default OPENAI_API_KEY / ANTHROPIC_API_KEY)"
    )
    connect_timeout_s: float = Field(5.0, gt=0)
    read_timeout_s: float = Field(60.0, gt=0, description="also the idle timeout of a stream")
    max_retries: int = Field(3, ge=0, le=20, description="on 429, 5xx and timeouts")
    backoff_initial_s: float = Field(0.5, ge=0)
    backoff_max_s: float = Field(20.0, ge=0)
    circuit_failures: int = Field(5, ge=1, description="consecutive failures that open the circuit")
    circuit_reset_s: float = Field(30.0, gt=0, description="wait before a half-open probe")
    requests_per_minute: int | None = Field(None, ge=1)
    tokens_per_minute: int | None = Field(None, ge=1)
    cache_ttl_s: float = Field(0.0, ge=0, description="response cache lifetime; 0 = no cache")
    price_input_per_mtok: float | None = Field(None, ge=0, description="USD per 1M input tokens")
    price_output_per_mtok: float | None = Field(None, ge=0, description="USD per 1M output tokens")
    max_tokens: int = Field(512, ge=1)
    temperature: float = Field(0.0, ge=0, le=2)
    context_window: int | None = Field(None, ge=256)
    model_path: str | None = Field(
        None, description="local: a GGUF file instead of the bundled one"
    )
    threads: int | None = Field(None, ge=1, description="local: CPU threads")


class TracingSettings(_Strict):
    """Tracing (``ragline.trace``): spans of every ingest and ask, stored in the background."""

    enabled: bool = Field(True, description="record a trace of every ingest and ask")
    content: Annotated[Literal["full", "redact", "off"], _OffAsFalse] = Field(
        "full",
        description="prompt/document/answer text in traces: full, redact (mask PII) or off",
    )
    queue_size: int = Field(
        10_000, ge=1, description="spans waiting to be written; more are dropped and counted"
    )
    batch_size: int = Field(256, ge=1, description="spans written per transaction")
    flush_interval_s: float = Field(0.5, gt=0, description="the writer wakes at least this often")
    flush_timeout_s: float = Field(
        5.0, ge=0, description="how long closing (and exiting) waits for queued spans"
    )
    write_timeout_ms: int = Field(
        500, ge=0, description="how long a batch waits for a locked database before it is dropped"
    )
    max_attribute_chars: int = Field(
        8000, ge=100, description="longer text attributes are cut, with a marker"
    )
    otlp_endpoint: str | None = Field(
        None, description="also send spans over OTLP/HTTP, e.g. http://127.0.0.1:4318/v1/traces"
    )
    otlp_headers_env: str | None = Field(
        None, description="env var holding OTLP headers, 'key=value,key2=value2'"
    )
    otlp_timeout_s: float = Field(
        5.0, gt=0, description="how long one OTLP export may take (it never blocks requests)"
    )


class EvalSettings(_Strict):
    """Evaluation (``ragline.evals``). Owned by the evaluation work: extend here."""

    gates: list[str] = Field(
        default_factory=list,
        description="release gates, e.g. 'factual_accuracy.token_f1 >= 0.6'",
    )
    concurrency: int = Field(1, ge=1, le=64, description="cases evaluated in parallel")
    judge: str | None = Field(
        None, description="model spec of the LLM judge for citation support (none: lexical)"
    )
    store: str | None = Field(
        None,
        description="sqlite:///file.db or postgresql://… for eval runs "
        "(default: the project's store)",
    )


class ServerSettings(_Strict):
    """``ragline serve``: the HTTP API, its keys and its limits."""

    host: str = Field("127.0.0.1", description="interface to listen on (0.0.0.0: all)")
    port: int = Field(8000, ge=0, le=65535)
    auth: Annotated[Literal["auto", "required", "off"], _OffAsFalse] = Field(
        "auto",
        description="auto: API keys are required once any are configured; "
        "off: every request is the default tenant (local use only)",
    )
    keys_file: str | None = Field(
        None,
        description="YAML file of hashed API keys per tenant (ragline keys create writes it)",
    )
    keys_reload_s: float = Field(
        2.0,
        ge=0,
        description="how often the server looks for changes to the keys file "
        "(created, revoked, rotated keys take effect without a restart)",
    )
    metrics_allow: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"],
        description="client addresses or networks (CIDR) that may read /metrics without "
        "a key; others need a key with the metrics or admin scope",
    )
    metrics_tenant_labels: bool = Field(
        True, description="label /metrics series with tenant names (false: one total)"
    )
    docs: Annotated[Literal["off", "auth", "public"], _OffAsFalse] = Field(
        "auth",
        description="/docs, /redoc and /openapi.json: off, for any valid key (auth), "
        "or open to all (public)",
    )
    max_body_bytes: int = Field(
        25 * 1024 * 1024, ge=1024, description="largest request body (uploads included)"
    )
    max_question_chars: int = Field(4000, ge=1, description="longest question accepted")
    max_k: int = Field(100, ge=1, le=1000, description="largest k a request may ask for")
    request_timeout_s: float = Field(
        30.0, gt=0, description="an ask (or a stream) running longer is ended with 504"
    )
    max_concurrency: int = Field(
        16, ge=1, description="requests doing work at once (asks, searches, uploads)"
    )
    max_queue: int = Field(
        64, ge=0, description="requests waiting for a slot; more are shed with 503"
    )
    rate_limit_per_minute: int | None = Field(
        None, ge=1, description="requests per tenant per minute (429 beyond); none: no limit"
    )
    workers: int = Field(
        1, ge=1, le=64, description="server processes (each with its own models and limits)"
    )
    shutdown_grace_s: float = Field(
        10.0, ge=0, description="on SIGTERM, how long in-flight requests may finish"
    )
    drain_s: float = Field(
        0.0,
        ge=0,
        description="on SIGTERM, how long /readyz answers 503 'draining' while requests are "
        "still served (time for a load balancer to move traffic away), before the listener "
        "closes and shutdown_grace_s begins",
    )
    instance: str | None = Field(
        None,
        description="this replica's name on /metrics: an instance label on every series "
        "(env RAGLINE_INSTANCE wins); unset: ragline_instance_info says hostname:port",
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="browser origins allowed to call the API"
    )

    @field_validator("metrics_allow")
    @classmethod
    def _networks(cls, v: list[str]) -> list[str]:
        import ipaddress

        for item in v:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"{item!r} is not an address or network (e.g. 10.0.0.0/8, ::1)"
                ) from None
        return v


class RoutingWhen(_Strict):
    query_matches: str = Field(description="regular expression searched in the query")

    @field_validator("query_matches")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as e:
            raise ValueError(f"not a valid regular expression: {e}") from None
        return v


class RoutingBoost(BaseModel):
    """``{doc_type: finance, factor: 1.5}``: multiply matching hits' scores."""

    model_config = ConfigDict(extra="allow")
    factor: float = Field(1.5, gt=0)

    @model_validator(mode="after")
    def _one_field(self) -> RoutingBoost:
        if not self.fields():
            raise ValueError("name the metadata to boost, e.g. {doc_type: finance, factor: 1.5}")
        return self

    def fields(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class RoutingRule(_Strict):
    name: str
    when: RoutingWhen
    boost: RoutingBoost | None = None
    filter: dict[str, Any] | None = Field(None, description="metadata the hits must have")

    @model_validator(mode="after")
    def _has_action(self) -> RoutingRule:
        if self.boost is None and not self.filter:
            raise ValueError("a routing rule needs a 'boost' or a 'filter'")
        return self


class TenantSettings(_Strict):
    languages: list[str] | None = Field(
        None, description="only retrieve chunks in these languages (e.g. [en])"
    )
    language_scope: Literal["document", "chunk"] = Field(
        "document",
        description="`languages` checks the chunk, its document and mixed text (document) "
        "or only the chunk's own language (chunk)",
    )
    api_keys_env: str | None = Field(
        None, description="env var holding this tenant's API keys (comma-separated)"
    )
    trace_content: Annotated[Literal["full", "redact", "off"] | None, _OffAsFalse] = Field(
        None, description="this tenant's text in traces (default: tracing.content)"
    )
    model: str | list[str] | None = Field(
        None, description="this tenant's answer model or fallback chain (default: model)"
    )
    template: str | None = Field(
        None, description="this tenant's prompt template / version (default: answer.template)"
    )
    k: int | None = Field(None, ge=1, le=1000, description="hits per answer (retrieval.k)")
    reranker: str | None = Field(
        None, description="this tenant's reranker spec (default: retrieval.reranker)"
    )
    routing: list[RoutingRule] | None = Field(
        None, description="this tenant's routing rules (replace the global ones)"
    )
    rate_limit_per_minute: int | None = Field(
        None, ge=1, description="requests per minute (default: server.rate_limit_per_minute)"
    )
    guards: TenantGuardSettings | None = Field(
        None, description="this tenant's guard policies (each replaces the global one)"
    )


class Settings(_Strict):
    store: str = Field(
        "sqlite:///ragline.db", description="sqlite:///f.db, postgresql://user@host/db, memory://"
    )
    embedder: str = Field("minilm", description="minilm (bundled), hash, or openai:<model>")
    model: str | list[str] = Field(
        "extractive", description="the answer model, or a fallback chain [first, second, …]"
    )
    models: dict[str, ModelSettings] = Field(default_factory=dict)
    default_tenant: str = "default"
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    embedding: EmbedSettings = Field(default_factory=EmbedSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    chat: ChatSettings = Field(default_factory=ChatSettings)
    tenants: dict[str, TenantSettings] = Field(default_factory=dict)
    routing: list[RoutingRule] = Field(default_factory=list)
    tracing: TracingSettings = Field(default_factory=TracingSettings)
    evals: EvalSettings = Field(default_factory=EvalSettings)
    support: SupportSettings = Field(default_factory=SupportSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    guards: GuardSettings = Field(default_factory=GuardSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    monitor: MonitorSettings = Field(default_factory=MonitorSettings)
    memory: MemorySettings = Field(default_factory=MemorySettings)
    experiments: ExperimentsSettings = Field(default_factory=ExperimentsSettings)
    agent: AgentSettings = Field(default_factory=AgentSettings)
    ui: UISettings = Field(default_factory=UISettings)

    @model_validator(mode="after")
    def _alert_channels_exist(self) -> Settings:
        check_alert_channels(self.alerts, configured_channels(self))
        return self

    def tenant(self, name: str) -> TenantSettings:
        return self.tenants.get(name) or TenantSettings()

    def model_settings(self, spec: str) -> ModelSettings:
        return self.models.get(spec) or ModelSettings()

    def for_tenant(self, name: str) -> Settings:
        """These settings with the tenant's overrides applied (self if it has none)."""
        t = self.tenants.get(name)
        if t is None:
            return self
        update: dict[str, Any] = {}
        if t.model is not None:
            update["model"] = t.model
        if t.template is not None:
            update["answer"] = self.answer.model_copy(update={"template": t.template})
        if t.k is not None:
            update["retrieval"] = self.retrieval.model_copy(update={"k": t.k})
        if t.reranker is not None:
            retrieval = update.get("retrieval", self.retrieval)
            update["retrieval"] = retrieval.model_copy(update={"reranker": t.reranker})
        if t.routing is not None:
            update["routing"] = t.routing
        if t.guards is not None:
            replaced = {k: v for k, v in t.guards if v is not None}
            if t.guards.banned is not None:  # inherit: the global lists, then the tenant's
                replaced["banned"] = t.guards.banned.over(self.guards.banned)
            if replaced:
                update["guards"] = self.guards.model_copy(update=replaced)
        return self.model_copy(update=update) if update else self


# --------------------------------------------------------------------------- loading


def _set_path(data: dict[str, Any], path: list[str], value: Any) -> None:
    node = data
    for key in path[:-1]:
        nxt = node.get(key)
        if not isinstance(nxt, dict):
            nxt = {}
            node[key] = nxt
        node = nxt
    node[path[-1]] = value


def env_overrides(environ: Mapping[str, str]) -> dict[str, tuple[list[str], Any]]:
    """``RAGLINE_A__B=v`` → ``{"RAGLINE_A__B": (["a", "b"], parsed v)}``.

    Only names that start with a top-level settings key are taken (so
    ``RAGLINE_HOME`` and other process variables are ignored).
    """
    import yaml

    top = set(Settings.model_fields)
    out: dict[str, tuple[list[str], Any]] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        path = [p.lower() for p in name[len(ENV_PREFIX) :].split("__") if p]
        if not path or path[0] not in top:
            continue
        try:
            value = yaml.safe_load(raw) if raw.strip() else raw
        except yaml.YAMLError:
            value = raw
        out[name] = (path, value)
    return out


def _format_loc(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def load_settings(
    project_dir: str | os.PathLike[str] = ".",
    *,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config_file: str | os.PathLike[str] | None = None,
) -> Settings:
    """Load settings for a project; raise :class:`ConfigError` naming key and source.

    ``overrides`` maps dotted keys (``"retrieval.k"``) to values, from CLI flags.
    """
    import yaml

    environ = os.environ if environ is None else environ
    path = Path(config_file) if config_file else Path(project_dir) / CONFIG_FILE
    data: dict[str, Any] = {}
    sources: dict[tuple[str, ...], str] = {}
    if path.exists():
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            raise ConfigError(
                f"{path}{where}: not valid YAML ({getattr(e, 'problem', e)})",
                hint="fix the syntax, or run `ragline init --force` for a fresh file",
            ) from None
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: not valid UTF-8", hint="save it as UTF-8") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of keys to values")
        data = loaded
    for name, (keys, value) in env_overrides(environ).items():
        _set_path(data, keys, value)
        sources[tuple(keys)] = f"environment variable {name}"
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        keys = dotted.split(".")
        _set_path(data, keys, value)
        sources[tuple(keys)] = f"command-line option for {dotted}"
    try:
        return Settings.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = tuple(str(x) for x in err["loc"])
        source = str(path)
        for n in range(len(loc), 0, -1):
            if loc[:n] in sources:
                source = sources[loc[:n]]
                break
        key = _format_loc(err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
            known = _known_keys(err["loc"][:-1])
            hint = f"known keys here: {', '.join(known)}" if known else None
        else:
            got = err.get("input")
            if not isinstance(got, (dict, list)):
                msg = f"{msg} (got {got!r})"
            hint = None
        more = f" (and {len(e.errors()) - 1} more problem(s))" if len(e.errors()) > 1 else ""
        raise ConfigError(f"{source}: {key}: {msg}{more}", hint=hint) from None


def _known_keys(loc: tuple[int | str, ...]) -> list[str]:
    model: type[BaseModel] | None = Settings
    for item in loc:
        if model is None or isinstance(item, int):
            continue
        field = model.model_fields.get(str(item))
        if field is None and issubclass(model, _NotifierSettings):
            model = NOTIFIER_SETTINGS.get(str(item), model)  # monitor.notifiers.NAME.TYPE
            continue
        if field is None:
            # dict values (tenants.<name>) keep the same model one level down
            if model is Settings:
                return []
            continue
        ann = field.annotation
        model = _model_in(ann)
        if model is None and str(item) == "tenants":
            model = TenantSettings
        elif model is None and str(item) == "routing":
            model = RoutingRule
    return sorted(model.model_fields) if model is not None else []


def _model_in(ann: Any) -> type[BaseModel] | None:
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for arg in getattr(ann, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None


# --------------------------------------------------------------------------- init


def write_config(
    project_dir: str | os.PathLike[str] = ".",
    *,
    force: bool = False,
    values: Mapping[str, str | None] | None = None,
) -> Path:
    """Write the commented template; ``values`` replace top-level ``key: value`` lines
    (``ragline --store postgresql://… init`` writes that store)."""
    path = Path(project_dir) / CONFIG_FILE
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists", hint="pass --force to overwrite it")
    text = CONFIG_TEMPLATE
    for key, value in (values or {}).items():
        if value is not None:
            line = f"{key}: {value}".replace("\\", "\\\\")  # a literal replacement
            text = re.sub(rf"^{re.escape(key)}: .*$", line, text, count=1, flags=re.M)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
