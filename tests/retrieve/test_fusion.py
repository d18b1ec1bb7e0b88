"""Reciprocal rank fusion and weighted fusion on hand-made ranked lists."""

from __future__ import annotations

import pytest

from ragline.retrieve import min_max, rrf_fuse, single_leg, weighted_fuse
from ragline.store import ScoredChunk
from ragline.types import Chunk


def sc(cid: str, score: float) -> ScoredChunk:
    return ScoredChunk(Chunk(id=cid, document_id=cid, ordinal=0, text=cid, title=cid), score)


LEGS = {
    "keyword": [sc("a", 10.0), sc("b", 5.0), sc("c", 0.0)],
    "dense": [sc("c", 0.9), sc("a", 0.5), sc("d", 0.1)],
}


def test_rrf_scores_are_sums_of_reciprocal_ranks() -> None:
    hits = rrf_fuse(LEGS, k=60)
    by_id = {h.chunk.id: h.score for h in hits}
    assert by_id["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert by_id["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert by_id["b"] == pytest.approx(1 / 62)
    assert by_id["d"] == pytest.approx(1 / 63)
    assert [h.chunk.id for h in hits] == ["a", "c", "b", "d"]


def test_rrf_k_changes_the_values_not_the_inputs() -> None:
    hits = rrf_fuse(LEGS, k=1)
    assert {h.chunk.id: h.score for h in hits}["a"] == pytest.approx(1 / 2 + 1 / 3)
    with pytest.raises(ValueError):
        rrf_fuse(LEGS, k=0)


def test_rrf_weights_scale_each_leg() -> None:
    hits = rrf_fuse(LEGS, k=60, weights={"keyword": 0.0, "dense": 1.0})
    assert [h.chunk.id for h in hits][:2] == ["c", "a"]


def test_fused_hits_keep_each_legs_score_and_rank() -> None:
    hits = {h.chunk.id: h for h in rrf_fuse(LEGS, k=60)}
    assert hits["a"].scores == {"keyword": 10.0, "dense": 0.5}
    assert hits["a"].ranks == {"keyword": 1, "dense": 2}
    assert hits["c"].ranks == {"keyword": 3, "dense": 1}
    # found by one leg only: only that leg is recorded
    assert hits["b"].scores == {"keyword": 5.0} and hits["b"].ranks == {"keyword": 2}
    assert hits["d"].ranks == {"dense": 3}


def test_weighted_fusion_uses_min_max_normalised_scores() -> None:
    hits = weighted_fuse(LEGS, {"keyword": 0.5, "dense": 0.5})
    by_id = {h.chunk.id: h for h in hits}
    # keyword: a=1, b=.5, c=0; dense: c=1, a=.5, d=0
    assert by_id["a"].score == pytest.approx(0.75)
    assert by_id["c"].score == pytest.approx(0.5)
    assert by_id["b"].score == pytest.approx(0.25)
    assert by_id["d"].score == pytest.approx(0.0)
    assert [h.chunk.id for h in hits] == ["a", "c", "b", "d"]
    assert by_id["a"].scores == {"keyword": 10.0, "dense": 0.5}
    assert by_id["a"].ranks == {"keyword": 1, "dense": 2}


def test_weighted_fusion_follows_the_weights() -> None:
    hits = weighted_fuse(LEGS, {"keyword": 0.1, "dense": 0.9})
    assert hits[0].chunk.id == "c"


def test_min_max_edge_cases() -> None:
    assert min_max([]) == []
    assert min_max([3.0, 3.0]) == [1.0, 1.0]
    assert min_max([1.0, 3.0, 2.0]) == [0.0, 1.0, 0.5]


def test_single_leg_keeps_the_legs_order_and_score() -> None:
    hits = single_leg("dense", LEGS["dense"])
    assert [h.chunk.id for h in hits] == ["c", "a", "d"]
    assert hits[0].score == 0.9 and hits[0].ranks == {"dense": 1}


def test_a_leg_listing_a_chunk_twice_counts_it_once() -> None:
    hits = rrf_fuse({"keyword": [sc("a", 2.0), sc("a", 1.0)]}, k=60)
    assert len(hits) == 1 and hits[0].ranks == {"keyword": 1}
    assert hits[0].score == pytest.approx(1 / 61)


def test_empty_legs_give_no_hits() -> None:
    assert rrf_fuse({"keyword": [], "dense": []}) == []
    assert weighted_fuse({"keyword": []}, {}) == []
