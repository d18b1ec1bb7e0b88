"""Persistent sentence vectors: what makes a never-seen question cheap to answer.

The extractive answerer embeds up to ``ExtractiveTuning.embed_limit`` candidate
sentences per question (~3 ms each with the bundled MiniLM on a 2-core CPU). Those
vectors depend only on the sentence text and the embedder, so they are computed once
— at ingest (:func:`precompute_sentences`, ``answer.precompute_sentences``) or by the
first answer that needs them — and kept in a :class:`SentenceStore` next to the
documents. An answer then looks them up (one indexed query for its ≤ 8 sentences) and
embeds only the question.

A row is keyed by (tenant, embedder name, :func:`sentence_key` of the exact text the
answerer embeds): a tenant never reads another's vectors, and a vector of another
embedder is never used. Rows are a cache keyed by content, so a deleted or edited
document leaves stale rows that no answer can reach and that do no harm (the same
text always has the same vector); nothing cleans them up today.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

import numpy as np

from ragline.answer._sentences import Segment, segments
from ragline.answer._tables import Table, row_segments, split_tables
from ragline.embed._base import Embedder
from ragline.errors import EmbedderError
from ragline.store._base import Store
from ragline.store._sentences import SentenceStore, get_many
from ragline.types import Chunk

#: default number of sentences embedded per ``embed_documents`` call at ingest
EMBED_BATCH = 256


def sentence_key(text: str) -> bytes:
    """The 16-byte key of a sentence: the start of the SHA-256 of its UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()[:16]


def sentence_candidates(text: str, *, min_words: int) -> list[tuple[Segment, bool]]:
    """A chunk's segments the answerer can cite (headings left out), each with ``short``.

    ``short`` (fewer than ``min_words`` words) segments are used only when a question's
    hits have no other. A table (``|`` cells, see :mod:`ragline.answer._tables`) gives
    one ``row`` segment per data row, with its column headers, never ``short``.
    The answerer and :func:`precompute_sentences` both split here,
    so the keys written at ingest are the keys an answer looks up.
    """
    out: list[tuple[Segment, bool]] = []
    for part in split_tables(text) if "|" in text else [text]:
        if isinstance(part, Table):  # one segment per data row, with its column headers
            pieces = [Segment(row, "row", 0) for row in row_segments(part)]
        else:
            pieces = [seg for seg in segments(part) if seg.kind != "heading"]
        for seg in pieces:
            seg = Segment(seg.text, seg.kind, len(out))
            out.append((seg, seg.kind != "row" and len(seg.text.split()) < min_words))
    return out


def precompute_sentences(
    sentences: SentenceStore,
    embedder: Embedder,
    tenant: str,
    chunks: Iterable[Chunk],
    *,
    min_words: int = 3,
    batch_size: int = EMBED_BATCH,
) -> int:
    """Embed and store the candidate sentences of ``chunks`` not stored yet; return how many.

    Splits exactly as the answerer does (:func:`sentence_candidates`); short segments
    are left out (an answer uses them only when nothing else is left, and embeds them
    then). Sentences already stored for this tenant and embedder are not embedded
    again, so re-running it is cheap.
    """
    texts: dict[bytes, str] = {}
    for chunk in chunks:
        for seg, short in sentence_candidates(chunk.text, min_words=min_words):
            if not short:
                texts.setdefault(sentence_key(seg.text), seg.text)
    if not texts:
        return 0
    stored = get_many(sentences, tenant, embedder.name, list(texts))
    missing = [k for k in texts if k not in stored]
    step = max(1, batch_size)
    for i in range(0, len(missing), step):
        keys = missing[i : i + step]
        out = np.asarray(embedder.embed_documents([texts[k] for k in keys]), dtype=np.float32)
        if out.shape != (len(keys), embedder.dimension):
            raise EmbedderError(
                f"embedder {embedder.name} returned shape {out.shape} for {len(keys)} "
                f"sentences (expected ({len(keys)}, {embedder.dimension}))",
                hint="check the embedder configuration",
            )
        sentences.put(tenant, embedder.name, dict(zip(keys, out, strict=True)))
    return len(missing)


def sentence_hook(
    sentences: SentenceStore, embedder: Embedder, *, batch_size: int
) -> Callable[[str, list[Chunk]], int]:
    """Ingest's ``on_embedded`` hook: store the answer sentences of the chunks just embedded."""
    from ragline.answer._extractive import ExtractiveTuning

    min_words = ExtractiveTuning().min_words

    def hook(tenant: str, chunks: list[Chunk]) -> int:
        return precompute_sentences(
            sentences, embedder, tenant, chunks, min_words=min_words, batch_size=batch_size
        )

    return hook


def backfill_sentences(
    store: Store,
    sentences: SentenceStore,
    embedder: Embedder,
    tenants: Iterable[str],
    *,
    batch_size: int,
    on_progress: Callable[[int, int, str], None] | None = None,
) -> int:
    """Embed and store the answer sentences of chunks already in ``store``; return how many.

    Sentences already stored are skipped, so it is cheap to re-run. ``on_progress(done,
    total, document_id)`` is called per group of documents.
    """
    hook = sentence_hook(sentences, embedder, batch_size=batch_size)
    total = 0
    for tenant in tenants:
        docs = store.list_documents(tenant)
        for i in range(0, len(docs), 64):
            group = docs[i : i + 64]
            ids = [f"{d.id}#{n}" for d in group for n in range(d.chunk_count)]
            total += hook(tenant, store.get_chunks(tenant, ids))
            if on_progress is not None:
                on_progress(i + len(group), len(docs), group[-1].id)
    return total
