"""Copy a whole project store from one URL to another (``ragline store copy SRC DST``).

Reads only through the protocols — :meth:`Store.list_documents`,
:meth:`Store.document_chunks`, :meth:`Store.get_embeddings`, and the
:class:`TraceStore` listing — so any backend copies to any other (SQLite ↔
PostgreSQL, memory). Every document is written with ``upsert_document``: one
transaction per document, so an interrupted copy leaves whole documents and a rerun
with ``force=True`` finishes it. Copied: documents, chunks, vectors and metadata of
every tenant, then traces (every span of every trace) and feedback. Not copied:
conversations, evaluation runs and the caches (answer sentence vectors and model
responses are rebuilt on demand; ``ragline migrate --sentences`` precomputes the
former).

The destination must be empty unless ``force``: then documents with the same id are
replaced and the others are kept. After the copy, each tenant's counts in the
destination are checked against the source.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ragline.errors import InputError, StoreError
from ragline.store._backend import Backend
from ragline.store._open import backend_kind, sqlite_path
from ragline.store._traces import SpanRecord

#: spans written per ``write_spans`` call
SPAN_BATCH = 500
#: at most this many traces are listed (the whole store, in practice)
MAX_TRACES = 2**62


@dataclass(frozen=True, slots=True)
class TenantCount:
    tenant: str
    documents: int
    chunks: int


@dataclass(frozen=True, slots=True)
class CopySummary:
    """What :func:`copy_store` wrote: per-tenant counts, then traces and feedback."""

    tenants: list[TenantCount] = field(default_factory=list)
    traces: int = 0
    spans: int = 0
    feedback: int = 0

    @property
    def documents(self) -> int:
        return sum(t.documents for t in self.tenants)

    @property
    def chunks(self) -> int:
        return sum(t.chunks for t in self.tenants)


def store_identity(url: str, *, base_dir: str | Path | None = None) -> str:
    """A key that two URLs of the same store share (resolved SQLite path; PostgreSQL
    host, port and database; ``memory://``)."""
    kind = backend_kind(url)
    if kind == "sqlite":
        path = sqlite_path(url.strip(), base_dir=base_dir)
        return f"sqlite:{path if path == ':memory:' else Path(path).resolve()}"
    if kind == "postgres":
        parts = urlsplit(url.strip())
        host = (parts.hostname or "localhost").lower()
        if host in ("localhost", "::1"):
            host = "127.0.0.1"
        return f"postgres:{host}:{parts.port or 5432}/{parts.path.lstrip('/')}"
    return "memory"


def is_empty(backend: Backend) -> bool:
    """No documents in any tenant, and no traces."""
    return not backend.documents.tenants() and not backend.traces.list_traces(limit=1)


def copy_store(
    source: Backend,
    destination: Backend,
    *,
    force: bool = False,
    traces: bool = True,
    progress: Callable[[str, int], None] | None = None,
) -> CopySummary:
    """Copy every tenant's documents (and ``traces``: traces and feedback) to ``destination``.

    ``progress(tenant, documents_done)`` is called after each document. Raises
    :class:`InputError` when the destination holds data and not ``force``, and
    :class:`StoreError` when the destination's counts do not match afterwards.
    """
    src, dst = source.documents, destination.documents
    if not force and not is_empty(destination):
        raise InputError(
            f"the destination store {destination.url} is not empty",
            hint="copy into an empty store, or pass --force to copy into it anyway "
            "(documents with the same id are replaced, the others kept)",
        )
    counts: list[TenantCount] = []
    for tenant in src.tenants():
        for done, document in enumerate(src.list_documents(tenant), start=1):
            chunks = src.document_chunks(tenant, document.id)
            vectors = src.get_embeddings(tenant, [c.id for c in chunks])
            dst.upsert_document(document, chunks, vectors)
            if progress is not None:
                progress(tenant, done)
        want, got = src.stats(tenant), dst.stats(tenant)
        # With force the destination may also hold documents of its own: at least as many.
        short = got.documents < want.documents or got.chunks < want.chunks
        if short or (not force and (got.documents, got.chunks) != (want.documents, want.chunks)):
            raise StoreError(
                f"tenant {tenant!r}: {got.documents} documents/{got.chunks} chunks in "
                f"{destination.url} after the copy, {want.documents}/{want.chunks} in "
                f"{source.url}",
                hint="was either store written to during the copy? rerun with --force",
            )
        counts.append(TenantCount(tenant, want.documents, want.chunks))
    if not traces:
        return CopySummary(counts)
    n_traces, n_spans = _copy_traces(source, destination)
    feedback = source.traces.list_feedback()
    for item in feedback:
        destination.traces.add_feedback(item)
    return CopySummary(counts, traces=n_traces, spans=n_spans, feedback=len(feedback))


def _copy_traces(source: Backend, destination: Backend) -> tuple[int, int]:
    summaries = source.traces.list_traces(limit=MAX_TRACES)
    batch: list[SpanRecord] = []
    spans = 0
    for summary in summaries:
        records = source.traces.get_trace(summary.trace_id, tenant=summary.tenant)
        batch.extend(records)
        spans += len(records)
        if len(batch) >= SPAN_BATCH:
            destination.traces.write_spans(batch)
            batch = []
    if batch:
        destination.traces.write_spans(batch)
    return len(summaries), spans
