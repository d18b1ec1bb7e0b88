"""SQLite schema of the evaluation tables (migration 0008).

Owned by ``ragline.evals``. Once a migration has shipped, never edit its SQL: add a
new migration instead.

- ``eval_runs``: one row per ``ragline eval run``: the dataset (path and content
  hash), the configuration fingerprint (JSON) and its hash, the status
  (``running``, ``interrupted``, ``complete``) and the summary written at the end.
- ``eval_results``: one row per (run, case, repeat): the case as it was run, what
  the system produced (``CaseOutput`` as JSON) and the metric results (JSON).
  ``cache_key`` = hash(pipeline fingerprint, tenant, question, repeat index): a later
  run with the same key reuses ``output`` instead of calling the pipeline again.
"""

from __future__ import annotations

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
