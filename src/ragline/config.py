"""``ragline.yaml``: the schema, loading, and the environment-variable registry.

Precedence: CLI flags > environment variables (``RAGLINE_*``) > ``ragline.yaml`` >
defaults. Nested keys in env vars use ``__``: ``RAGLINE_RETRIEVAL__K=8``. Values are
parsed as YAML, so ``RAGLINE_TENANTS__ACME__LANGUAGES='[en]'`` works.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ragline.errors import ConfigError

CONFIG_FILE = "ragline.yaml"
ENV_PREFIX = "RAGLINE_"


def _yaml_off(v: Any) -> Any:
    """YAML reads an unquoted ``off`` as false: take it as the choice ``"off"``."""
    return "off" if v is False else v


_OffAsFalse = BeforeValidator(_yaml_off)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DocTypeRule(_Strict):
    """Assign ``doc_type`` to files whose path matches a glob (front-matter wins)."""

    match: str = Field(description="glob on the path relative to the project, e.g. 'finance/**'")
    doc_type: str


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


GuardActionName = Literal["flag", "redact", "block"]
GuardStageName = Literal["input", "retrieval", "output"]


class _GuardPolicy(_Strict):
    enabled: bool = Field(True, description="false turns this guard off")
    on_error: Literal["block", "allow"] = Field(
        "block", description="a guard that raises: block the text (default) or let it through"
    )
    timeout_ms: int = Field(
        2000,
        ge=1,
        le=600_000,
        description="time budget per check; past it the call is abandoned and on_error "
        "decides (reason guard.timeout)",
    )


class InjectionPolicy(_GuardPolicy):
    action: GuardActionName = Field("block", description="what a detection does")
    threshold: float = Field(0.5, gt=0, le=1, description="score (0-1) at which it triggers")
    classifier: bool = Field(
        False,
        description="also score questions with the bundled classifier (MiniLM embeddings; "
        "~6 ms per question; needs the minilm embedder)",
    )
    classifier_fpr: float = Field(
        0.01,
        ge=0.01,
        le=0.05,
        description="the classifier's calibrated false-positive rate that `threshold` "
        "0.5 stands for (0.01 or 0.05)",
    )
    stages: list[GuardStageName] = Field(
        default_factory=lambda: list[GuardStageName](["input", "retrieval"]),
        description="where it checks: input (the question) and retrieval (each retrieved "
        "chunk, scored at ingest; a block drops the chunk)",
    )
    documents: Literal["drop", "quote", "flag"] | None = Field(
        None,
        description="what the retrieval stage does with a retrieved chunk scored at or "
        "above threshold: drop it (the default; with action: flag, flag), quote it (kept, "
        "shown to the answerer as untrusted quoted data, its instructions never quoted) "
        "or flag it (kept, recorded only)",
    )

    @property
    def document_action(self) -> Literal["drop", "quote", "flag"]:
        """``documents``, or what ``action`` implies when it is not set."""
        if self.documents is not None:
            return self.documents
        return "flag" if self.action == "flag" else "drop"


class PiiPolicy(_GuardPolicy):
    action: GuardActionName = Field("redact", description="what a detection does")
    threshold: float = Field(0.5, gt=0, le=1, description="unused: a checksum passes or not")
    stages: list[GuardStageName] = Field(
        default_factory=lambda: list[GuardStageName](["output"]),
        description="where it checks (output, input)",
    )
    labels: list[str] | None = Field(
        None, description="only these kinds (email, phone, card, iban, ip, ssn, nino, dni, nie)"
    )


UnsafeCategoryName = Literal[
    "privacy", "weapons", "poison", "theft", "cyber", "self_harm", "harm", "drugs", "crime"
]


class UnsafePolicy(_GuardPolicy):
    """Unsafe requests: a private person's data, or clear harm (on the question only)."""

    action: Literal["flag", "block"] = Field("block", description="what a detection does")
    categories: list[UnsafeCategoryName] | None = Field(
        None,
        description="only these (privacy, weapons, poison, theft, cyber, self_harm, harm, "
        "drugs, crime); default: all",
    )


def check_topic(
    name: str,
    terms: Sequence[str] = (),
    patterns: Sequence[str] = (),
    examples: Sequence[str] = (),
) -> None:
    """A ValueError naming what is wrong with a banned topic: no name, nothing to match,
    an empty term, pattern or example, an invalid regular expression or one that
    matches the empty text. (Here, not in ``ragline.guards``: config imports no part.)"""
    if not name.strip():
        raise ValueError("a banned topic needs a name")
    if not terms and not patterns and not examples:
        raise ValueError(f"banned topic {name!r} has no terms or patterns")
    if any(not t.strip() for t in terms):
        raise ValueError(f"banned topic {name!r}: a banned term is empty")
    if any(not e.strip() for e in examples):
        raise ValueError(f"banned topic {name!r} has an empty example")
    for p in patterns:
        if not p.strip():
            raise ValueError(f"banned topic {name!r} has an empty pattern")
        try:
            compiled = re.compile(p)
        except re.error as e:
            raise ValueError(
                f"banned topic {name!r}: pattern {p!r} is not a valid regular expression ({e})"
            ) from None
        if compiled.fullmatch(""):
            raise ValueError(f"banned topic {name!r}: pattern {p!r} matches the empty text")


class BannedTopic(_Strict):
    """One banned topic: a name (reason code ``topic.<name>``) and what marks it."""

    name: str = Field(
        ..., pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="reason code topic.<name>"
    )
    terms: list[str] = Field(
        default_factory=list,
        description="words or phrases (whole words; any case, any accents)",
    )
    patterns: list[str] = Field(
        default_factory=list,
        description="regular expressions (case-insensitive, on accent-folded text)",
    )
    examples: list[str] = Field(
        default_factory=list,
        description="phrases matched by MiniLM similarity (needs guards.banned.similarity)",
    )

    @model_validator(mode="after")
    def _matches_something(self) -> BannedTopic:
        check_topic(self.name, self.terms, self.patterns, self.examples)
        return self


class BannedPolicy(_GuardPolicy):
    """Banned topics and terms: questions refused, answers refused or cut."""

    action: GuardActionName = Field(
        "block", description="block | flag | redact (the matched words become [removed])"
    )
    stages: list[GuardStageName] = Field(
        default_factory=lambda: list[GuardStageName](["input", "output"]),
        description="where it checks: input (the question), output (the answer), "
        "retrieval (each chunk; a block drops it)",
    )
    terms: list[str] = Field(
        default_factory=list, description="banned words or phrases (reason topic.banned_terms)"
    )
    patterns: list[str] = Field(
        default_factory=list, description="banned regular expressions (topic.banned_terms)"
    )
    topics: list[BannedTopic] = Field(default_factory=list, description="named banned topics")
    similarity: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="also refuse questions this similar (cosine, 0-1) to a topic's "
        "examples; needs the minilm embedder; ~5 ms per question (default: off, lexical)",
    )
    inherit: bool = Field(
        False,
        description="in a tenant: keep the global terms, patterns and topics and add "
        "these (default: this tenant's lists replace the global ones)",
    )

    @model_validator(mode="after")
    def _valid(self) -> BannedPolicy:
        if self.terms or self.patterns:
            check_topic("banned_terms", self.terms, self.patterns)
        names = [t.name for t in self.topics]
        dupes = sorted({n for n in names if names.count(n) > 1 or n == "banned_terms"})
        if dupes:
            raise ValueError(f"topic names must be unique (and not banned_terms): {dupes}")
        with_examples = [t.name for t in self.topics if t.examples]
        if with_examples and self.similarity is None:
            raise ValueError(
                f"topics {with_examples} have examples, which are matched by similarity: "
                "set guards.banned.similarity (e.g. 0.6) or remove the examples"
            )
        return self

    def over(self, base: BannedPolicy) -> BannedPolicy:
        """This (a tenant's) policy with ``base``'s lists first, when it inherits."""
        if not self.inherit:
            return self
        mine = {t.name for t in self.topics}
        return self.model_copy(
            update={
                "terms": [*base.terms, *self.terms],
                "patterns": [*base.patterns, *self.patterns],
                "topics": [*(t for t in base.topics if t.name not in mine), *self.topics],
                "similarity": base.similarity if self.similarity is None else self.similarity,
            }
        )


_GUARD_NAME = r"^[a-z][a-z0-9_-]{0,39}$"
_BUILTIN_GUARDS = frozenset(
    {
        "injection",
        "pii",
        "unsafe",
        "banned",
        "judge",
        "leak",
        "length",
        "language",
        "citation",
        "schema",
    }
)


class HttpGuardPolicy(_GuardPolicy):
    """An external classifier: POST ``{"text", "stage", "tenant"}`` to ``url``, read
    ``{"score": 0-1, "label"?, "reasons"?}``; a score at ``threshold`` or above triggers."""

    name: str = Field(
        ..., pattern=_GUARD_NAME, description="the guard's name in verdicts and metrics"
    )
    url: str = Field(..., pattern=r"^https?://", description="where to POST each text")
    action: Literal["flag", "block"] = Field("block", description="what a detection does")
    threshold: float = Field(0.5, gt=0, le=1, description="score (0-1) at which it triggers")
    stages: list[GuardStageName] = Field(
        default_factory=lambda: list[GuardStageName](["input"]),
        description="where it checks: input, retrieval (each retrieved chunk), output",
    )
    timeout_ms: int = Field(
        3000, ge=1, le=600_000, description="time budget per call (also the HTTP timeout)"
    )
    headers_env: dict[str, str] = Field(
        default_factory=dict,
        description="request headers, each read from the env var named here "
        "(e.g. {Authorization: CLASSIFIER_AUTH}); never the value itself",
    )
    max_chars: int = Field(
        20_000,
        ge=100,
        description="a longer text is sent as its first and last max_chars/2 characters",
    )

    @field_validator("headers_env")
    @classmethod
    def _env_names(cls, v: dict[str, str]) -> dict[str, str]:
        for header, var in v.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", var):
                raise ValueError(
                    f"header {header!r}: {var!r} is not an environment variable name "
                    "(put the secret in an env var and name the variable here)"
                )
        return v


def _unique_guard_names(policies: list[HttpGuardPolicy] | None) -> None:
    names = [p.name for p in policies or []]
    for name in names:
        if name in _BUILTIN_GUARDS:
            raise ValueError(f"guard name {name!r} is taken by a built-in guard")
        if names.count(name) > 1:
            raise ValueError(f"two guards are named {name!r}: give each its own name")


class JudgePolicy(_GuardPolicy):
    """A language model judges each text with a Llama-Guard-style prompt."""

    model: str = Field(
        ...,
        min_length=1,
        description="the judge's model spec (e.g. openai:llama-guard-3-8b with "
        "models.<spec>.base_url); models.<spec>.cache_ttl_s caches its verdicts",
    )
    action: Literal["flag", "block"] = Field("block", description="what 'unsafe' does")
    stages: list[GuardStageName] = Field(
        default_factory=lambda: list[GuardStageName](["input"]),
        description="where it judges: input, retrieval (each chunk: a call each), output",
    )
    timeout_ms: int = Field(
        5000, ge=1, le=600_000, description="time budget per call (caps the model's timeouts)"
    )
    prompt: str | None = Field(
        None,
        description="replaces the Llama Guard prompt: {conversation} (required), {role}, "
        "{categories}",
    )
    max_chars: int = Field(
        8000, ge=100, description="a longer text is judged on its first and last halves"
    )

    @field_validator("model")
    @classmethod
    def _a_model(cls, v: str) -> str:
        if v.strip() == "extractive":
            raise ValueError("the extractive answerer cannot judge: name a language model")
        return v

    @field_validator("prompt")
    @classmethod
    def _has_slot(cls, v: str | None) -> str | None:
        if v is not None and "{conversation}" not in v:
            raise ValueError("the prompt needs {conversation}, where the judged text goes")
        return v


class CustomGuardPolicy(_GuardPolicy):
    """A guard of your own: a class (or factory) implementing ``ragline.guards.Guard``."""

    guard: str = Field(
        ...,
        pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$",
        description="package.module:ClassName, importable (installed or on PYTHONPATH)",
    )
    options: dict[str, Any] = Field(
        default_factory=dict, description="keyword arguments it is built with"
    )


class LeakPolicy(_GuardPolicy):
    action: GuardActionName = Field("block", description="what a detection does")
    canary: str | None = Field(
        None,
        min_length=12,
        description="the canary in the system prompt (default: made once per project "
        "in .ragline/canary)",
    )
    min_words: int = Field(
        10, ge=4, le=100, description="consecutive words of the system prompt that are a leak"
    )
    stages: list[GuardStageName] = Field(
        default_factory=lambda: list[GuardStageName](["output"]),
        description="where it checks (output)",
    )


class LengthPolicy(_GuardPolicy):
    enabled: bool = Field(False, description="true turns the length limit on")
    action: GuardActionName = Field(
        "redact", description="redact: cut at the last sentence that fits; block; flag"
    )
    max_chars: int = Field(4000, ge=50, description="longest answer, in characters")


class LanguagePolicy(_GuardPolicy):
    action: Literal["flag", "block"] = Field(
        "flag", description="an answer not in the tenant's languages: flag or block"
    )
    on_error: Literal["block", "allow"] = Field(
        "allow",
        description="a check that raises or times out: allow (default: a quality check, "
        "not a safety one) or block",
    )
    min_letters: int = Field(
        60, ge=20, description="shorter answers are not judged (too short to tell)"
    )


class CitationPolicy(_GuardPolicy):
    enabled: bool = Field(False, description="true requires every answer sentence be cited")
    action: GuardActionName = Field(
        "flag", description="redact: drop uncited sentences; block; flag"
    )


class SchemaPolicy(_GuardPolicy):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)

    action: Literal["flag", "block"] = Field(
        "block", description="an answer that is not JSON valid under the schema"
    )
    path: str | None = Field(
        None,
        alias="schema",
        description="JSON schema file every answer must be valid under (relative to the "
        "project folder); unset: answers are not JSON-checked",
    )


class GuardSettings(_Strict):
    """The guard policy; absent, the safe default: injection and unsafe requests
    blocked, PII redacted, system-prompt leaks blocked."""

    # populate_by_name: ``schema`` is the field ``schema_`` (a dump by name loads back)
    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)

    injection: InjectionPolicy = Field(default_factory=InjectionPolicy)
    pii: PiiPolicy = Field(default_factory=PiiPolicy)
    unsafe: UnsafePolicy = Field(default_factory=UnsafePolicy)
    banned: BannedPolicy = Field(default_factory=BannedPolicy)
    http: list[HttpGuardPolicy] = Field(
        default_factory=list, description="external classifiers, each POSTed every text"
    )
    judge: JudgePolicy | None = Field(
        None, description="a language model that judges texts (Llama-Guard style)"
    )
    custom: list[CustomGuardPolicy] = Field(
        default_factory=list, description="your own Guard classes, checked at start-up"
    )

    @model_validator(mode="after")
    def _names(self) -> GuardSettings:
        _unique_guard_names(self.http)
        return self

    leak: LeakPolicy = Field(default_factory=LeakPolicy)
    length: LengthPolicy = Field(default_factory=LengthPolicy)
    language: LanguagePolicy = Field(default_factory=LanguagePolicy)
    citation: CitationPolicy = Field(default_factory=CitationPolicy)
    schema_: SchemaPolicy = Field(default_factory=SchemaPolicy, alias="schema")


class TenantGuardSettings(_Strict):
    """A tenant's guards: each one given replaces the global policy of that guard."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)

    injection: InjectionPolicy | None = None
    pii: PiiPolicy | None = None
    unsafe: UnsafePolicy | None = None
    banned: BannedPolicy | None = None
    http: list[HttpGuardPolicy] | None = None
    judge: JudgePolicy | None = None
    custom: list[CustomGuardPolicy] | None = None

    @model_validator(mode="after")
    def _names(self) -> TenantGuardSettings:
        _unique_guard_names(self.http)
        return self

    leak: LeakPolicy | None = None
    length: LengthPolicy | None = None
    language: LanguagePolicy | None = None
    citation: CitationPolicy | None = None
    schema_: SchemaPolicy | None = Field(None, alias="schema")


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
    tenants: dict[str, TenantSettings] = Field(default_factory=dict)
    routing: list[RoutingRule] = Field(default_factory=list)
    tracing: TracingSettings = Field(default_factory=TracingSettings)
    evals: EvalSettings = Field(default_factory=EvalSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    guards: GuardSettings = Field(default_factory=GuardSettings)

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

CONFIG_TEMPLATE = """\
# ragline.yaml — project configuration.
# Precedence: command-line flags > RAGLINE_* environment variables > this file.
# Nested keys in env vars use "__", e.g. RAGLINE_RETRIEVAL__K=8.
# Secrets are never written here: name the environment variable that holds them.

# Where documents, chunks, vectors and traces live:
#   sqlite:///ragline.db (default; a path relative to this folder), memory://, or
#   postgresql://user:password@host:5432/database (PostgreSQL + pgvector; needs
#   pip install 'ragline[postgres]'; connect as an ordinary role, not a superuser).
# A local PostgreSQL for this project: ragline postgres start, then put the URL that
# ragline postgres url prints here. ragline store copy SRC DST moves the data over.
store: sqlite:///ragline.db

# Embedding model: minilm (bundled all-MiniLM-L6-v2, offline), hash (tests only),
# or openai:<model> for any OpenAI-compatible /v1/embeddings server.
embedder: minilm

# Answer model: extractive picks cited sentences from the retrieved chunks (offline);
# openai:<model> (any OpenAI-compatible server: OpenAI, vLLM, Ollama, llama.cpp server)
# or anthropic:<model> write an answer whose citations are then checked.
# A list is a fallback chain: [openai:gpt-4o-mini, anthropic:claude-3-5-haiku-latest]
model: extractive

# Per-model options, keyed by model spec.
models: {}
#  openai:gpt-4o-mini:
#    base_url: https://api.openai.com/v1   # or http://127.0.0.1:8080/v1 for a local server
#    api_key_env: OPENAI_API_KEY           # the variable's NAME; the key never goes here
#    connect_timeout_s: 5
#    read_timeout_s: 60                    # also the idle timeout of a stream
#    max_retries: 3                        # on 429 (honouring Retry-After), 5xx, timeouts
#    circuit_failures: 5                   # open the circuit after 5 failed calls…
#    circuit_reset_s: 30                   # …and probe again after 30 s
#    requests_per_minute: 500
#    tokens_per_minute: 200000
#    cache_ttl_s: 0                        # > 0 caches identical requests in the store
#    price_input_per_mtok: 0.15            # USD per million tokens, overrides the table
#    price_output_per_mtok: 0.60
#    max_tokens: 512
#    temperature: 0

# Tenant used by the CLI when --tenant is not given.
default_tenant: default

ingest:
  chunk_size: 800          # target characters per chunk (split on headings first)
  chunk_overlap: 120       # characters shared by neighbouring chunks
  max_file_mb: 50          # larger files are refused with a clear error
  max_unpacked_mb: 200     # .docx files that unpack to more are refused (zip bombs)
  pdf_max_elements: 5000000  # elements per PDF array/dictionary (pypdf's 100k refuses real filings)
  languages: [en, es, fr, de, it, pt, nl]   # languages the detector chooses between
  claim_timeout_s: 900     # a crashed run's claim on a document expires (same host: at once)
  # doc_type from the path (front-matter `doc_type:` wins):
  doc_types: []
  #  - {match: "finance/**", doc_type: finance}

embedding:
  backend: auto            # auto | torch | onnx (bundled MiniLM only)
  # base_url: http://localhost:8080/v1   # for openai:<model> embedders
  # api_key_env: OPENAI_API_KEY

retrieval:
  k: 5                     # hits returned
  candidates: 50           # hits taken from each retriever before fusion
  mode: hybrid             # hybrid | keyword | dense
  fusion: rrf              # rrf (reciprocal rank fusion) | weighted
  rrf_k: 60
  keyword_weight: 0.5      # weighted fusion only
  dense_weight: 0.5
  mmr: false               # diversify hits (maximal marginal relevance)
  mmr_lambda: 0.7
  reranker: none           # none | http:<URL> | cross-encoder:<folder> | llm:<model spec>
  rerank_candidates: 20    # fused hits the reranker scores
  rerank_timeout_ms: 2000
  rerank_on_error: fallback  # fallback (fused order, recorded) | fail

answer:
  max_sentences: 3         # extractive answers
  min_relevance: 0.37      # below this, say the knowledge base does not contain the answer
  template: grounded_v2    # LLM answers: prompt template (packaged name or a file path);
                           # v2 delimits every passage as data, never instructions
  token_budget: 3000       # LLM answers: prompt tokens; lowest-ranked chunks are cut first
  min_support: 0.45        # LLM answers: a cited chunk must support its sentence this much
  attribute_min: 0.55      # LLM answers: support needed to cite an unmarked sentence
  unsupported: mark        # LLM answers: a sentence below min_support is marked
                           # (supported: false) or dropped (drop)
  precompute_sentences: true  # extractive answers: embed chunks' sentences at ingest, so a
                              # new question embeds only itself (ingest takes longer)

# Per-tenant settings (the HTTP server maps each API key to one tenant).
tenants: {}
#  acme:
#    api_keys_env: ACME_KEYS        # env var with this tenant's keys, comma-separated
#    languages: [en]                # only retrieve English chunks for this tenant
#    language_scope: document       # chunk and document in `languages`, no mixed chunks
#    model: openai:gpt-4o-mini      # this tenant's answer model (default: model)
#    template: grounded_v2          # this tenant's prompt template / version
#    k: 5                           # hits per answer
#    rate_limit_per_minute: 600     # 429 with Retry-After beyond
#    trace_content: redact          # full | redact | off
#    routing: []                    # replaces the global routing rules
#    guards:                        # each guard given replaces the global policy
#      pii: {action: block}         # refuse answers that contain PII
#      unsafe: {categories: [weapons, poison, self_harm]}  # only these refused here
#      banned: {inherit: true, terms: [Project Falcon]}   # the global list and this

# Guardrails (offline, a few milliseconds per ask). Without this section the same
# safe default applies: typed prompt injection is refused, PII in answers redacted.
guards:
  injection:               # heuristic detector: override/persona/role markers/encodings
    enabled: true
    action: block          # block (refusal) | flag (recorded only) | redact (drop the text)
    threshold: 0.5         # score 0-1 at which it triggers
    stages: [input, retrieval]  # input: the question and the last user turns;
                           # retrieval: each retrieved chunk (scored at ingest), blocked = dropped
    # documents: drop     # a flagged retrieved chunk: drop | quote (kept as untrusted
                           # quoted data) | flag (kept, recorded); default drop (flag with
                           # action: flag). Per tenant: tenants.X.guards.injection.documents
    on_error: block        # a guard that raises: block | allow (counted either way)
    timeout_ms: 2000       # a check past this is abandoned; on_error decides (guard.timeout)
    classifier: false      # true: also the bundled classifier on questions (~6 ms each)
  pii:                     # emails, phones, cards (Luhn), IBANs, IPs, SSN, NINO, DNI/NIE
    enabled: true
    action: redact         # redact ([email] markers) | block | flag
    stages: [output]       # output (the answer) | input (the question)
    on_error: block
  unsafe:                  # questions asking for a private person's data or clear harm
    enabled: true
    action: block          # block (refusal) | flag (recorded only)
    # categories: [privacy, weapons, poison, theft, cyber, self_harm, harm, drugs, crime]
    on_error: block
  banned:                  # banned topics and terms (none by default)
    action: block          # block (refusal) | flag | redact (matched words -> [removed])
    stages: [input, output]  # the question and the answer (retrieval: drop the chunk)
    terms: []              # words/phrases: whole words, any case, any accents
    patterns: []           # regular expressions (case-insensitive)
    topics: []             # named: reason code topic.<name>
    #  - name: competitors
    #    terms: [Velocita, Stromer]
    #  - name: speed_tuning
    #    terms: [speed limiter, derestrict, tuning kit]
    #    patterns: ['\\b4[5-9] ?km/h\\b']
  # judge:                 # a language model judges each text (Llama Guard prompt)
  #   model: openai:llama-guard-3-8b   # with models.<spec>.base_url for a local server
  #   stages: [input]
  #   action: block          # 'unsafe': block | flag
  #   timeout_ms: 5000       # caps the model's own timeouts; past it on_error decides
  #   on_error: block        # an error, a timeout or a reply that is not safe/unsafe
  custom: []               # your own Guard classes: [{guard: pkg.mod:Class, options: {}}]
  http: []                 # external classifiers: POST {text, stage, tenant}, read {score}
  #  - name: moderation
  #    url: http://127.0.0.1:9000/classify
  #    threshold: 0.5       # score 0-1 at which it triggers
  #    action: block        # block | flag
  #    stages: [input]      # input | retrieval | output
  #    timeout_ms: 3000     # also the HTTP timeout; past it on_error decides
  #    on_error: block      # non-2xx, bad JSON, no score, refused, timeout: block | allow
  #    headers_env: {Authorization: MODERATION_AUTH}  # env var names, never the secret
  leak:                    # system-prompt leak: the canary, or 10+ words of the prompt
    enabled: true
    action: block
    # canary: rlc-…        # default: made once per project in .ragline/canary
    min_words: 10
  length:                  # maximum answer length (off: max_tokens bounds LLM answers)
    enabled: false
    action: redact         # redact (cut at a sentence end) | block | flag
    max_chars: 4000
  language:                # the answer must be in the tenant's `languages` (if listed)
    enabled: true
    action: flag           # flag | block; answers under min_letters letters are not judged
    min_letters: 60
  citation:                # every answer sentence cited by a supporting passage
    enabled: false
    action: flag           # flag | block | redact (drop the uncited sentences)
  # schema: {schema: answer.schema.json, action: block}  # answers must be JSON valid
                           # under this schema (pip install 'ragline[schema]'); per tenant

# ragline serve: the HTTP API.
server:
  host: 127.0.0.1          # 0.0.0.0 to listen on every interface
  port: 8000
  auth: auto               # auto: keys required once any exist | required | off
  # keys_file: ragline-keys.yaml   # hashed keys, written by `ragline keys create`
  keys_reload_s: 2         # key file changes (create/revoke/rotate) apply this fast
  metrics_allow: [127.0.0.1, "::1"]  # /metrics without a key; others need the metrics scope
  metrics_tenant_labels: true        # false: no tenant names in /metrics
  docs: auth               # /docs, /redoc, /openapi.json: off | auth (any key) | public
  max_body_bytes: 26214400 # 25 MiB, uploads included (413 beyond)
  max_question_chars: 4000
  max_k: 100
  request_timeout_s: 30    # 504 (or an SSE error event) beyond
  max_concurrency: 16      # requests working at once…
  max_queue: 64            # …and waiting; more are shed with 503 + Retry-After
  # rate_limit_per_minute: 600     # per tenant (429 beyond)
  shutdown_grace_s: 10     # SIGTERM: in-flight requests finish, traces are flushed
  workers: 1               # processes; 2 on 2+ cores answers more (limits are per process)

# Routing rules: a regular expression on the query boosts or filters by metadata.
routing: []
#  - name: finance-boost
#    when: {query_matches: '(\\$|€|£)\\s?\\d|\\bUSD\\b|\\bEUR\\b'}
#    boost: {doc_type: finance, factor: 1.5}
"""


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
