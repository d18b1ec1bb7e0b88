"""How the SQLite store answers a vector search: exact scan or ANN, and the ANN indexes.

The planner, per search (its choice is noted with :func:`ragline.store._plan.note_plan`
and recorded on the dense retriever's span as ``ragline.vector.*``):

- **exact** when the tenant has fewer chunks than ``ann_threshold`` (0: always), when
  a metadata filter is selective (fewer than 1 row in ``MAX_OVERFETCH`` passes: the
  scan then scores only the rows that pass, a pre-filter), or when the tenant's index
  could not be written (see :mod:`._ann`);
- **ann** otherwise: ``k x overfetch`` candidates from the HNSW index (the overfetch
  grows as a filter passes fewer rows), post-filtered, rescored exactly from the
  store's vectors, the best ``k`` kept. If the filter leaves fewer than ``k`` of
  them while enough rows pass it, the search is redone exactly: never fewer hits.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ragline.store._base import Matrix, Vector
from ragline.store._common import BoolArray, top_k
from ragline.store._vectors import dot_rows
from ragline.store.sqlite._ann import AnnFiles, TenantAnn, ann_dir
from ragline.store.sqlite._index import TenantSnapshot

log = logging.getLogger("ragline.store")

#: default ``retrieval.ann_threshold`` (bench/ann_store.py: below it the exact scan is
#: as fast as the index)
ANN_THRESHOLD = 20_000
#: candidates fetched per hit wanted without a filter (int8 index: rescoring needs a few)
BASE_OVERFETCH = 2
#: a filter that needs more overfetch than this is searched exactly (pre-filter)
MAX_OVERFETCH = 8
#: an index of at most this many rows is built inside the search that needs it (well
#: under a second); a larger one on a background thread, the exact scan answering
#: until it is ready (a build of 100k rows took minutes on 2 busy cores)
SYNC_BUILD_MAX = 5_000
BUILDING = "ANN index building"
UNAVAILABLE = "ANN index unavailable (see the log)"


@dataclass(slots=True)
class VectorPlan:
    """What one vector search did."""

    method: str  #: "exact" or "ann"
    reason: str
    overfetch: int = 0
    candidates: int = 0

    def attributes(self) -> dict[str, Any]:
        return {
            "ragline.vector.plan": self.method,
            "ragline.vector.reason": self.reason,
            "ragline.vector.overfetch": self.overfetch,
            "ragline.vector.candidates": self.candidates,
        }


def plan_search(n: int, k: int, mask: BoolArray | None, threshold: int) -> VectorPlan:
    """Exact or ANN for ``k`` hits among ``n`` rows of which ``mask`` may pass."""
    if threshold <= 0:
        return VectorPlan("exact", "ann off")
    if n < threshold:
        return VectorPlan("exact", f"{n} chunks < threshold {threshold}")
    overfetch = BASE_OVERFETCH
    if mask is not None:
        allowed = int(mask.sum())
        if allowed * MAX_OVERFETCH < n * BASE_OVERFETCH or allowed <= k:
            return VectorPlan("exact", f"selective filter ({allowed} of {n} rows)")
        overfetch = math.ceil(BASE_OVERFETCH * n / allowed)
    return VectorPlan("ann", "large tenant", overfetch, min(n, k * overfetch))


def ann_search(
    ann: TenantAnn,
    snap: TenantSnapshot,
    matrix: Matrix,
    query: Vector,
    k: int,
    mask: BoolArray | None,
    plan: VectorPlan,
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]] | None:
    """Snapshot positions and exact cosines of the best ``k`` (None: too few passed)."""
    with ann.lock:
        pks = ann.search(query, plan.candidates)
    positions, found = snap.positions(pks)  # a row the snapshot lacks is no hit
    positions = positions[found]
    if mask is not None:
        positions = positions[mask[positions]]
    if len(positions) < min(k, len(snap) if mask is None else int(mask.sum())):
        return None
    scores = dot_rows(matrix[positions], query)
    best = top_k(scores, k)
    return positions[best], scores[best]


class AnnIndexes:
    """The loaded per-tenant indexes of one store file (used under the store's lock)."""

    def __init__(self, db_path: str, threshold: int) -> None:
        self.folder = ann_dir(db_path)
        self.threshold = threshold
        self._loaded: dict[str, TenantAnn] = {}
        self._failed: dict[str, int] = {}  #: tenant -> generation whose write failed
        self._building: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def building(self, tenant: str) -> bool:
        """Whether the tenant's index is being built in the background."""
        with self._lock:
            return tenant in self._building

    def wait_built(self, tenant: str, timeout: float | None = None) -> None:
        """Wait for a background build of the tenant's index (tests, benchmarks)."""
        with self._lock:
            thread = self._building.get(tenant)
        if thread is not None:
            thread.join(timeout)

    def _build_in_background(self, tenant: str, snap: TenantSnapshot, matrix: Matrix) -> None:
        """Start building the tenant's index off the search path (called under the lock)."""
        if tenant in self._building:
            return
        pks, generation = snap.pks.copy(), snap.generation

        def build() -> None:
            try:
                ann = TenantAnn.build(pks, matrix, generation)
            except (RuntimeError, ValueError, MemoryError) as exc:
                log.warning(
                    "could not build the ANN index of tenant %r (%s); its vector searches "
                    "use the exact scan until its next write",
                    tenant,
                    exc,
                )
                with self._lock:
                    self._failed[tenant] = generation
                    self._building.pop(tenant, None)
                return
            with self._lock:  # the next search catches it up and writes it
                self._loaded.setdefault(tenant, ann)
                self._building.pop(tenant, None)
            log.info("ANN index of tenant %r built (%d chunks)", tenant, len(pks))

        thread = threading.Thread(target=build, name=f"ragline-ann-{tenant}", daemon=True)
        self._building[tenant] = thread
        thread.start()

    def get(
        self, conn: sqlite3.Connection, snap: TenantSnapshot, matrix: Matrix
    ) -> tuple[TenantAnn | None, str]:
        """The tenant's index, in step with ``snap`` (loaded, caught up or rebuilt), or
        None and why the exact scan answers instead."""
        tenant, generation = snap.tenant, snap.generation
        with self._lock:
            if tenant in self._building:
                return None, BUILDING
            if self._failed.get(tenant) == generation:
                return None, UNAVAILABLE
            ann = self._loaded.get(tenant)
            if ann is not None and ann.dimension != matrix.shape[1]:
                ann = None
            files = AnnFiles.of(self.folder, tenant) if self.folder else None
            if ann is None and files is not None:
                ann, why = TenantAnn.load(files, dimension=int(matrix.shape[1]))
                if ann is None:
                    log.warning(
                        "ANN index of tenant %r in %s: %s; rebuilding it from the store "
                        "(%d chunks)",
                        tenant,
                        self.folder,
                        why,
                        len(snap),
                    )
            if ann is None and len(snap) > SYNC_BUILD_MAX:
                self._build_in_background(tenant, snap, matrix)
                return None, BUILDING
            try:
                ann = self._in_step(ann, snap, matrix)
            except (RuntimeError, ValueError, MemoryError) as exc:
                log.warning(
                    "could not build the ANN index of tenant %r (%s); its vector searches use "
                    "the exact scan until its next write",
                    tenant,
                    exc,
                )
                self._failed[tenant] = generation
                self._loaded.pop(tenant, None)
                return None, UNAVAILABLE
            self._loaded[tenant] = ann
            if ann.dirty and files is not None and not self._save(conn, ann, files, tenant):
                return None, UNAVAILABLE
            return ann, ""

    @staticmethod
    def _in_step(ann: TenantAnn | None, snap: TenantSnapshot, matrix: Matrix) -> TenantAnn:
        """``ann`` caught up with ``snap`` (built from it when None)."""
        if ann is None:
            return TenantAnn.build(snap.pks, matrix, snap.generation)
        with ann.lock:
            if ann.generation != snap.generation:
                before = ann.generation
                added, removed = ann.catch_up(snap.pks, matrix, snap.generation)
                log.warning(
                    "ANN index of tenant %r was stale (generation %d, store %d): caught up "
                    "from the store (%d rows added or replaced, %d removed)",
                    snap.tenant,
                    before,
                    snap.generation,
                    added,
                    removed,
                )
        return ann

    def applied(
        self,
        tenant: str,
        before: int,
        after: int,
        removed: Sequence[int],
        added: Sequence[int],
        vectors: Matrix,
    ) -> None:
        """A write of this process committed: apply it to the loaded index, if any.

        Only when the index reflects the generation just before that write; otherwise
        (or when ``after`` is -1: the write joined an outer transaction that may still
        roll back) the next search catches it up from the store.
        """
        with self._lock:
            ann = self._loaded.get(tenant)
            self._failed.pop(tenant, None)
        if ann is None:
            return
        with ann.lock:
            if after < 0:  # not committed yet (an outer transaction): catch up later
                ann.generation = -1
            elif ann.generation == before and (not len(added) or ann.dimension == vectors.shape[1]):
                try:
                    ann.apply(removed, added, vectors, after)
                except (RuntimeError, ValueError) as exc:  # the commit stands: catch up later
                    log.warning(
                        "ANN index of tenant %r: could not apply a write (%s); the next "
                        "search catches it up from the store",
                        tenant,
                        exc,
                    )
                    ann.generation = -1

    def save_all(self, conn: sqlite3.Connection) -> None:
        """Write every changed index (the store is closing)."""
        if self.folder is None:
            return
        with self._lock:
            for tenant, ann in list(self._loaded.items()):
                if ann.dirty:
                    self._save(conn, ann, AnnFiles.of(self.folder, tenant), tenant)
            self._loaded.clear()

    def _save(self, conn: sqlite3.Connection, ann: TenantAnn, files: AnnFiles, tenant: str) -> bool:
        rows = conn.execute(
            "SELECT DISTINCT embedder FROM documents WHERE tenant = ?", (tenant,)
        ).fetchall()
        try:
            with ann.lock:
                ann.save(files, tenant=tenant, embedders=[str(r[0]) for r in rows])
        except OSError as exc:
            log.warning(
                "could not write the ANN index of tenant %r to %s (%s); its vector searches "
                "use the exact scan until its next write (free disk space to re-enable it)",
                tenant,
                files.index,
                exc,
            )
            self._failed[tenant] = ann.generation
            self._loaded.pop(tenant, None)
            return False
        return True
