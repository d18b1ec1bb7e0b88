"""VectorIndex returns the exact cosine top-k, with and without filters."""

from __future__ import annotations

import numpy as np

from ragline.store._common import normalize_rows
from ragline.store._vectors import VectorIndex


def _exact(matrix: np.ndarray, q: np.ndarray, k: int, mask: np.ndarray | None) -> list[int]:
    scores = matrix.astype(np.float64) @ q.astype(np.float64)
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    order = np.lexsort((np.arange(len(scores)), -scores))[:k]
    return [int(i) for i in order if np.isfinite(scores[i])]


def test_matches_exact_search() -> None:
    rng = np.random.default_rng(0)
    matrix = normalize_rows(rng.standard_normal((3000, 48)).astype(np.float32))
    index = VectorIndex(matrix)
    masks = [None, rng.random(3000) < 0.5, rng.random(3000) < 0.05, np.zeros(3000, bool)]
    for _ in range(5):
        q = normalize_rows(rng.standard_normal((1, 48)).astype(np.float32))[0]
        for mask in masks:
            rows, scores = index.search(q, 20, mask)
            assert [int(r) for r in rows] == _exact(matrix, q, 20, mask)
            assert np.allclose(scores, matrix[rows] @ q, atol=1e-6)
            assert rows.shape[0] == (20 if mask is None else min(20, int(mask.sum())))


def test_k_larger_than_rows() -> None:
    index = VectorIndex(normalize_rows(np.eye(3, dtype=np.float32)))
    rows, scores = index.search(np.array([0, 1, 0], np.float32), 10)
    assert [int(r) for r in rows] == [1, 0, 2]
    assert scores.tolist() == [1.0, 0.0, 0.0]
