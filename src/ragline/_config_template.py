"""The commented ``ragline.yaml`` that ``ragline init`` writes
(:func:`ragline.config.write_config`)."""

from __future__ import annotations

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

# Does a passage back a sentence? One checker for the cite stage, the citation guard
# and the faithfulness / citation_* eval metrics.
support:
  checker: facts           # facts (fitted word overlap + name/figure rules, offline) |
                           # similarity (lexical overlap + embedding cosine)
  eval_threshold: null     # evals: null = the checker's calibrated threshold

# Follow-ups in a conversation (chat, /v1/chat, the OpenAI-compatible API).
chat:
  rewrite: auto            # a follow-up that cannot stand alone is rewritten: rule
                           # (offline), llm (a model; the rule on error), off; auto: llm
                           # when rewrite_model is set or the answer model is a remote LLM
  rewrite_model: null      # the llm rewrite's model spec (default: the answer model)
  rewrite_timeout_ms: 3000 # a slower llm rewrite falls back to the rule

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
    classifier: auto       # the bundled classifier on questions (with minilm); false: off
  pii:                     # emails, phones, cards (Luhn), IBANs, IPs, SSN, NINO, DNI/NIE
    enabled: true
    action: redact         # redact ([email] markers) | block | flag
    stages: [output]       # output (the answer) | input (the question)
    on_error: block
  unsafe:                  # questions asking for a private person's data or clear harm
    enabled: true
    action: block          # block (refusal) | flag (recorded only)
    # categories: [privacy, weapons, poison, theft, cyber, self_harm, harm, drugs, crime,
    #              tampering, harassment, misinformation]
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
  # rate_limit_per_minute: 600     # per tenant (429 beyond); PostgreSQL: across replicas
  shutdown_grace_s: 10     # SIGTERM: in-flight requests finish, traces are flushed
  # drain_s: 5             # SIGTERM: /readyz 503 "draining" this long first, still serving
  # instance: ragline-1    # this replica's name on /metrics (env RAGLINE_INSTANCE wins)
  workers: 1               # processes; 2 on 2+ cores answers more (limits are per process)

# Routing rules: a regular expression on the query boosts or filters by metadata.
routing: []
#  - name: finance-boost
#    when: {query_matches: '(\\$|€|£)\\s?\\d|\\bUSD\\b|\\bEUR\\b'}
#    boost: {doc_type: finance, factor: 1.5}

# Alert rules on the windowed metrics (README: Monitoring > Alerts). `ragline serve`
# evaluates them every monitor.interval (one process at a time); cron can run
# `ragline monitor run --once` instead.
monitor:
  interval: 60s
alerts:
  repeat_interval: 4h      # a firing alert is notified again only after this long
  rules: []
#  - name: ask-p95
#    metric: latency
#    agg: p95
#    filter: {route: ask}
#    window: 5m
#    condition: "> 2000"   # or "< 0.9", or "increase 50%" with baseline: 24h
#    for: 2m               # must hold this long before it fires
#    resolve: 1500         # hysteresis: stays firing until back at or below this
#    no_data: ok           # an empty window: ok | keep | alert (no data is not zero)
#    severity: critical
"""
