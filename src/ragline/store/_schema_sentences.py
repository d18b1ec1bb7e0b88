"""SQLite schema of the sentence-vector table (migration 0010).

Owned by the extractive answerer's persistent sentence vectors
(:mod:`ragline.answer._sentence_store`). Once a migration has shipped, never edit its
SQL: add a new migration instead.

- ``sentence_vectors``: one row per (tenant, embedder, hash) where ``hash`` is the
  first 16 bytes of the SHA-256 of the exact sentence text the answerer embeds and
  ``vector`` the embedder's float32 vector (little-endian). Rows are a cache keyed by
  content: a sentence whose document was deleted or edited leaves a harmless,
  unreachable row behind (the same text embeds to the same vector).
"""

from __future__ import annotations

SENTENCES_SQL = """
CREATE TABLE sentence_vectors (
    tenant   TEXT NOT NULL,
    embedder TEXT NOT NULL,
    hash     BLOB NOT NULL,
    vector   BLOB NOT NULL,
    PRIMARY KEY (tenant, embedder, hash)
) WITHOUT ROWID;
"""
