"""Fusing ranked lists from several retrievers ("legs") into one list of hits.

Every fused :class:`~ragline.types.Hit` keeps each leg's own score and 1-based rank
(``scores={"keyword": 7.1, "dense": 0.62}``, ``ranks={"keyword": 3, "dense": 1}``)
for the legs that found it; ``Hit.score`` is the fused value. A chunk a leg did not
return simply has no entry for that leg.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ragline.store import ScoredChunk
from ragline.types import Chunk, Hit

Legs = Mapping[str, Sequence[ScoredChunk]]


@dataclass(slots=True)
class _Entry:
    chunk: Chunk
    scores: dict[str, float] = field(default_factory=dict)
    ranks: dict[str, int] = field(default_factory=dict)


def _collect(legs: Legs) -> dict[str, _Entry]:
    """Per chunk id: the chunk and its score and rank in every leg that found it.

    A leg that (wrongly) lists a chunk twice keeps its first, best-ranked entry.
    """
    entries: dict[str, _Entry] = {}
    for leg, results in legs.items():
        for rank, scored in enumerate(results, start=1):
            entry = entries.setdefault(scored.chunk.id, _Entry(scored.chunk))
            if leg not in entry.ranks:
                entry.scores[leg] = float(scored.score)
                entry.ranks[leg] = rank
    return entries


def _sorted(entries: dict[str, _Entry], fused: dict[str, float]) -> list[Hit]:
    """Best fused score first; ties go to the best rank in any leg, then the id."""

    def key(cid: str) -> tuple[float, int, str]:
        return (-fused[cid], min(entries[cid].ranks.values()), cid)

    return [
        Hit(
            chunk=entries[cid].chunk,
            score=fused[cid],
            scores=dict(entries[cid].scores),
            ranks=dict(entries[cid].ranks),
        )
        for cid in sorted(fused, key=key)
    ]


def rrf_fuse(legs: Legs, *, k: int = 60, weights: Mapping[str, float] | None = None) -> list[Hit]:
    """Reciprocal rank fusion: ``score(d) = Σ_leg w_leg / (k + rank_leg(d))``.

    Only ranks matter, so legs with incomparable score scales (BM25, cosine) fuse
    without normalisation. ``weights`` default to 1 for every leg.
    """
    if k < 1:
        raise ValueError("rrf k must be at least 1")
    entries = _collect(legs)
    fused: dict[str, float] = {}
    for cid, entry in entries.items():
        fused[cid] = sum(
            (1.0 if weights is None else float(weights.get(leg, 1.0))) / (k + rank)
            for leg, rank in entry.ranks.items()
        )
    return _sorted(entries, fused)


def min_max(values: Sequence[float]) -> list[float]:
    """Scale to [0, 1]; a list whose values are all equal maps to all 1.0."""
    if not values:
        return []
    lo, hi = min(values), max(values)
    if hi - lo <= 1e-12:
        return [1.0] * len(values)
    return [(v - lo) / (hi - lo) for v in values]


def weighted_fuse(legs: Legs, weights: Mapping[str, float]) -> list[Hit]:
    """Weighted sum of per-leg min-max normalised scores.

    Each leg's scores are scaled to [0, 1] over the results that leg returned; a
    chunk missing from a leg gets 0 from it. Legs without a weight count with 1.
    """
    entries = _collect(legs)
    fused: dict[str, float] = dict.fromkeys(entries, 0.0)
    for leg in legs:
        ids = [cid for cid, e in entries.items() if leg in e.scores]
        normed = min_max([entries[cid].scores[leg] for cid in ids])
        w = float(weights.get(leg, 1.0))
        for cid, value in zip(ids, normed, strict=True):
            fused[cid] += w * value
    return _sorted(entries, fused)


def single_leg(leg: str, results: Sequence[ScoredChunk]) -> list[Hit]:
    """Hits from one retriever alone: the fused score is that leg's score."""
    entries = _collect({leg: results})
    return _sorted(entries, {cid: e.scores[leg] for cid, e in entries.items()})
