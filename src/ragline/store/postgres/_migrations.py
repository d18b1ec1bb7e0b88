"""PostgreSQL schema migrations: versioned, transactional, safe from many processes.

Each step runs in its own transaction together with the row that records it in
``ragline_migrations``, after taking a transaction-scoped advisory lock
(``pg_advisory_xact_lock``), so:

- a step is either fully applied and recorded or not at all (PostgreSQL DDL is
  transactional): a failing step leaves the schema at the previous version;
- several processes migrating at once queue on the lock, and each re-checks
  whether the step was applied while it waited, so nothing is applied twice.

To change the schema, append a :class:`~ragline.store.sqlite._migrations.Migration` to
:data:`PG_MIGRATIONS` (never edit or reorder an existing one). A step is SQL text
(executed as one script) or a function taking the ``psycopg.Connection``.

Tables with row-level security are ``FORCE``d, so the owner (the role the
application connects as) is subject to the tenant policies too. A later step that
must read or rewrite rows across tenants wraps its work in
``ALTER TABLE … NO FORCE ROW LEVEL SECURITY`` / ``… FORCE …`` inside the step: the
step's transaction holds an exclusive lock, so no other session sees the gap.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ragline.errors import StoreError

if TYPE_CHECKING:
    import psycopg

# A fixed key for pg_advisory_xact_lock: "ragline" in ASCII, as a 64-bit integer.
MIGRATION_LOCK_KEY = 0x7261676C696E65

PgStep = str | Callable[["psycopg.Connection[Any]"], None]


@dataclass(frozen=True, slots=True)
class PgMigration:
    name: str
    step: PgStep


def tenant_policy(table: str, *, all_tenants: bool = False) -> str:
    """Row-level security on ``table``: only rows of the transaction's ``ragline.tenant``.

    ``all_tenants`` also lets a transaction that sets ``ragline.all_tenants = on`` see
    and write every tenant's rows (the trace writer's batches, operator views). The
    policy is ``FORCE``d, so it binds the tables' owner too.
    """
    allowed = "tenant = current_setting('ragline.tenant', true)"
    if all_tenants:
        allowed += " OR current_setting('ragline.all_tenants', true) = 'on'"
    return (
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;\n"
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY;\n"
        f"CREATE POLICY tenant_isolation ON {table}\n"
        f"    USING ({allowed})\n"
        f"    WITH CHECK ({allowed});\n"
    )


_EXTENSION = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') THEN
        CREATE EXTENSION vector;
    END IF;
END
$$;
"""

_CORE = """
CREATE TABLE documents (
    tenant       text NOT NULL,
    id           text NOT NULL,
    source       text NOT NULL,
    title        text NOT NULL,
    doc_type     text,
    language     text,
    content_hash text NOT NULL,
    embedder     text,
    metadata     jsonb NOT NULL DEFAULT '{}',
    chunk_count  integer NOT NULL DEFAULT 0,
    updated_at   double precision NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE TABLE chunks (
    tenant       text NOT NULL,
    id           text NOT NULL,
    document_id  text NOT NULL,
    ordinal      integer NOT NULL,
    text         text NOT NULL,
    title        text NOT NULL,
    section_path jsonb NOT NULL DEFAULT '[]',
    page         integer,
    language     text,
    doc_type     text,
    source       text NOT NULL DEFAULT '',
    content_hash text NOT NULL DEFAULT '',
    metadata     jsonb NOT NULL DEFAULT '{}',
    embedding    vector NOT NULL,
    PRIMARY KEY (tenant, id),
    FOREIGN KEY (tenant, document_id) REFERENCES documents (tenant, id) ON DELETE CASCADE
);
CREATE INDEX chunks_document ON chunks (tenant, document_id, ordinal);
CREATE INDEX chunks_hash ON chunks (tenant, content_hash);
CREATE INDEX chunks_metadata ON chunks USING gin (metadata jsonb_path_ops);
CREATE INDEX documents_metadata ON documents USING gin (metadata jsonb_path_ops);
"""

# Full-text search: a tsvector per chunk built with the text-search configuration of
# the chunk's language (existing rows are indexed with 'english'), and its length in
# tokens for BM25's length normalisation.
_FTS = """
ALTER TABLE chunks ADD COLUMN ts_config regconfig NOT NULL DEFAULT 'english';
ALTER TABLE chunks ADD COLUMN tsv tsvector;
UPDATE chunks SET tsv = to_tsvector(ts_config,
    lower(title || ' ' || (SELECT coalesce(string_agg(s, ' '), '')
                           FROM jsonb_array_elements_text(section_path) s) || ' ' || text));
ALTER TABLE chunks ALTER COLUMN tsv SET NOT NULL;
ALTER TABLE chunks ADD COLUMN tsv_len integer NOT NULL DEFAULT 0;
UPDATE chunks SET tsv_len = (SELECT coalesce(sum(array_length(positions, 1)), 0)
                             FROM unnest(tsv));
CREATE INDEX chunks_tsv ON chunks USING gin (tsv);
"""

# One row per tenant: its live document and chunk counts (stats() and tenants() without
# a scan)
# and a generation bumped by every write (cache invalidation across processes).
_TENANT_STATE = """
CREATE TABLE tenant_state (
    tenant     text PRIMARY KEY,
    documents  integer NOT NULL DEFAULT 0,
    chunks     integer NOT NULL DEFAULT 0,
    generation bigint NOT NULL DEFAULT 0
);
INSERT INTO tenant_state (tenant, documents, chunks, generation)
SELECT d.tenant, count(*), coalesce(sum(d.chunk_count), 0), 1 FROM documents d GROUP BY d.tenant;
"""

_RESPONSE_CACHE = """
CREATE TABLE response_cache (
    key        text PRIMARY KEY,
    model      text NOT NULL,
    completion text NOT NULL,
    created_at double precision NOT NULL,
    expires_at double precision NOT NULL
);
CREATE INDEX response_cache_expires ON response_cache (expires_at);
"""

# Row-level security keyed on the per-transaction setting ``ragline.tenant``: a query
# that forgets ``WHERE tenant = …`` sees only the current tenant's rows, and none when
# no tenant is set. FORCE makes the policies bind the tables' owner too (superusers
# and BYPASSRLS roles are never bound: connect as an ordinary role).
_RLS = (
    tenant_policy("documents")
    + tenant_policy("chunks")
    + tenant_policy("tenant_state")
    + "CREATE POLICY tenant_names_readable ON tenant_state FOR SELECT USING (true);\n"
)

# ragline.trace: spans, feedback and counters (see ragline.store.postgres._traces).
# The operator's cross-tenant views (``ragline traces list`` without --tenant) and the
# background writer's multi-tenant batches opt in with ``ragline.all_tenants = on``;
# a query that sets neither sees nothing.
_TRACES = (
    """
CREATE TABLE spans (
    trace_id    text NOT NULL,
    span_id     text NOT NULL,
    parent_id   text,
    tenant      text NOT NULL,
    name        text NOT NULL,
    kind        text NOT NULL,
    start       double precision NOT NULL,
    end_time    double precision NOT NULL,
    duration_ms double precision NOT NULL,
    status      text NOT NULL,
    question    text,
    search      text,
    attributes  jsonb NOT NULL DEFAULT '{}',
    events      jsonb NOT NULL DEFAULT '[]',
    PRIMARY KEY (trace_id, span_id)
);
CREATE INDEX spans_roots_tenant ON spans (tenant, start) WHERE parent_id IS NULL;
CREATE INDEX spans_roots_start ON spans (start) WHERE parent_id IS NULL;
CREATE TABLE trace_stats (
    name  text PRIMARY KEY,
    value bigint NOT NULL DEFAULT 0
);
CREATE TABLE feedback (
    id          text PRIMARY KEY,
    trace_id    text NOT NULL,
    tenant      text NOT NULL,
    kind        text NOT NULL,
    note        text,
    created_at  double precision NOT NULL
);
CREATE INDEX feedback_tenant ON feedback (tenant, created_at);
CREATE INDEX feedback_trace ON feedback (trace_id);
"""
    + tenant_policy("spans", all_tenants=True)
    + tenant_policy("feedback", all_tenants=True)
)

# ragline.evals: evaluation runs and per-case results (see
# ragline.store.postgres._evals). Runs are project-wide, not per tenant: no RLS.
# JSON payloads are text, exactly as written (summaries may hold NaN, which jsonb
# rejects; cached outputs are reused byte for byte).
_EVAL_RUNS = """
CREATE TABLE eval_runs (
    id               text PRIMARY KEY,
    name             text,
    created_at       double precision NOT NULL,
    finished_at      double precision,
    status           text NOT NULL,
    target           text NOT NULL,
    dataset_path     text NOT NULL,
    dataset_hash     text NOT NULL,
    fingerprint_hash text NOT NULL,
    fingerprint      text NOT NULL,
    repeats          integer NOT NULL DEFAULT 1,
    summary          text NOT NULL DEFAULT '{}'
);
CREATE INDEX eval_runs_created ON eval_runs (created_at);
CREATE INDEX eval_runs_name ON eval_runs (name);
CREATE TABLE eval_results (
    run_id       text NOT NULL REFERENCES eval_runs (id) ON DELETE CASCADE,
    case_id      text NOT NULL,
    repeat_index integer NOT NULL,
    position     integer NOT NULL,
    category     text NOT NULL,
    case_json    text NOT NULL,
    case_hash    text NOT NULL,
    output       text NOT NULL,
    failed       boolean NOT NULL DEFAULT false,
    metrics      text NOT NULL,
    metrics_key  text NOT NULL,
    cache_key    text NOT NULL,
    cached       boolean NOT NULL DEFAULT false,
    created_at   double precision NOT NULL,
    PRIMARY KEY (run_id, case_id, repeat_index)
);
CREATE INDEX eval_results_cache ON eval_results (cache_key, created_at) WHERE NOT failed;
"""

# POST /v1/chat history (see ragline.store.postgres._conversations), with RLS like the
# document tables; an explicit all-tenant view (``ragline.all_tenants``) is allowed for
# operator tools such as retention clean-up. append_turn locks the conversation row
# (UPDATE … RETURNING turns), so concurrent appends get consecutive indexes.
_CONVERSATIONS = (
    """
CREATE TABLE conversations (
    tenant     text NOT NULL,
    id         text NOT NULL,
    title      text NOT NULL DEFAULT '',
    metadata   jsonb NOT NULL DEFAULT '{}',
    created_at double precision NOT NULL,
    updated_at double precision NOT NULL,
    turns      integer NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX conversations_recent ON conversations (tenant, updated_at DESC, id DESC);
CREATE TABLE conversation_turns (
    tenant          text NOT NULL,
    conversation_id text NOT NULL,
    idx             integer NOT NULL,
    role            text NOT NULL,
    content         text NOT NULL,
    created_at      double precision NOT NULL,
    trace_id        text,
    citations       jsonb NOT NULL DEFAULT '[]',
    PRIMARY KEY (tenant, conversation_id, idx),
    FOREIGN KEY (tenant, conversation_id) REFERENCES conversations (tenant, id)
        ON DELETE CASCADE
);
"""
    + tenant_policy("conversations", all_tenants=True)
    + tenant_policy("conversation_turns", all_tenants=True)
)

# The extractive answerer's sentence vectors (see ragline.store.postgres._sentences): a
# cache keyed by (tenant, embedder, sha256(sentence)[:16]), filled at ingest and by
# answers; RLS like the document tables. Stale rows (deleted documents) are harmless.
_SENTENCE_VECTORS = """
CREATE TABLE sentence_vectors (
    tenant   text NOT NULL,
    embedder text NOT NULL,
    hash     bytea NOT NULL,
    vector   bytea NOT NULL,
    PRIMARY KEY (tenant, embedder, hash)
);
""" + tenant_policy("sentence_vectors", all_tenants=True)

# ragline.ingest: the claim on a document while one run works on it (see
# ragline.store._claims); RLS like the document tables.
_DOCUMENT_CLAIMS = """
CREATE TABLE document_claims (
    tenant       text NOT NULL,
    document_id  text NOT NULL,
    content_hash text NOT NULL,
    holder       text NOT NULL,
    host         text NOT NULL,
    pid          integer NOT NULL,
    claimed_at   double precision NOT NULL,
    PRIMARY KEY (tenant, document_id)
);
""" + tenant_policy("document_claims")

# ragline.monitor: per-minute rollups of finished traces (see ragline.store._rollups);
# RLS with the all-tenant view the trace writer and the monitor use. Gaps are minutes,
# project-wide (no tenant), so that table has no RLS.
_ROLLUPS = (
    """
CREATE TABLE rollups (
    minute    bigint NOT NULL,
    tenant    text NOT NULL,
    route     text NOT NULL,
    metric    text NOT NULL,
    label     text NOT NULL,
    samples   bigint NOT NULL,
    total     double precision NOT NULL,
    max_value double precision,
    PRIMARY KEY (metric, minute, tenant, route, label)
);
CREATE TABLE rollup_buckets (
    minute  bigint NOT NULL,
    tenant  text NOT NULL,
    route   text NOT NULL,
    metric  text NOT NULL,
    label   text NOT NULL,
    bucket  integer NOT NULL,
    samples bigint NOT NULL,
    PRIMARY KEY (metric, minute, tenant, route, label, bucket)
);
CREATE TABLE rollup_gaps (
    minute    bigint PRIMARY KEY,
    reason    text NOT NULL,
    marked_at double precision NOT NULL
);
"""
    + tenant_policy("rollups", all_tenants=True)
    + tenant_policy("rollup_buckets", all_tenants=True)
)

# ragline.monitor: alert rules' states, their history and silences (store/_alerts.py);
# project-wide like the evaluation tables, so no row-level security.
_ALERTS = """
CREATE TABLE alert_states (
    rule          text PRIMARY KEY,
    state         text NOT NULL,
    since         double precision NOT NULL,
    evaluated_at  double precision NOT NULL,
    value         double precision,
    threshold     double precision,
    pending_since double precision,
    fired_at      double precision,
    resolved_at   double precision,
    notified      text,
    notified_at   double precision,
    labels        text NOT NULL DEFAULT '{}'
);
CREATE TABLE alert_events (
    id        bigserial PRIMARY KEY,
    at        double precision NOT NULL,
    rule      text NOT NULL,
    event     text NOT NULL,
    state     text,
    value     double precision,
    threshold double precision,
    actor     text NOT NULL DEFAULT '',
    detail    text NOT NULL DEFAULT '{}'
);
CREATE INDEX alert_events_at ON alert_events (at);
CREATE INDEX alert_events_rule ON alert_events (rule, at);
CREATE TABLE alert_silences (
    id         text PRIMARY KEY,
    matchers   text NOT NULL,
    starts_at  double precision NOT NULL,
    ends_at    double precision NOT NULL,
    author     text NOT NULL,
    comment    text NOT NULL DEFAULT '',
    created_at double precision NOT NULL,
    ended_by   text
);
CREATE INDEX alert_silences_ends ON alert_silences (ends_at);
"""

# ragline.agent long-term memory (see ragline.store._user_memory): one row per item with
# its vector; RLS like the conversation tables (with the operator all-tenant view).
_MEMORY = """
CREATE TABLE memory_items (
    tenant          text NOT NULL,
    id              text NOT NULL,
    user_id         text NOT NULL,
    kind            text NOT NULL,
    text            text NOT NULL,
    embedder        text NOT NULL,
    vector          bytea NOT NULL,
    conversation_id text,
    metadata        jsonb NOT NULL DEFAULT '{}',
    created_at      double precision NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX memory_items_user ON memory_items (tenant, user_id, created_at DESC, id DESC);
""" + tenant_policy("memory_items", all_tenants=True)

# ragline.prompts (see ragline.store._prompts): versions are project-wide like the
# evaluation tables; label moves are per tenant, with RLS like the conversation tables.
_PROMPTS = """
CREATE TABLE prompt_versions (
    name       text NOT NULL,
    version    text NOT NULL,
    text       text NOT NULL,
    format     text NOT NULL,
    source     text NOT NULL DEFAULT '',
    created_at double precision NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE prompt_label_events (
    seq     bigserial PRIMARY KEY,
    tenant  text NOT NULL,
    name    text NOT NULL,
    label   text NOT NULL,
    version text NOT NULL,
    action  text NOT NULL,
    actor   text NOT NULL DEFAULT '',
    at      double precision NOT NULL
);
CREATE INDEX prompt_label_events_key ON prompt_label_events (tenant, name, label, seq);
""" + tenant_policy("prompt_label_events", all_tenants=True)

# ragline.agent hand-off tickets (see ragline.store._tickets): per tenant, with RLS like
# the conversation tables
_TICKETS = """
CREATE TABLE tickets (
    tenant          text NOT NULL,
    id              text NOT NULL,
    reason          text NOT NULL,
    summary         text NOT NULL,
    priority        text NOT NULL,
    created_at      double precision NOT NULL,
    status          text NOT NULL DEFAULT 'open',
    user_id         text,
    conversation_id text,
    trace_id        text,
    closed_at       double precision,
    closed_by       text,
    resolution      text NOT NULL DEFAULT '',
    PRIMARY KEY (tenant, id)
);
CREATE INDEX tickets_recent ON tickets (tenant, created_at DESC, id DESC);
""" + tenant_policy("tickets", all_tenants=True)
# The server's rate-limit buckets, shared by every replica (store/postgres/_limits.py).
# UNLOGGED: no WAL write per request; a database crash only forgives a minute of
# requests. Server-wide, like response_cache: no row-level security.
_REPLICAS = """
CREATE UNLOGGED TABLE rate_limits (
    tenant  text NOT NULL,
    name    text NOT NULL,
    tokens  double precision NOT NULL,
    at      double precision NOT NULL,
    granted boolean NOT NULL,
    PRIMARY KEY (tenant, name)
);
"""

PG_MIGRATIONS: list[PgMigration] = [
    PgMigration("0001_vector_extension", _EXTENSION),
    PgMigration("0002_documents_chunks", _CORE),
    PgMigration("0003_full_text_search", _FTS),
    PgMigration("0004_tenant_state", _TENANT_STATE),
    PgMigration("0005_response_cache", _RESPONSE_CACHE),
    PgMigration("0006_row_level_security", _RLS),
    PgMigration("0007_traces_feedback", _TRACES),
    PgMigration("0008_eval_runs", _EVAL_RUNS),
    PgMigration("0009_conversations", _CONVERSATIONS),
    PgMigration("0010_sentence_vectors", _SENTENCE_VECTORS),
    PgMigration("0011_document_claims", _DOCUMENT_CLAIMS),
    PgMigration("0012_rollups", _ROLLUPS),
    PgMigration("0013_alerts", _ALERTS),
    PgMigration("0014_prompts", _PROMPTS),
    PgMigration("0015_memory", _MEMORY),
    PgMigration("0016_tickets", _TICKETS),
    PgMigration("0019_replicas", _REPLICAS),
]

_TABLE = (
    "CREATE TABLE IF NOT EXISTS ragline_migrations ("
    "name text PRIMARY KEY, applied_at double precision NOT NULL)"
)


def _ensure_table(conn: psycopg.Connection[Any]) -> None:
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
        conn.execute(_TABLE)


def applied_pg_migrations(conn: psycopg.Connection[Any]) -> list[str]:
    """Names of the applied migrations, in the order they were applied."""
    _ensure_table(conn)
    rows = conn.execute("SELECT name FROM ragline_migrations ORDER BY applied_at, name").fetchall()
    return [str(r[0]) for r in rows]


def apply_pg_migrations(
    conn: psycopg.Connection[Any], migrations: Sequence[PgMigration] | None = None
) -> list[str]:
    """Apply the steps not applied yet, in order; return the names applied now.

    ``conn`` must be in autocommit mode; every step gets its own transaction.
    """
    import psycopg

    steps = PG_MIGRATIONS if migrations is None else migrations
    names = [m.name for m in steps]
    if len(set(names)) != len(names):
        raise StoreError("two migrations share a name", hint="give every migration a unique name")
    try:
        done = set(applied_pg_migrations(conn))
    except psycopg.Error as e:
        raise StoreError(
            f"cannot create or read the ragline_migrations table: {e}".strip(),
            hint="connect as the role that owns the ragline tables (it needs CREATE on the "
            "schema to migrate), or have that role run `ragline migrate`",
        ) from e
    applied: list[str] = []
    for migration in steps:
        if migration.name in done:
            continue
        try:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
                # Another process may have applied it while we waited for the lock.
                if conn.execute(
                    "SELECT 1 FROM ragline_migrations WHERE name = %s", (migration.name,)
                ).fetchone():
                    continue
                if isinstance(migration.step, str):
                    conn.execute(migration.step.encode())
                else:
                    migration.step(conn)
                conn.execute(
                    "INSERT INTO ragline_migrations (name, applied_at) VALUES (%s, %s)",
                    (migration.name, time.time()),
                )
        except psycopg.Error as e:
            raise StoreError(
                f"database migration {migration.name!r} failed: {e}".strip(),
                hint="the schema is unchanged at the previous version; fix the cause "
                "(privileges, a newer ragline's schema) and run `ragline migrate` again",
            ) from e
        applied.append(migration.name)
    return applied


def migrate_postgres(url: str, *, connect_timeout: float = 10.0) -> tuple[list[str], list[str]]:
    """Apply pending PostgreSQL migrations: ``(applied now, all applied)``."""
    try:
        import psycopg
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise StoreError(
            "the PostgreSQL store needs psycopg", hint="pip install 'ragline[postgres]'"
        ) from e
    from ragline.store.postgres._rows import _connect_error, normalize_url

    url = normalize_url(url)
    try:
        with psycopg.connect(
            url, autocommit=True, connect_timeout=max(1, int(connect_timeout))
        ) as conn:
            now = apply_pg_migrations(conn)
            return now, applied_pg_migrations(conn)
    except psycopg.Error as e:
        raise _connect_error(url, e) from None
