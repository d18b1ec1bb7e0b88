"""The SQLite store's BM25 top-k with pruning returns exactly what scoring every posting
returns: the same rows, the same float32 scores, the same order (ties by row), with and
without a filter mask, on random corpora (hypothesis) and at a size where the pruning
actually skips the common terms' postings."""

from __future__ import annotations

from collections import Counter

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from ragline.store.sqlite._bm25 import BM25Index, encode_terms


def exhaustive(
    index: BM25Index, terms: list[int], k: int, mask: npt.NDArray[np.bool_] | None
) -> tuple[list[int], list[float]]:
    scores = index.scores(terms)
    if mask is not None:
        scores[~mask] = 0.0
    rows = np.flatnonzero(scores > 0)
    order = np.lexsort((rows, -scores[rows]))[:k]
    return rows[order].tolist(), scores[rows[order]].tolist()


def build(docs: list[list[int]], *, pruned: bool) -> BM25Index:
    index = BM25Index([encode_terms(Counter(d).items()) if d else None for d in docs])
    if pruned:  # prune even tiny corpora, so the pruning path is what is compared
        index.prune_min_postings = 0
        index.rare_share = 0.5
    return index


corpora = st.lists(
    st.lists(st.integers(0, 11).map(lambda t: t * t % 13), max_size=12), min_size=1, max_size=80
)


@settings(max_examples=200, deadline=None)
@given(
    docs=corpora,
    query=st.lists(st.integers(0, 14), min_size=1, max_size=5),
    k=st.integers(1, 12),
    mask_seed=st.one_of(st.none(), st.integers(0, 2**16)),
)
def test_pruned_top_k_equals_exhaustive_scoring(
    docs: list[list[int]], query: list[int], k: int, mask_seed: int | None
) -> None:
    mask = None
    if mask_seed is not None:
        mask = np.random.default_rng(mask_seed).random(len(docs)) < 0.6
    index = build(docs, pruned=True)
    rows, scores = index.top(query, k, mask)
    assert (rows.tolist(), scores.tolist()) == exhaustive(build(docs, pruned=False), query, k, mask)


def zipf_corpus(n: int, seed: int) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    return [list(rng.zipf(1.3, size=int(rng.integers(5, 60))) % 5000) for _ in range(n)]


def test_rare_plus_common_terms_at_scale_match_and_skip_postings() -> None:
    docs = zipf_corpus(30_000, seed=1)
    index = BM25Index([encode_terms(Counter(d).items()) for d in docs])
    reference = build(docs, pruned=False)
    rng = np.random.default_rng(2)
    skipped = 0
    for q in range(40):
        common = rng.integers(1, 6, size=int(rng.integers(1, 4))).tolist()
        rare = rng.integers(200, 3000, size=int(rng.integers(0, 3))).tolist()
        query = common + rare
        for k in (1, 10, 50):
            mask = rng.random(len(docs)) < 0.3 if q % 3 == 0 else None
            rows, scores = index.top(query, k, mask)
            assert (rows.tolist(), scores.tolist()) == exhaustive(reference, query, k, mask)
            skipped += (
                index._top_pruned(
                    {t: p for t in sorted(set(query)) if (p := index._postings(t)) is not None},
                    k,
                    mask,
                )
                is not None
            )
    assert skipped > 20  # most rare + common queries never scored the common postings


def test_no_known_term_or_no_k_finds_nothing() -> None:
    index = build([[1, 2], [2, 3]], pruned=True)
    for query, k in (([99], 5), ([], 5), ([1], 0)):
        rows, scores = index.top(query, k)
        assert rows.tolist() == [] and scores.tolist() == []
