"""Cross-store properties: filters match the reference; SQLite BM25 equals MemoryStore's."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ragline.store import Condition, MemoryStore, SQLiteStore, matches
from ragline.store.sqlite._migrations import MIGRATIONS, apply_migrations
from ragline.testing._store_conformance import EMBEDDER, make_document

VALUES: list[Any] = [0, 1, 2, 10, 1.5, "1", "2", "10", "a", "b", "2021-01-01", "2022-06-30", True]
FIELDS = ["n", "s", "tags", "doc_type", "language", "page", "absent"]

value = st.sampled_from(VALUES)


@st.composite
def condition(draw: st.DrawFn) -> Condition:
    field = draw(st.sampled_from(FIELDS))
    op = draw(st.sampled_from(["eq", "ne", "in", "gt", "gte", "lt", "lte"]))
    if op == "in":
        return Condition(field, "in", tuple(draw(st.lists(value, min_size=1, max_size=3))))
    return Condition(field, op, draw(value))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[SQLiteStore, MemoryStore, list[Any]]:
    rng = np.random.default_rng(3)
    sql = SQLiteStore(tmp_path_factory.mktemp("props") / "p.db")
    mem = MemoryStore()
    chunks = []
    for i in range(40):
        md: dict[str, Any] = {
            "n": VALUES[int(rng.integers(len(VALUES)))],
            "s": VALUES[int(rng.integers(len(VALUES)))],
        }
        if i % 3:
            md["tags"] = [VALUES[int(rng.integers(len(VALUES)))] for _ in range(i % 4)]
        doc = make_document(
            f"d{i}",
            [f"shared word item{i % 5} alpha" + " filler" * int(rng.integers(5))],
            doc_type=["x", "y", None][i % 3],
            language=["en", "es"][i % 2],
            metadata=md,
        )
        sql.upsert_document(*doc)
        mem.upsert_document(*doc)
        chunks += doc[1]
    return sql, mem, chunks


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(conds=st.lists(condition(), min_size=1, max_size=2))
def test_filters_match_reference(
    corpus: tuple[SQLiteStore, MemoryStore, list[Any]], conds: list[Condition]
) -> None:
    sql, mem, chunks = corpus
    expected = {c.id for c in chunks if matches(c, conds)}
    query = EMBEDDER.embed_query("shared word")
    for store in (sql, mem):
        assert {
            h.chunk.id for h in store.vector_search("default", query, k=100, filters=conds)
        } == (expected)
        kw = store.keyword_search("default", "shared", k=100, filters=conds)
        assert {h.chunk.id for h in kw} == expected


@pytest.mark.parametrize("query", ["shared", "item3 alpha", "filler item1", "alpha filler filler"])
def test_sqlite_bm25_equals_memory(
    corpus: tuple[SQLiteStore, MemoryStore, list[Any]], query: str
) -> None:
    sql, mem, _ = corpus
    a = sql.keyword_search("default", query, k=10)
    b = mem.keyword_search("default", query, k=10)
    assert [h.score for h in a] == pytest.approx([h.score for h in b], rel=1e-4)
    assert {h.chunk.id for h in a if h.score > a[-1].score + 1e-4} == {
        h.chunk.id for h in b if h.score > a[-1].score + 1e-4
    }


def test_bm25_migration_backfills_existing_chunks(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    apply_migrations(conn, MIGRATIONS[:3])  # a database from before 0004_bm25_terms
    vec = np.zeros(8, dtype=np.float32).tobytes()
    conn.execute(
        "INSERT INTO documents (tenant, id, source, title, content_hash, updated_at) "
        "VALUES ('default', 'old', 'old.md', 'Old', 'h', 1)"
    )
    conn.execute(
        "INSERT INTO chunks (tenant, id, document_id, ordinal, text, title, indexed_text, "
        "embedding) VALUES ('default', 'old#0', 'old', 0, 'legacy zebra', 'Old', "
        "'Old\nlegacy zebra', ?)",
        (vec,),
    )
    conn.close()
    with SQLiteStore(path) as s:
        assert [h.chunk.id for h in s.keyword_search("default", "zebra", k=5)] == ["old#0"]
