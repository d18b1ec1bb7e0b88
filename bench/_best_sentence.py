"""``SentenceReranker``: a candidate built-in offline reranker, measured by
``bench/rerank_scifact.py`` and *not shipped* (it did not raise SciFact nDCG@10; see
bench/RESULTS.md). Kept here so the measurement can be reproduced.

A chunk is often relevant because of one sentence that its whole-chunk vector blurs.
This reranker scores each candidate by its best sentence: the cosine between the
question's vector and each of the chunk's sentence vectors — the ones the extractive
answerer stores at ingest (``answer.precompute_sentences``), so it costs one store
lookup and no model call for chunks ingested that way (a sentence not stored yet is
embedded once and stored). The best-sentence ranking is then fused with the retrieval
ranking by reciprocal rank, ``1/(k + fused rank) + weight/(k + sentence rank)``, so a
chunk the retrievers agree on is not thrown out by one sentence. Uses the project's
embedder; nothing to install or download.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ragline.answer._sentence_vectors import precompute_sentences, sentence_candidates, sentence_key
from ragline.embed._base import Embedder
from ragline.rerank import order_by
from ragline.store._base import Vector
from ragline.store._sentences import SentenceStore, get_many
from ragline.types import Hit

#: segments shorter than this many words are not scored (as in the answerer)
MIN_WORDS = 3


class SentenceReranker:
    """See the module docstring. ``embed_query(query, tenant)`` gives the question's
    vector (the retriever's query cache, so the vector search's one is reused)."""

    name = "best-sentence"

    def __init__(
        self,
        embedder: Embedder,
        sentences: SentenceStore,
        *,
        embed_query: Callable[[str, str], Vector] | None = None,
        k: int = 60,
        weight: float = 1.0,
    ) -> None:
        self.embedder = embedder
        self.sentences = sentences
        self._embed_query = embed_query
        self.k = k
        self.weight = weight

    def query_vector(self, query: str, tenant: str) -> Vector:
        if self._embed_query is not None:
            return self._embed_query(query, tenant)
        return self.embedder.embed_query(query)

    def best_sentences(self, query: str, hits: Sequence[Hit]) -> list[float]:
        """Each hit's best sentence cosine (-1 for a chunk with no sentence to score)."""
        if not hits:
            return []
        tenant = hits[0].chunk.tenant
        keys: list[list[bytes]] = []
        for h in hits:
            cands = sentence_candidates(h.chunk.text, min_words=MIN_WORDS)
            keys.append([sentence_key(s.text) for s, short in cands if not short])
        wanted = list(dict.fromkeys(k for ks in keys for k in ks))
        found = get_many(self.sentences, tenant, self.embedder.name, wanted) if wanted else {}
        if len(found) < len(wanted):  # not stored at ingest: embed and keep them now
            precompute_sentences(
                self.sentences, self.embedder, tenant, [h.chunk for h in hits], min_words=MIN_WORDS
            )
            found = get_many(self.sentences, tenant, self.embedder.name, wanted)
        q = np.asarray(self.query_vector(query, tenant), dtype=np.float32)
        best: list[float] = []
        for ks in keys:
            vectors = [found[k] for k in ks if k in found]
            if not vectors:
                best.append(-1.0)
                continue
            best.append(float(np.max(np.asarray(vectors, dtype=np.float32) @ q)))
        return best

    def rerank(self, query: str, hits: Sequence[Hit], *, top_n: int | None = None) -> list[Hit]:
        if not hits:
            return []
        best = self.best_sentences(query, hits)
        by_sentence = sorted(range(len(hits)), key=lambda i: -best[i])
        sentence_rank = {i: r for r, i in enumerate(by_sentence, 1)}
        scores = [
            1.0 / (self.k + i + 1) + self.weight / (self.k + sentence_rank[i])
            for i in range(len(hits))
        ]
        return order_by(self.name, hits, scores, top_n)
