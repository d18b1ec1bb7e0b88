"""The :class:`Reranker` protocol and the helper most rerankers are built on.

A reranker takes the question and the fused hits (best first) and returns them in its
own order, best first: the same hits (none invented, none repeated), each with its
reranker score in ``hit.scores["rerank"]`` and its new rank in ``hit.ranks["rerank"]``.
``hit.score`` keeps the fused score, so thresholds calibrated on it (the extractive
answerer's ``min_relevance``) mean what they meant. ``top_n`` keeps only the best
``top_n``.

A reranker that cannot order the hits raises :class:`~ragline.errors.RerankerError`
(or :class:`~ragline.errors.RerankerTimeout`); the rerank stage then keeps the fused
order and records why. Most backends only score: :class:`ScoringReranker` turns
``scores(query, texts)`` into the ordering, and rejects a reply that has fewer or
more scores than documents, or one that is not a finite number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol, runtime_checkable

from ragline.errors import RerankerError
from ragline.types import Hit


@runtime_checkable
class Reranker(Protocol):
    """``name`` is the spec it was made from (``http:…``, ``llm:…``…)."""

    name: str

    def rerank(self, query: str, hits: Sequence[Hit], *, top_n: int | None = None) -> list[Hit]: ...


def passage(hit: Hit) -> str:
    """The text a reranker reads for a hit: its title (if any) and its text."""
    title = hit.chunk.title.strip()
    text = hit.chunk.text
    return f"{title}\n{text}" if title and not text.startswith(title) else text


def order_by(
    name: str, hits: Sequence[Hit], scores: Sequence[float], top_n: int | None = None
) -> list[Hit]:
    """``hits`` sorted by ``scores`` (ties keep the fused order), marked with the score
    and rank; a wrong number of scores or a non-finite one is a :class:`RerankerError`."""
    if len(scores) != len(hits):
        raise RerankerError(
            f"reranker {name} returned {len(scores)} scores for {len(hits)} documents",
            hint="check the reranker server's model and the request it was sent",
        )
    values: list[float] = []
    for s in scores:
        try:
            v = float(s)
        except (TypeError, ValueError):
            raise RerankerError(
                f"reranker {name} returned a score that is not a number: {s!r}"
            ) from None
        if not math.isfinite(v):
            raise RerankerError(f"reranker {name} returned a score that is not finite: {s!r}")
        values.append(v)
    order = sorted(range(len(hits)), key=lambda i: -values[i])
    if top_n is not None:
        order = order[: max(0, top_n)]
    return [
        replace(
            hits[i],
            scores={**hits[i].scores, "rerank": values[i]},
            ranks={**hits[i].ranks, "rerank": rank},
        )
        for rank, i in enumerate(order, 1)
    ]


class ScoringReranker:
    """A reranker made of :meth:`scores`: one relevance score per passage, higher is better."""

    name: str

    def scores(self, query: str, texts: Sequence[str]) -> Sequence[float]:
        raise NotImplementedError

    def rerank(self, query: str, hits: Sequence[Hit], *, top_n: int | None = None) -> list[Hit]:
        if not hits:
            return []
        scores = self.scores(query, [passage(h) for h in hits])
        return order_by(self.name, hits, scores, top_n)
