"""Attribute builders shared by the instrumented pipeline steps (JSON values only)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ragline.store._base import ScoredChunk
    from ragline.store._filters import Condition
    from ragline.types import AnswerSentence, Hit

#: how many hits a retriever/fusion span records
TOP_HITS = 10


def _r(x: float) -> float:
    return float(x)  # numpy scalars from some stores become plain floats


def condition(c: Condition) -> str:
    """``language in ('en',)``: a filter as a short readable string."""
    return f"{c.field} {c.op} {c.value!r}"


def scored_chunks(results: Sequence[ScoredChunk], limit: int = TOP_HITS) -> list[dict[str, Any]]:
    """One retriever's top results, best first: chunk id and score.

    Kept small on purpose (the writer encodes every span): the list order is the
    rank, and the final hits (``ragline.hits``) carry document ids and text.
    """
    return [{"chunk_id": r.chunk.id, "score": _r(r.score)} for r in results[:limit]]


def hits(
    items: Sequence[Hit], limit: int = TOP_HITS, *, text: bool = False
) -> list[dict[str, Any]]:
    """Hits, best first: chunk id, fused score, each retriever's score and rank.

    With ``text`` (the final hits): also rank, document id, title, language and text.
    """
    out: list[dict[str, Any]] = []
    for i, h in enumerate(items[:limit]):
        d: dict[str, Any] = {
            "chunk_id": h.chunk.id,
            "score": _r(h.score),
            "scores": {k: float(v) for k, v in h.scores.items()},
            "ranks": dict(h.ranks),
        }
        if text:
            d["rank"] = i + 1
            d["document_id"] = h.chunk.document_id
            d["title"] = h.chunk.title
            d["language"] = h.chunk.language  # monitoring: cross-language retrieval
            d["text"] = h.chunk.text
            d["content_hash"] = h.chunk.content_hash  # replay: has the chunk changed since?
        out.append(d)
    return out


def sentences(items: Iterable[AnswerSentence]) -> list[dict[str, Any]]:
    """Answer sentences with their citations and support scores."""
    return [
        {"text": s.text, "citations": list(s.citations), "support": _r(s.support)} for s in items
    ]
