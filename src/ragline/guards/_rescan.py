"""Re-scoring stored chunks for injection, without re-embedding or re-ingesting.

Ingest stores each suspect chunk's injection score in its metadata
(:data:`~ragline.guards._injection.CHUNK_KEY`), so a query only looks it up. When the
detector changes (a new :data:`~ragline.guards._injection.SCAN_VERSION`), or chunks were
ingested before scores were stored, :func:`rescan_chunks` scans every chunk's text
again and writes the new score back with :meth:`Store.update_chunk_metadata`: the
text, vectors and keyword index stay as they are, and a clean chunk loses a stale
score. A chunk counts as *flagged* when its stored score reaches the tenant's
``guards.injection.threshold`` (what the retrieval guard acts on); the report says
how many became flagged, were cleared, or kept their state.

While it writes, it holds an ingest claim (:mod:`ragline.store._claims`) on every
document of the tenant, so an ingest running at the same time reports those documents
``busy`` instead of racing it; a document another live run holds makes it refuse up
front (:class:`~ragline.errors.BusyError`), with nothing written. ``dry_run`` claims
nothing and writes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ragline._time import elapsed_ms
from ragline.guards._injection import CHUNK_KEY, SCAN_VERSION, chunk_scan
from ragline.store._base import Store
from ragline.store._claims import ClaimHolder
from ragline.types import Chunk, Metadata

if TYPE_CHECKING:
    from ragline.config import Settings

#: documents claimed, read and written per step
GROUP = 64


@dataclass(slots=True)
class RescanReport:
    """What :func:`rescan_chunks` found (and, unless ``dry_run``, wrote)."""

    tenants: list[str] = field(default_factory=list)
    dry_run: bool = False
    documents: int = 0
    scanned: int = 0  #: chunks scanned
    flagged: int = 0  #: at or above the threshold now, not before
    cleared: int = 0  #: at or above the threshold before, not now
    unchanged: int = 0  #: flagged before and now, or neither
    stale: int = 0  #: stored by an older detector version (rescored either way)
    updated: int = 0  #: chunks whose stored score changed (would change, on a dry run)
    elapsed_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _score(stored: Any) -> float | None:
    if isinstance(stored, Mapping) and isinstance(stored.get("score"), (int, float)):
        return float(stored["score"])
    return None


def _rescored(chunk: Chunk) -> Metadata | None:
    """The chunk's metadata with its injection score as the current detector gives it,
    or None when that is what is stored already."""
    scan = chunk_scan(chunk.text)
    if chunk.metadata.get(CHUNK_KEY) == scan:
        return None
    metadata = {k: v for k, v in chunk.metadata.items() if k != CHUNK_KEY}
    if scan is not None:
        metadata[CHUNK_KEY] = scan
    return metadata


def _claim_all(store: Store, tenant: str, ids: Sequence[str], holder: ClaimHolder) -> None:
    """Claim every document of ``tenant`` for this rescan, or release them and raise."""
    from ragline.errors import BusyError

    claimed: list[str] = []
    try:
        for i in range(0, len(ids), 500):
            # a content hash no document has: the claim is granted, never "stored"
            asked = {d: f"ragline.rescan:{holder.id}" for d in ids[i : i + 500]}
            outcome = store.claim_documents(tenant, asked, holder=holder, timeout_s=900.0)
            claimed.extend(outcome.claimed)
            if outcome.busy:
                doc_id, claim = next(iter(outcome.busy.items()))
                more = f" and {len(outcome.busy) - 1} more" if len(outcome.busy) > 1 else ""
                raise BusyError(
                    f"tenant {tenant!r} is being ingested: document {doc_id!r}{more} is "
                    f"held by another run ({claim.describe()}); nothing was rescanned",
                    hint="run `ragline guards rescan` again once that ingest has finished",
                )
    except BaseException:
        store.release_documents(tenant, claimed, holder=holder)
        raise


def rescan_project(
    store: Store,
    settings: Settings,
    tenant: str | None,
    *,
    dry_run: bool = False,
    on_progress: Callable[[int, int, str], None] | None = None,
) -> RescanReport:
    """:func:`rescan_chunks` of ``tenant`` (every tenant's when None), each at its own
    ``guards.injection.threshold``."""
    tenants = [tenant] if tenant is not None else store.tenants()

    def threshold(name: str) -> float:
        return settings.for_tenant(name).guards.injection.threshold

    return rescan_chunks(
        store, tenants, threshold=threshold, dry_run=dry_run, on_progress=on_progress
    )


def rescan_chunks(
    store: Store,
    tenants: Sequence[str],
    *,
    threshold: Callable[[str], float],
    dry_run: bool = False,
    on_progress: Callable[[int, int, str], None] | None = None,
) -> RescanReport:
    """Rescore every chunk of ``tenants`` (see the module docstring).

    ``threshold(tenant)`` is the tenant's ``guards.injection.threshold``;
    ``on_progress(done, total, tenant)`` is called per group of documents.
    """
    start = time.perf_counter()
    report = RescanReport(tenants=list(tenants), dry_run=dry_run)
    for tenant in tenants:
        limit = threshold(tenant)
        ids = [d.id for d in store.list_documents(tenant)]
        holder = ClaimHolder.new()
        if not dry_run:
            _claim_all(store, tenant, ids, holder)
        try:
            for i in range(0, len(ids), GROUP):
                group = ids[i : i + GROUP]
                updates: dict[str, Metadata] = {}
                for doc_id in group:
                    for chunk in store.document_chunks(tenant, doc_id):
                        stored = chunk.metadata.get(CHUNK_KEY)
                        if isinstance(stored, Mapping) and stored.get("v") != SCAN_VERSION:
                            report.stale += 1
                        before = _score(stored)
                        metadata = _rescored(chunk)
                        after = _score(metadata.get(CHUNK_KEY)) if metadata is not None else before
                        was = before is not None and before >= limit
                        now = after is not None and after >= limit
                        report.scanned += 1
                        report.flagged += now and not was
                        report.cleared += was and not now
                        report.unchanged += was == now
                        if metadata is not None:
                            updates[chunk.id] = metadata
                report.documents += len(group)
                report.updated += len(updates)
                if updates and not dry_run:
                    store.update_chunk_metadata(tenant, updates)
                if on_progress is not None:
                    on_progress(i + len(group), len(ids), tenant)
        finally:
            if not dry_run:
                store.release_documents(tenant, ids, holder=holder)
    report.elapsed_ms = round(elapsed_ms(start), 3)
    return report


__all__ = ["RescanReport", "rescan_chunks", "rescan_project"]
