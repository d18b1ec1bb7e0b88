"""Maximal marginal relevance: trade a little relevance for less redundancy.

Greedy selection (Carbonell & Goldstein, 1998)::

    next = argmax_d  λ · rel(d) − (1 − λ) · max_{s ∈ selected} cos(d, s)

``rel`` is the hit's fused score min-max scaled to [0, 1] over the candidates, so
the order that fusion and routing produced is what MMR starts from, whatever the
scale of the fused score. With ``λ = 1`` the order is unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ragline.retrieve._fusion import min_max
from ragline.store import Matrix
from ragline.types import Hit


def mmr_select(hits: Sequence[Hit], embeddings: Matrix, *, k: int, lambda_: float) -> list[Hit]:
    """Pick up to ``k`` hits from ``hits`` (best first) with ``embeddings`` row-aligned.

    Each returned hit gets ``scores["mmr"]``: its marginal relevance when picked.
    """
    if not 0.0 <= lambda_ <= 1.0:
        raise ValueError("mmr lambda must be between 0 and 1")
    n = len(hits)
    if n == 0 or k <= 0:
        return []
    if embeddings.shape[0] != n:
        raise ValueError(f"{n} hits but {embeddings.shape[0]} embedding rows")
    rel = np.asarray(min_max([h.score for h in hits]), dtype=np.float64)
    vecs = np.asarray(embeddings, dtype=np.float64)
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    vecs = vecs / np.where(norms > 0, norms, 1.0)
    sim = vecs @ vecs.T

    selected: list[int] = []
    picked_scores: list[float] = []
    remaining = list(range(n))
    # redundancy[i] = max cosine of candidate i to anything selected so far
    redundancy = np.full(n, -np.inf)
    while remaining and len(selected) < k:
        if selected:
            values = lambda_ * rel[remaining] - (1.0 - lambda_) * redundancy[remaining]
        else:
            values = lambda_ * rel[remaining]
        best_pos = int(np.argmax(values))  # first maximum: keeps fused order on ties
        best = remaining.pop(best_pos)
        selected.append(best)
        picked_scores.append(float(values[best_pos]))
        redundancy = np.maximum(redundancy, sim[best])
    return [
        Hit(
            chunk=hits[i].chunk,
            score=hits[i].score,
            scores={**hits[i].scores, "mmr": s},
            ranks=dict(hits[i].ranks),
        )
        for i, s in zip(selected, picked_scores, strict=True)
    ]
