"""``RerankerConformance``: the shared test suite every ``Reranker`` must pass.

Subclass it in a backend's test module and provide a ``reranker`` fixture::

    class TestMyReranker(RerankerConformance):
        @pytest.fixture
        def reranker(self) -> Reranker:
            return MyReranker(...)

``semantic = False`` for rerankers that do not model meaning (a scripted fake, a tiny
random test model), which skips the test that the passage answering the question
comes first. ``hits(texts)`` builds the hits a test passes in, in fused order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import pytest

from ragline.rerank._base import Reranker
from ragline.types import Chunk, Hit

QUESTION = "What is the capital of France?"
PASSAGES = [
    "Photosynthesis turns light, water and carbon dioxide into sugar in green plants.",
    "Quarterly revenue grew by twelve percent compared with last year.",
    "Paris is the capital of France and its largest city.",
    "To reset your password, open settings and choose 'forgot password'.",
    "Cats sleep most of the day and hunt at night.",
]
ANSWERING = 2  #: the index of the passage that answers QUESTION


def hits(texts: Sequence[str], *, tenant: str = "default") -> list[Hit]:
    """Hits for ``texts`` in fused order (scores falling), one document each."""
    return [
        Hit(
            Chunk(id=f"c{i}", document_id=f"d{i}", ordinal=0, text=t, title="", tenant=tenant),
            score=1.0 / (i + 1),
            scores={"keyword": 1.0 / (i + 1)},
            ranks={"keyword": i + 1},
        )
        for i, t in enumerate(texts)
    ]


class RerankerConformance:
    """Contract tests for :class:`ragline.rerank.Reranker` implementations."""

    #: False for rerankers that do not model meaning (skips the relevance test)
    semantic: ClassVar[bool] = True

    @pytest.fixture
    def reranker(self) -> Reranker:
        raise NotImplementedError("subclasses provide a `reranker` fixture")

    def test_satisfies_protocol(self, reranker: Reranker) -> None:
        assert isinstance(reranker, Reranker)
        assert isinstance(reranker.name, str) and reranker.name

    def test_no_hits_no_call(self, reranker: Reranker) -> None:
        assert reranker.rerank(QUESTION, []) == []

    def test_returns_the_same_hits_reordered_and_marked(self, reranker: Reranker) -> None:
        given = hits(PASSAGES)
        ranked = reranker.rerank(QUESTION, given)
        assert sorted(h.chunk.id for h in ranked) == sorted(h.chunk.id for h in given)
        assert [h.ranks["rerank"] for h in ranked] == list(range(1, len(given) + 1))
        scores = [h.scores["rerank"] for h in ranked]
        assert scores == sorted(scores, reverse=True), "best first"
        by_id = {h.chunk.id: h for h in given}
        for h in ranked:  # the fused score and the retrievers' scores are kept
            assert h.score == by_id[h.chunk.id].score
            assert h.scores["keyword"] == by_id[h.chunk.id].scores["keyword"]
            assert h.chunk.text == by_id[h.chunk.id].chunk.text

    def test_does_not_change_the_hits_it_was_given(self, reranker: Reranker) -> None:
        given = hits(PASSAGES)
        before = [(h.chunk.id, dict(h.scores), dict(h.ranks)) for h in given]
        reranker.rerank(QUESTION, given)
        assert [(h.chunk.id, h.scores, h.ranks) for h in given] == before

    def test_top_n_keeps_the_best(self, reranker: Reranker) -> None:
        full = reranker.rerank(QUESTION, hits(PASSAGES))
        top = reranker.rerank(QUESTION, hits(PASSAGES), top_n=2)
        assert [h.chunk.id for h in top] == [h.chunk.id for h in full[:2]]

    def test_one_hit(self, reranker: Reranker) -> None:
        (only,) = reranker.rerank(QUESTION, hits(PASSAGES[:1]))
        assert only.chunk.id == "c0" and only.ranks["rerank"] == 1

    def test_the_answering_passage_comes_first(self, reranker: Reranker) -> None:
        if not self.semantic:
            pytest.skip("this reranker does not model meaning")
        ranked = reranker.rerank(QUESTION, hits(PASSAGES))
        assert ranked[0].chunk.id == f"c{ANSWERING}"
