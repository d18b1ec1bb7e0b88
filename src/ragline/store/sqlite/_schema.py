"""The SQLite schema of every ragline table, one constant per migration step.

Once a migration has shipped, never edit its SQL: add a new migration (see
:mod:`._migrations`) instead.

- ``documents`` / ``chunks`` (0001): one row per document and per chunk, keyed by
  (tenant, id); JSON columns hold section paths and metadata; ``embedding`` is the
  chunk's float32 vector. ``chunks_fts`` (0002) is an external-content FTS5 index over
  ``chunks.indexed_text`` kept in sync by triggers. ``tenant_generations`` (0003) is
  bumped by every write, so other processes' caches notice. ``bm25_terms`` (0004) and
  ``chunks.term_counts`` feed the in-memory BM25 index.
- ``response_cache`` (0005): the model response cache.
- ``spans`` / ``trace_stats`` (0006): one row per span; the columns ``traces list``
  filters on are real columns (tenant, start, duration, status, name); the root span
  of a trace (``parent_id IS NULL``) is its summary row, indexed by (tenant, start)
  and start. ``search`` is the lower-cased question and answer of a root span, for
  text search; ``attributes`` and ``events`` are JSON. ``trace_stats`` holds counters
  that must survive the process, e.g. ``dropped_spans``, shown by ``ragline doctor``.
- ``feedback`` (0007): user reports linked to a trace.
- ``eval_runs`` / ``eval_results`` (0008): one row per evaluation run (dataset path and
  content hash, configuration fingerprint and its hash, status, summary) and per
  (run, case, repeat) (the case as run, the output and metric results as JSON).
  ``cache_key`` = hash(pipeline fingerprint, tenant, question, repeat index): a later
  run with the same key reuses ``output`` instead of calling the pipeline again.
- ``conversations`` / ``conversation_turns`` (0009): ``POST /v1/chat`` history. A
  conversation row counts its ``turns``; ``append_turn`` bumps it and inserts the
  turn with index ``turns - 1`` in one write transaction, so two writers never get
  the same index. ``citations`` is a JSON array of objects.
- ``sentence_vectors`` (0010): the extractive answerer's sentence vectors by (tenant,
  embedder, hash), ``hash`` being the first 16 bytes of the SHA-256 of the exact
  sentence text; rows are a cache keyed by content, so a deleted document leaves
  harmless, unreachable rows behind.
- ``document_claims`` (0011): the ingest claim on a document, one row per (tenant,
  document id) while a run works on it (see :mod:`ragline.store._claims`): the holder
  (run id, host, pid), the content hash it is writing and when it claimed.
"""

from __future__ import annotations

CORE_SQL = """
CREATE TABLE documents (
    tenant       TEXT NOT NULL,
    id           TEXT NOT NULL,
    source       TEXT NOT NULL,
    title        TEXT NOT NULL,
    doc_type     TEXT,
    language     TEXT,
    content_hash TEXT NOT NULL,
    embedder     TEXT,
    metadata     TEXT NOT NULL DEFAULT '{}',
    chunk_count  INTEGER NOT NULL DEFAULT 0,
    updated_at   REAL NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE TABLE chunks (
    pk           INTEGER PRIMARY KEY,
    tenant       TEXT NOT NULL,
    id           TEXT NOT NULL,
    document_id  TEXT NOT NULL,
    ordinal      INTEGER NOT NULL,
    text         TEXT NOT NULL,
    title        TEXT NOT NULL,
    section_path TEXT NOT NULL DEFAULT '[]',
    page         INTEGER,
    language     TEXT,
    doc_type     TEXT,
    source       TEXT NOT NULL DEFAULT '',
    content_hash TEXT NOT NULL DEFAULT '',
    metadata     TEXT NOT NULL DEFAULT '{}',
    indexed_text TEXT NOT NULL,
    embedding    BLOB NOT NULL,
    UNIQUE (tenant, id),
    FOREIGN KEY (tenant, document_id) REFERENCES documents (tenant, id) ON DELETE CASCADE
);
CREATE INDEX chunks_tenant ON chunks (tenant);
CREATE INDEX chunks_document ON chunks (tenant, document_id, ordinal);
CREATE INDEX chunks_hash ON chunks (tenant, content_hash);
"""

FTS_SQL = """
CREATE VIRTUAL TABLE chunks_fts USING fts5(
    indexed_text,
    content = 'chunks',
    content_rowid = 'pk',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts (rowid, indexed_text) VALUES (new.pk, new.indexed_text);
END;
CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts (chunks_fts, rowid, indexed_text)
    VALUES ('delete', old.pk, old.indexed_text);
END;
CREATE TRIGGER chunks_fts_update AFTER UPDATE OF indexed_text ON chunks BEGIN
    INSERT INTO chunks_fts (chunks_fts, rowid, indexed_text)
    VALUES ('delete', old.pk, old.indexed_text);
    INSERT INTO chunks_fts (rowid, indexed_text) VALUES (new.pk, new.indexed_text);
END;
"""

GENERATIONS_SQL = """
CREATE TABLE tenant_generations (
    tenant     TEXT PRIMARY KEY,
    generation INTEGER NOT NULL DEFAULT 0
);
"""

RESPONSE_CACHE_SQL = """
CREATE TABLE response_cache (
    key        TEXT PRIMARY KEY,
    model      TEXT NOT NULL,
    completion TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX response_cache_expires ON response_cache (expires_at);
"""

TRACES_SQL = """
CREATE TABLE spans (
    trace_id    TEXT NOT NULL,
    span_id     TEXT NOT NULL,
    parent_id   TEXT,
    tenant      TEXT NOT NULL,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    start       REAL NOT NULL,
    end_time    REAL NOT NULL,
    duration_ms REAL NOT NULL,
    status      TEXT NOT NULL,
    question    TEXT,
    search      TEXT,
    attributes  TEXT NOT NULL DEFAULT '{}',
    events      TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (trace_id, span_id)
);
CREATE INDEX spans_roots_tenant ON spans (tenant, start) WHERE parent_id IS NULL;
CREATE INDEX spans_roots_start ON spans (start) WHERE parent_id IS NULL;
CREATE TABLE trace_stats (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL DEFAULT 0
);
"""

FEEDBACK_SQL = """
CREATE TABLE feedback (
    id          TEXT PRIMARY KEY,
    trace_id    TEXT NOT NULL,
    tenant      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    note        TEXT,
    created_at  REAL NOT NULL
);
CREATE INDEX feedback_tenant ON feedback (tenant, created_at);
CREATE INDEX feedback_trace ON feedback (trace_id);
"""

EVAL_SQL = """
CREATE TABLE eval_runs (
    id               TEXT PRIMARY KEY,
    name             TEXT,
    created_at       REAL NOT NULL,
    finished_at      REAL,
    status           TEXT NOT NULL,
    target           TEXT NOT NULL,
    dataset_path     TEXT NOT NULL,
    dataset_hash     TEXT NOT NULL,
    fingerprint_hash TEXT NOT NULL,
    fingerprint      TEXT NOT NULL,
    repeats          INTEGER NOT NULL DEFAULT 1,
    summary          TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX eval_runs_created ON eval_runs (created_at);
CREATE TABLE eval_results (
    run_id       TEXT NOT NULL REFERENCES eval_runs (id) ON DELETE CASCADE,
    case_id      TEXT NOT NULL,
    repeat_index INTEGER NOT NULL,
    position     INTEGER NOT NULL,
    category     TEXT NOT NULL,
    case_json    TEXT NOT NULL,
    case_hash    TEXT NOT NULL,
    output       TEXT NOT NULL,
    failed       INTEGER NOT NULL DEFAULT 0,
    metrics      TEXT NOT NULL,
    metrics_key  TEXT NOT NULL,
    cache_key    TEXT NOT NULL,
    cached       INTEGER NOT NULL DEFAULT 0,
    created_at   REAL NOT NULL,
    PRIMARY KEY (run_id, case_id, repeat_index)
);
-- covering index of the cache lookup: pick a row per key without reading its payload
CREATE INDEX eval_results_cache ON eval_results (cache_key, failed, metrics_key, created_at);
"""

CONVERSATIONS_SQL = """
CREATE TABLE conversations (
    tenant     TEXT NOT NULL,
    id         TEXT NOT NULL,
    title      TEXT NOT NULL DEFAULT '',
    metadata   TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    turns      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX conversations_recent ON conversations (tenant, updated_at);
CREATE TABLE conversation_turns (
    tenant          TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    idx             INTEGER NOT NULL,
    role            TEXT NOT NULL,
    content         TEXT NOT NULL,
    created_at      REAL NOT NULL,
    trace_id        TEXT,
    citations       TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (tenant, conversation_id, idx),
    FOREIGN KEY (tenant, conversation_id) REFERENCES conversations (tenant, id)
        ON DELETE CASCADE
);
"""

SENTENCES_SQL = """
CREATE TABLE sentence_vectors (
    tenant   TEXT NOT NULL,
    embedder TEXT NOT NULL,
    hash     BLOB NOT NULL,
    vector   BLOB NOT NULL,
    PRIMARY KEY (tenant, embedder, hash)
) WITHOUT ROWID;
"""

CLAIMS_SQL = """
CREATE TABLE document_claims (
    tenant       TEXT NOT NULL,
    document_id  TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    holder       TEXT NOT NULL,
    host         TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    claimed_at   REAL NOT NULL,
    PRIMARY KEY (tenant, document_id)
) WITHOUT ROWID;
"""

# ragline.monitor: per-minute rollups of finished traces (see ragline.store._rollups)
ROLLUPS_SQL = """
CREATE TABLE rollups (
    minute    INTEGER NOT NULL,
    tenant    TEXT NOT NULL,
    route     TEXT NOT NULL,
    metric    TEXT NOT NULL,
    label     TEXT NOT NULL,
    samples   INTEGER NOT NULL,
    total     REAL NOT NULL,
    max_value REAL,
    PRIMARY KEY (metric, minute, tenant, route, label)
);
CREATE TABLE rollup_buckets (
    minute  INTEGER NOT NULL,
    tenant  TEXT NOT NULL,
    route   TEXT NOT NULL,
    metric  TEXT NOT NULL,
    label   TEXT NOT NULL,
    bucket  INTEGER NOT NULL,
    samples INTEGER NOT NULL,
    PRIMARY KEY (metric, minute, tenant, route, label, bucket)
);
CREATE TABLE rollup_gaps (
    minute    INTEGER PRIMARY KEY,
    reason    TEXT NOT NULL,
    marked_at REAL NOT NULL
);
"""

# ragline.monitor: alert rules' states, their history and silences (store/_alerts.py)
ALERTS_SQL = """
CREATE TABLE alert_states (
    rule          TEXT PRIMARY KEY,
    state         TEXT NOT NULL,
    since         REAL NOT NULL,
    evaluated_at  REAL NOT NULL,
    value         REAL,
    threshold     REAL,
    pending_since REAL,
    fired_at      REAL,
    resolved_at   REAL,
    notified      TEXT,
    notified_at   REAL,
    labels        TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE alert_events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        REAL NOT NULL,
    rule      TEXT NOT NULL,
    event     TEXT NOT NULL,
    state     TEXT,
    value     REAL,
    threshold REAL,
    actor     TEXT NOT NULL DEFAULT '',
    detail    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX alert_events_at ON alert_events (at);
CREATE INDEX alert_events_rule ON alert_events (rule, at);
CREATE TABLE alert_silences (
    id         TEXT PRIMARY KEY,
    matchers   TEXT NOT NULL,
    starts_at  REAL NOT NULL,
    ends_at    REAL NOT NULL,
    author     TEXT NOT NULL,
    comment    TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    ended_by   TEXT
);
CREATE INDEX alert_silences_ends ON alert_silences (ends_at);
"""

# ragline.agent long-term memory (see ragline.store._user_memory): one row per item with
# its vector, so deleting the rows removes item, vector and index entries together
MEMORY_SQL = """
CREATE TABLE memory_items (
    tenant          TEXT NOT NULL,
    id              TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    kind            TEXT NOT NULL,
    text            TEXT NOT NULL,
    embedder        TEXT NOT NULL,
    vector          BLOB NOT NULL,
    conversation_id TEXT,
    metadata        TEXT NOT NULL DEFAULT '{}',
    created_at      REAL NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX memory_items_user ON memory_items (tenant, user_id, created_at, id);
"""

# ragline.prompts: prompt versions (project-wide, kept forever) and label moves per tenant
PROMPTS_SQL = """
CREATE TABLE prompt_versions (
    name       TEXT NOT NULL,
    version    TEXT NOT NULL,
    text       TEXT NOT NULL,
    format     TEXT NOT NULL,
    source     TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE prompt_label_events (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant  TEXT NOT NULL,
    name    TEXT NOT NULL,
    label   TEXT NOT NULL,
    version TEXT NOT NULL,
    action  TEXT NOT NULL,
    actor   TEXT NOT NULL DEFAULT '',
    at      REAL NOT NULL
);
CREATE INDEX prompt_label_events_key ON prompt_label_events (tenant, name, label, seq);
"""

# ragline.agent hand-off tickets (see ragline.store._tickets): one row per ticket
TICKETS_SQL = """
CREATE TABLE tickets (
    tenant          TEXT NOT NULL,
    id              TEXT NOT NULL,
    reason          TEXT NOT NULL,
    summary         TEXT NOT NULL,
    priority        TEXT NOT NULL,
    created_at      REAL NOT NULL,
    status          TEXT NOT NULL DEFAULT 'open',
    user_id         TEXT,
    conversation_id TEXT,
    trace_id        TEXT,
    closed_at       REAL,
    closed_by       TEXT,
    resolution      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tenant, id)
);
CREATE INDEX tickets_recent ON tickets (tenant, created_at, id);
"""
