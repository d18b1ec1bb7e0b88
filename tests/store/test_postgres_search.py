"""PostgresStore search: pruned BM25 ranks exactly like scoring every row; HNSW use.

Keyword search scores only the rows of a query's essential words (MaxScore pruning,
see ``ragline.store.postgres._search``); these tests check on a real server that the
ranking, the scores, filters and tenants are exactly those of scoring every matching
row, in both modes of the server (GIN indexes usable or hidden by row-level security).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from ragline.store import Condition, PostgresStore, matches, parse_filter
from ragline.store.postgres import _search as search
from ragline.testing._store_conformance import EMBEDDER, make_document

from .pg_helpers import fresh_database

# A Zipf-like vocabulary: a few words in most chunks, many in a handful.
VOCAB = [f"w{i:03d}" for i in range(300)]
WEIGHTS = [1.0 / (i + 1) for i in range(len(VOCAB))]


def _text(rng: random.Random) -> str:
    return " ".join(rng.choices(VOCAB, weights=WEIGHTS, k=rng.randint(5, 60)))


def _queries(n: int) -> list[str]:
    rng = random.Random(5)
    return [_text(rng)[:80] for _ in range(n)] + ["w000 w001 w002", "w299", "w000"]


def _admin(pg_server: Any, url: str, sql_fn: Any) -> None:
    import psycopg

    from ragline.testing._postgres import ADMIN_PASSWORD

    database = url.rsplit("/", 1)[1]
    with psycopg.connect(
        pg_server.url(pg_server.superuser, ADMIN_PASSWORD, database), autocommit=True
    ) as conn:
        sql_fn(conn)


@pytest.fixture(scope="module")
def corpus_url(pg_server: Any) -> Iterator[str]:
    """Two tenants with the same 240 chunks (metadata: doc_type, n, tags)."""
    rng = random.Random(1)
    for url in fresh_database(pg_server):
        store = PostgresStore(url)
        for i in range(60):
            texts = [_text(rng) for _ in range(4)]
            md = {"n": i % 7, "tags": ["odd"] if i % 2 else []}
            for tenant in ("a", "b"):
                store.upsert_document(
                    *make_document(
                        f"d{i}", texts, tenant=tenant, doc_type=["x", "y"][i % 2], metadata=md
                    )
                )
        store.close()
        yield url


def _unpruned(monkeypatch: pytest.MonkeyPatch) -> None:
    """Score every matching row: the reference the pruned search must equal."""
    monkeypatch.setattr(search, "essential_prefix", lambda bounds, threshold: len(bounds))
    monkeypatch.setattr(search, "first_pass_prefix", lambda dfs, budget: len(dfs))


def _ranked(store: PostgresStore, tenant: str, q: str, k: int, filters: Any = ()) -> list[Any]:
    return [
        (h.chunk.id, round(h.score, 9))
        for h in store.keyword_search(tenant, q, k=k, filters=filters)
    ]


FILTERS: list[list[Condition]] = [
    [],
    [parse_filter("doc_type=x")],
    [parse_filter("n>=3")],
    [parse_filter("tags=odd"), parse_filter("n<5")],
]


def _compare(url: str, monkeypatch: pytest.MonkeyPatch, **store_kwargs: Any) -> int:
    """Pruned vs unpruned rankings for many queries, ks and filters; pruned passes."""
    store = PostgresStore(url, **store_kwargs)
    monkeypatch.setattr(search, "FIRST_PASS_ROWS", 1)  # prune even on a small corpus
    pruned_passes = 0
    real = search.essential_prefix

    def spy(bounds: Any, threshold: float) -> int:
        nonlocal pruned_passes
        cut = real(bounds, threshold)
        pruned_passes += cut < len(bounds)
        return cut

    cases = [(q, k, f) for q in _queries(25) for k in (1, 5, 20) for f in FILTERS]
    with monkeypatch.context() as m:
        m.setattr(search, "essential_prefix", spy)
        fast = [_ranked(store, "a", q, k, f) for q, k, f in cases]
    with monkeypatch.context() as m:
        _unpruned(m)
        exact = [_ranked(store, "a", q, k, f) for q, k, f in cases]
    store.close()
    for (q, k, f), got, want in zip(cases, fast, exact, strict=True):
        assert got == want, (q, k, f)
    return pruned_passes


def test_one_pass_bm25_ranks_exactly_like_scoring_every_row(
    corpus_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIN unusable (the default for a non-superuser install): one capped pass.
    assert not PostgresStore(corpus_url).index_search
    _compare(corpus_url, monkeypatch)


def test_pruned_bm25_ranks_exactly_like_scoring_every_row(
    pg_server: Any, corpus_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _admin(pg_server, corpus_url, search.enable_index_search)
    try:
        assert PostgresStore(corpus_url).index_search
        assert _compare(corpus_url, monkeypatch) > 0  # pruning did happen
    finally:
        _admin(
            pg_server,
            corpus_url,
            lambda conn: [
                conn.execute(f"ALTER FUNCTION {f} NOT LEAKPROOF")
                for f in search.SEARCH_OPERATOR_FUNCTIONS
            ],
        )


def test_hits_respect_tenant_and_filters(corpus_url: str) -> None:
    store = PostgresStore(corpus_url)
    for q in _queries(10):
        for filters in FILTERS:
            hits = store.keyword_search("a", q, k=30, filters=filters)
            assert all(h.chunk.tenant == "a" and matches(h.chunk, filters) for h in hits)
            scores = [h.score for h in hits]
            assert scores == sorted(scores, reverse=True)
    # The other tenant holds the same texts: the same ranking, its own rows.
    a = [(h.chunk.id, h.score) for h in store.keyword_search("a", "w007 w150", k=10)]
    b = [(h.chunk.id, h.score) for h in store.keyword_search("b", "w007 w150", k=10)]
    assert a and a == b
    assert store.keyword_search("nobody", "w000", k=10) == []
    store.close()


def test_row_cap_keeps_the_rare_words_matches(corpus_url: str) -> None:
    capped = PostgresStore(corpus_url, keyword_max_rows=1)
    full = PostgresStore(corpus_url)
    # A rare word and a word in nearly every chunk: the cap scores only the rare
    # word's rows, which are the best ones anyway.
    got = [h.chunk.id for h in capped.keyword_search("a", "w000 w250", k=3)]
    want = [h.chunk.id for h in full.keyword_search("a", "w000 w250", k=3)]
    assert got and got == want[: len(got)]
    # A query of common words alone still answers (the rarest word is always scored).
    assert len(capped.keyword_search("a", "w000 w001", k=5)) == 5
    capped.close()
    full.close()


def test_unusable_gin_index_is_reported_once_at_open(
    corpus_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="ragline.store"):
        store = PostgresStore(corpus_url)
    assert not store.index_search
    warnings = [r.getMessage() for r in caplog.records if "LEAKPROOF" in r.getMessage()]
    assert len(warnings) == 1 and "ALTER FUNCTION" in warnings[0]
    assert "app-secret-pw" not in warnings[0]  # names the database, never the password
    store.close()


# -- pure helpers ------------------------------------------------------------------------


def test_essential_prefix() -> None:
    bounds = [5.0, 3.0, 1.0, 0.5]
    assert search.essential_prefix(bounds, 0.0) == 4  # fewer than k yet: every word
    assert search.essential_prefix(bounds, 1.5) == 2  # the tail 1.0 + 0.5 cannot reach it
    assert search.essential_prefix(bounds, 1.49) == 3
    assert search.essential_prefix(bounds, 100.0) == 0
    assert search.essential_prefix([], 1.0) == 0


def test_first_pass_prefix_takes_at_least_one_word() -> None:
    assert search.first_pass_prefix([10, 20, 30], 35) == 2
    assert search.first_pass_prefix([10, 20, 30], 5) == 1
    assert search.first_pass_prefix([10, 20, 30], 1000) == 3


def test_idf_with_stale_counts_stays_positive() -> None:
    # Cached statistics may count more matches than the cached chunk total.
    assert search.bm25_idf(10, 50) > 0
    assert search.bm25_idf(0, 3) == 0.0


# -- vectors -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vector_url(pg_server: Any) -> Iterator[str]:
    """400 chunks with random vectors; 'half' on every other document."""
    rng = np.random.default_rng(2)
    for url in fresh_database(pg_server):
        store = PostgresStore(url)
        for i in range(100):
            doc, chunks, _ = make_document(
                f"v{i}", [f"v{i} {j}" for j in range(4)], metadata={"half": i % 2 == 0}
            )
            vecs = rng.standard_normal((4, EMBEDDER.dimension)).astype(np.float32)
            store.upsert_document(doc, chunks, vecs)
        # Four identical vectors: ties are broken by chunk id.
        doc, chunks, _ = make_document("tie", ["t0", "t1", "t2", "t3"])
        store.upsert_document(doc, chunks, np.ones((4, EMBEDDER.dimension), np.float32))
        store.close()
        yield url


def test_vector_search_agrees_with_exact_search(vector_url: str) -> None:
    """HNSW (with over-fetch for a broad filter) finds the exact top k, scores exact."""
    store = PostgresStore(vector_url)
    rng = np.random.default_rng(3)
    found = wanted = 0
    for filters, k in [([], 5), ([], 20), ([parse_filter("half=true")], 5)]:
        for _ in range(10):
            q = rng.standard_normal(EMBEDDER.dimension).astype(np.float32)
            got = store.vector_search("default", q, k=k, filters=filters)
            want = dict(_exact_search(store, q, 10_000, filters))
            assert len(got) == k
            assert all(matches(h.chunk, filters) for h in got)
            assert [h.score for h in got] == pytest.approx([want[h.chunk.id] for h in got])
            assert [(-h.score, h.chunk.id) for h in got] == sorted(
                (-h.score, h.chunk.id) for h in got
            )
            top = {i for i, _ in list(want.items())[:k]}
            found += len(top & {h.chunk.id for h in got})
            wanted += k
    assert found / wanted >= 0.9  # HNSW is approximate; on 400 rows it is ~exact
    store.close()


def _exact_search(store: PostgresStore, q: Any, k: int, filters: Any) -> list[tuple[str, float]]:
    ids = [f"{d.id}#{j}" for d in store.list_documents("default") for j in range(4)]
    chunks = {c.id: c for c in store.get_chunks("default", ids)}
    vecs = store.get_embeddings("default", ids)
    vecs = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
    scores = vecs @ (q / np.linalg.norm(q))
    ranked = sorted(
        ((i, float(s)) for i, s in zip(ids, scores, strict=True) if matches(chunks[i], filters)),
        key=lambda r: (-r[1], r[0]),
    )
    return ranked[:k]


def test_vector_ties_are_ordered_by_id(vector_url: str) -> None:
    store = PostgresStore(vector_url)
    hits = store.vector_search("default", np.ones(EMBEDDER.dimension, np.float32), k=3)
    assert [h.chunk.id for h in hits] == ["tie#0", "tie#1", "tie#2"]
    store.close()


def test_ef_search_above_pgvectors_limit_is_clamped(vector_url: str) -> None:
    store = PostgresStore(vector_url, ef_search=5000)  # pgvector accepts at most 1000
    q = np.random.default_rng(4).standard_normal(EMBEDDER.dimension).astype(np.float32)
    assert len(store.vector_search("default", q, k=5)) == 5
    store.close()
