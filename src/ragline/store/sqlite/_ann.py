"""Per-tenant approximate nearest-neighbour index of the SQLite store (usearch HNSW).

SQLite is the source of truth; the index is a cache of it, kept beside the database
file as ``<db>.ann/<tenant>.usearch`` plus a manifest ``<tenant>.json`` (library,
dimension, embedders, the tenant's generation, row count, file size and CRC-32).
Keys are the chunks' row ids (``chunks.pk``).

- **Loaded** on the first large search of a tenant. A missing, unreadable, truncated or
  corrupt file (size or CRC differs from the manifest), or one of another dimension
  (another embedder's vectors: the index is derived data, so it is rebuilt from the
  store, not refused), is rebuilt from SQLite, with one log line.
- **Stale** (its generation is not the store's: a crash between the SQLite commit and
  the index write, or another process's write): caught up from SQLite — rows gone
  removed, rows new added, and every common row's vector compared with the store's
  (SQLite reuses the row id of a deleted last row), so no hit is lost or phantom.
- **Incremental**: this process's own upserts and deletes are applied to the loaded
  index right after their commit, and the index is written back when the store closes
  (or after a rebuild/catch-up). Every write goes to a temporary file first, the
  manifest last, so a half-written index is never read as valid.
- A failed write (disk full) is logged and the tenant's searches fall back to the
  exact scan until its next write; the database is never touched by it.

Search results are always rescored exactly from the store's vectors, so an ANN hit's
score is the same cosine the exact scan gives.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ragline.store._base import Matrix, Vector

log = logging.getLogger("ragline.store")

IntArray = npt.NDArray[np.int64]

FORMAT = 1
#: HNSW graph degree and build width (bench/ann_choice.py)
CONNECTIVITY = 16
EXPANSION_ADD = 128
#: the narrowest search width; a search for more candidates widens it to twice their
#: count (measured at 20k clustered vectors, int8, rescored: recall@10 0.92 at 64, 0.96
#: at 128, 0.99 at 256)
EXPANSION_SEARCH = 128
#: int8 storage: a quarter of f32's memory; hits are rescored from the exact vectors
DTYPE = "i8"
#: a stored vector differing from SQLite's by more than this is another row's
VECTOR_TOLERANCE = 0.05


def ann_dir(db_path: str) -> Path | None:
    """Where a database's ANN indexes live (``None`` for an in-memory database)."""
    if db_path == ":memory:" or db_path.startswith("file::memory:"):
        return None
    return Path(db_path + ".ann")


def tenant_stem(tenant: str) -> str:
    """A file name for a tenant: readable, and unique by a hash of the exact name."""
    readable = re.sub(r"[^A-Za-z0-9_-]", "_", tenant)[:40]
    digest = hashlib.sha1(tenant.encode("utf-8")).hexdigest()[:10]
    return f"{readable}-{digest}"


@dataclass(slots=True)
class AnnFiles:
    """The index file and manifest of one tenant."""

    index: Path
    manifest: Path

    @classmethod
    def of(cls, folder: Path, tenant: str) -> AnnFiles:
        stem = tenant_stem(tenant)
        return cls(folder / f"{stem}.usearch", folder / f"{stem}.json")


def _crc32(path: Path) -> int:
    crc = 0
    with open(path, "rb") as f:
        while block := f.read(1 << 24):
            crc = zlib.crc32(block, crc)
    return crc


def _new_index(dimension: int) -> Any:
    from usearch.index import Index  # the ANN library is imported only when used

    return Index(
        ndim=dimension,
        metric="cos",
        dtype=DTYPE,
        connectivity=CONNECTIVITY,
        expansion_add=EXPANSION_ADD,
        expansion_search=EXPANSION_SEARCH,
    )


def _keys(pks: Sequence[int] | IntArray) -> npt.NDArray[np.uint64]:
    return np.asarray(pks, dtype=np.int64).astype(np.uint64)


class TenantAnn:
    """One tenant's loaded HNSW index, tagged with the generation it reflects."""

    def __init__(self, index: Any, *, dimension: int, generation: int) -> None:
        self.index = index
        self.dimension = dimension
        self.generation = generation
        self.dirty = False  #: changed since it was last written
        #: held around every use: a search must not meet a concurrent add or remove
        self.lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.index)

    @classmethod
    def build(cls, pks: IntArray, matrix: Matrix, generation: int) -> TenantAnn:
        index = _new_index(int(matrix.shape[1]))
        if len(pks):
            index.add(_keys(pks), matrix, threads=os.cpu_count() or 1)
        ann = cls(index, dimension=int(matrix.shape[1]), generation=generation)
        ann.dirty = True
        return ann

    def search(self, query: Vector, count: int) -> IntArray:
        """Row ids of about the ``count`` nearest rows (unordered use: rescore them)."""
        self.index.expansion_search = max(EXPANSION_SEARCH, 2 * count)
        found = self.index.search(query, count, threads=1)
        return np.asarray(found.keys, dtype=np.uint64).astype(np.int64)

    def apply(
        self, removed: Sequence[int], added: Sequence[int], vectors: Matrix, generation: int
    ) -> None:
        """One committed write: ``removed`` row ids out, ``added`` (with ``vectors``) in."""
        if len(removed):
            self.index.remove(_keys(removed))
        if len(added):
            self.index.add(_keys(added), vectors, threads=1)
        self.generation = generation
        self.dirty = True

    def catch_up(self, pks: IntArray, matrix: Matrix, generation: int) -> tuple[int, int]:
        """Make the index hold exactly the store's rows ``pks`` (vectors ``matrix``).

        Returns (rows added or replaced, rows removed).
        """
        keys = np.sort(np.asarray(self.index.keys, dtype=np.uint64).astype(np.int64))
        gone = np.setdiff1d(keys, pks, assume_unique=True)
        common = np.intersect1d(keys, pks, assume_unique=True)
        positions = np.searchsorted(pks, common)
        changed: list[IntArray] = []
        for start in range(0, len(common), 50_000):
            block = common[start : start + 50_000]
            stored = np.asarray(self.index.get(_keys(block), dtype=np.float32))
            stored = stored.reshape(len(block), self.dimension)
            want = matrix[positions[start : start + 50_000]]
            differs = np.abs(stored - want).max(axis=1) > VECTOR_TOLERANCE
            changed.append(block[differs])
        replaced = np.concatenate(changed) if changed else np.zeros(0, dtype=np.int64)
        new = np.setdiff1d(pks, keys, assume_unique=True)
        out = np.concatenate([gone, replaced])
        if len(out):
            self.index.remove(_keys(out))
        into = np.concatenate([new, replaced])
        if len(into):
            self.index.add(_keys(into), matrix[np.searchsorted(pks, into)], threads=1)
        if len(out) or len(into) or generation != self.generation:
            self.dirty = True
        self.generation = generation
        return len(into), len(gone)

    # -- files -----------------------------------------------------------------------

    def save(self, files: AnnFiles, *, tenant: str, embedders: Sequence[str]) -> None:
        """Write the index, then its manifest (each via a temporary file). Raises OSError."""
        from usearch import __version__ as usearch_version

        files.index.parent.mkdir(parents=True, exist_ok=True)
        tmp = files.index.with_suffix(".usearch.tmp")
        try:
            self.index.save(str(tmp))
            _fsync(tmp)
            os.replace(tmp, files.index)
            manifest = {
                "format": FORMAT,
                "library": f"usearch {usearch_version}",
                "dtype": DTYPE,
                "tenant": tenant,
                "dimension": self.dimension,
                "embedders": sorted(embedders),
                "generation": self.generation,
                "count": len(self),
                "bytes": files.index.stat().st_size,
                "crc32": _crc32(files.index),
            }
            mtmp = files.manifest.with_suffix(".json.tmp")
            mtmp.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
            _fsync(mtmp)
            os.replace(mtmp, files.manifest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self.dirty = False

    @classmethod
    def load(cls, files: AnnFiles, *, dimension: int) -> tuple[TenantAnn | None, str]:
        """The saved index if it is whole and of ``dimension``, else (None, why not)."""
        try:
            manifest = json.loads(files.manifest.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None, "no index file yet"
        except (OSError, ValueError) as exc:
            return None, f"its manifest is unreadable ({exc})"
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            return None, "its manifest is of another format"
        if manifest.get("dimension") != dimension:
            return None, (
                f"it holds {manifest.get('dimension')}-d vectors (another embedder's) and "
                f"the store has {dimension}-d ones"
            )
        if manifest.get("dtype") != DTYPE:
            return None, f"it stores {manifest.get('dtype')} vectors, not {DTYPE}"
        try:
            size = files.index.stat().st_size
            if size != manifest.get("bytes") or _crc32(files.index) != manifest.get("crc32"):
                return None, "the index file is truncated or corrupt (size or CRC-32 differs)"
            index = _new_index(dimension)
            index.load(str(files.index))
        except FileNotFoundError:
            return None, "the index file is missing"
        except (OSError, RuntimeError, ValueError) as exc:
            return None, f"the index file is unreadable ({exc})"
        if len(index) != manifest.get("count") or index.ndim != dimension:
            return None, "the index file does not match its manifest"
        return cls(index, dimension=dimension, generation=int(manifest["generation"])), ""


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
