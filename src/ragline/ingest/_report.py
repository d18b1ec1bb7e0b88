"""What an ingest run reports: one :class:`FileResult` per file (and status)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["added", "updated", "unchanged", "busy", "removed", "failed"]
STATUSES: tuple[Status, ...] = ("added", "updated", "unchanged", "busy", "removed", "failed")


@dataclass(slots=True)
class FileResult:
    """The outcome for one file.

    A regular file has one result. A JSON/JSONL file has one result per status of
    its records (e.g. 40 added, 960 unchanged) plus one ``failed`` result per bad
    record. ``documents``/``chunks`` count what was written (added/updated), kept
    (unchanged) or deleted (removed). ``error`` says what went wrong and how to fix it.

    ``busy``: documents that another run (another ``ragline ingest``, upload or
    process) was ingesting at the same time, so this run left them to it; ``ids``
    names them and ``error`` says which run holds them. Nothing was written or
    embedded for them by this run; running again after the other one finishes
    reports them ``unchanged``.
    """

    path: str
    status: Status
    documents: int = 0
    chunks: int = 0
    error: str | None = None
    ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(slots=True)
class IngestReport:
    """The outcome of one :meth:`Ingestor.ingest` run.

    ``chunks_embedded`` counts chunks whose vectors were computed in this run (the
    others reused stored vectors of identical chunks, or were unchanged).
    """

    files: list[FileResult] = field(default_factory=list)
    chunks_embedded: int = 0
    elapsed_s: float = 0.0

    def totals(self) -> dict[str, int]:
        """Documents per status (``failed`` counts failed files and records)."""
        out: dict[str, int] = dict.fromkeys(STATUSES, 0)
        for r in self.files:
            out[r.status] += 1 if r.status == "failed" else r.documents
        return out

    @property
    def chunks(self) -> int:
        """Chunks written (added or updated documents)."""
        return sum(r.chunks for r in self.files if r.status in ("added", "updated"))

    @property
    def chunks_per_s(self) -> float:
        """Chunks written per second of the whole run."""
        return self.chunks / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def failed(self) -> list[FileResult]:
        return [r for r in self.files if r.status == "failed"]

    @property
    def succeeded(self) -> list[FileResult]:
        """Results that are not failures (added, updated, unchanged, busy, removed)."""
        return [r for r in self.files if r.status != "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def busy(self) -> list[FileResult]:
        """Results of documents left to another run that was ingesting them."""
        return [r for r in self.files if r.status == "busy"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": [r.to_dict() for r in self.files],
            "totals": self.totals(),
            "chunks": self.chunks,
            "chunks_embedded": self.chunks_embedded,
            "elapsed_s": self.elapsed_s,
            "chunks_per_s": self.chunks_per_s,
        }

    def trace_attributes(self) -> dict[str, Any]:
        """What the ``ragline.ingest`` span records about the run."""
        out: dict[str, Any] = {f"ragline.ingest.{k}": v for k, v in self.totals().items()}
        out["ragline.ingest.chunks_embedded"] = self.chunks_embedded
        out["ragline.ingest.files"] = len(self.files)
        if not self.ok:
            out["ragline.ingest.failed_files"] = [f.path for f in self.failed][:50]
        return out
