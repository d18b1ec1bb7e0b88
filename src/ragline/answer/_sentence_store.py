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
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from ragline.answer._sentences import Segment, segments
from ragline.embed._base import Embedder
from ragline.errors import EmbedderError
from ragline.types import Chunk

Vector = npt.NDArray[np.float32]

#: hashes per lookup query (SQLite's default limit of bound parameters is 999+)
LOOKUP_BATCH = 500
#: default number of sentences embedded per ``embed_documents`` call at ingest
EMBED_BATCH = 256


def sentence_key(text: str) -> bytes:
    """The 16-byte key of a sentence: the start of the SHA-256 of its UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()[:16]


def sentence_candidates(text: str, *, min_words: int) -> list[tuple[Segment, bool]]:
    """A chunk's segments the answerer can cite (headings left out), each with ``short``.

    ``short`` (fewer than ``min_words`` words) segments are used only when a question's
    hits have no other. The answerer and :func:`precompute_sentences` both split here,
    so the keys written at ingest are the keys an answer looks up.
    """
    return [
        (seg, len(seg.text.split()) < min_words) for seg in segments(text) if seg.kind != "heading"
    ]


@runtime_checkable
class SentenceStore(Protocol):
    """Sentence vectors by (tenant, embedder, :func:`sentence_key`).

    ``get`` returns only the keys found; ``put`` keeps an existing row (the vector of a
    text never changes). ``timeout_s`` bounds how long ``put`` waits for a lock (an
    answer's best-effort write-back passes a small one); on failure it raises
    ``StoreError``.
    """

    def get(self, tenant: str, embedder: str, keys: Sequence[bytes]) -> dict[bytes, Vector]: ...

    def put(
        self,
        tenant: str,
        embedder: str,
        vectors: Mapping[bytes, Vector],
        *,
        timeout_s: float | None = None,
    ) -> None: ...

    def count(self, tenant: str, embedder: str) -> int: ...

    def close(self) -> None: ...


class MemorySentenceStore:
    """Sentence vectors in a dict (memory stores and tests); gone when the process exits."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str, bytes], Vector] = {}
        self._lock = threading.Lock()

    def get(self, tenant: str, embedder: str, keys: Sequence[bytes]) -> dict[bytes, Vector]:
        with self._lock:
            found = {k: self._rows.get((tenant, embedder, k)) for k in keys}
        return {k: v.copy() for k, v in found.items() if v is not None}

    def put(
        self,
        tenant: str,
        embedder: str,
        vectors: Mapping[bytes, Vector],
        *,
        timeout_s: float | None = None,
    ) -> None:
        with self._lock:
            for k, v in vectors.items():
                self._rows.setdefault(
                    (tenant, embedder, k), np.array(v, dtype=np.float32, copy=True)
                )

    def count(self, tenant: str, embedder: str) -> int:
        with self._lock:
            return sum(1 for t, e, _ in self._rows if t == tenant and e == embedder)

    def close(self) -> None:
        pass


def sentence_store_for(store: Any, *, busy_timeout_ms: int = 5_000) -> SentenceStore:
    """Where a project's sentence vectors live, next to its documents.

    A SQLite store on a file gets a :class:`~ragline.store._sentences_sqlite.SQLiteSentenceStore`
    on the same file (its own connection); a ``PostgresStore`` gets a
    :class:`~ragline.store._sentences_postgres.PostgresSentenceStore` sharing its pool;
    anything else (``memory://``, ``sqlite://:memory:``, injected test stores) gets a
    :class:`MemorySentenceStore`.
    """
    path = getattr(store, "path", None)
    if type(store).__name__ == "SQLiteStore" and isinstance(path, str) and path != ":memory:":
        from ragline.store._sentences_sqlite import SQLiteSentenceStore

        return SQLiteSentenceStore(path, busy_timeout_ms=busy_timeout_ms)
    if type(store).__name__ == "PostgresStore":
        from ragline.store._sentences_postgres import PostgresSentenceStore

        return PostgresSentenceStore(store)
    return MemorySentenceStore()


def get_many(
    sentences: SentenceStore, tenant: str, embedder: str, keys: Sequence[bytes]
) -> dict[bytes, Vector]:
    """``sentences.get`` in batches of :data:`LOOKUP_BATCH` keys."""
    found: dict[bytes, Vector] = {}
    for i in range(0, len(keys), LOOKUP_BATCH):
        found.update(sentences.get(tenant, embedder, keys[i : i + LOOKUP_BATCH]))
    return found


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
