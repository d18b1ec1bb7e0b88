"""Bulk load of precomputed vectors: ``ragline ingest data.jsonl --vector-field embedding``.

One JSONL record is one document of one chunk: its text (``--text-field``), title, id
and ``--meta-fields`` are read as for any JSONL file, and its vector is stored as given
(L2-normalised, like the embedder's): nothing is embedded or chunked.

**Nothing half-written.** The whole file is checked before anything is written: a
line that is not a JSON object, a record without text, a duplicate id, or a vector that
is missing, not a list of finite numbers, all zeros, or of another dimension than the
project's embedder stops the load with an :class:`InputError` naming the file, the line,
the field and the fix, and the store is left as it was. Only then are the records
written, a batch of claimed documents at a time (:mod:`ragline.store._claims`: a
concurrent ingest of the same ids reports them ``busy``, as the regular pipeline does),
each batch in one transaction where the store has one (SQLite: one commit and one disk
sync per batch, not per record).

Re-running is cheap: a record whose text, title, metadata and vector are unchanged is
reported ``unchanged`` and not rewritten. ``sync`` deletes the file's records that are
no longer in it. Each chunk's injection score is stored with it, as ingest does (the
retrieval guard reads it). Not done here, unlike the regular pipeline: chunking (a long
record stays one chunk), language detection (a ``language`` meta field is used when
given) and answer-sentence vectors (the extractive answerer embeds sentences on demand).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ragline.errors import InputError
from ragline.guards._injection import CHUNK_KEY as INJECTION_KEY
from ragline.guards._injection import chunk_scan
from ragline.ingest._chunker import content_hash
from ragline.ingest._enrich import DOC_LANGUAGE_KEY
from ragline.ingest._json import JsonFields, _record_id, _text_of
from ragline.ingest._loaded import jsonable, normalize_text
from ragline.ingest._report import FileResult, IngestReport, Status
from ragline.store._base import Store
from ragline.store._claims import ClaimHolder
from ragline.types import Chunk, Document

if TYPE_CHECKING:
    from ragline.ingest._pipeline import Ingestor

#: records claimed and written per step
BATCH = 512

ProgressFn = Callable[[int, int, str], None]


@dataclass(slots=True)
class VectorRecord:
    """One checked record of a vector file."""

    line: int
    id: str
    text: str
    title: str
    metadata: dict[str, Any]
    vector: npt.NDArray[np.float32]


def read_vector_records(
    path: Path, fields: JsonFields, vector_field: str, dimension: int, embedder: str
) -> Iterator[VectorRecord]:
    """The file's records, each checked; the first bad one raises :class:`InputError`."""
    seen: dict[str, int] = {}
    with path.open("rb") as f:
        for n, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            record = _parse(path, n, raw)
            where = f"{path.name} line {n}"
            rid = _record_id(record, fields)
            doc_id = rid if rid is not None else f"{path.name}#{n}"
            if doc_id in seen:
                raise InputError(
                    f"{where}: duplicate id {doc_id!r} (first on line {seen[doc_id]})",
                    hint="give every record a unique id; nothing of the file was written",
                )
            seen[doc_id] = n
            text = normalize_text(_text_of(record.get(fields.text_field)))
            if not text:
                raise InputError(
                    f"{where} (id {doc_id!r}): field {fields.text_field!r} is missing or empty",
                    hint="fill in the text, or choose the text field with --text-field; "
                    "nothing of the file was written",
                )
            title = record.get(fields.title_field)
            yield VectorRecord(
                line=n,
                id=doc_id,
                text=text,
                title=str(title).strip() if isinstance(title, (str, int, float)) else "",
                metadata={k: jsonable(record[k]) for k in fields.meta_fields if k in record},
                vector=_vector(record.get(vector_field), where, vector_field, dimension, embedder),
            )


def _parse(path: Path, n: int, raw: bytes) -> dict[str, Any]:
    try:
        record = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(
            f"{path.name} line {n} is not valid JSON ({e})",
            hint="fix or delete that line; each line must be one JSON object; "
            "nothing of the file was written",
        ) from None
    if not isinstance(record, dict):
        raise InputError(
            f"{path.name} line {n}: a record must be a JSON object, found {type(record).__name__}",
            hint='write records like {"id": "a1", "text": "...", "embedding": [...]}; '
            "nothing of the file was written",
        )
    return record


def _vector(
    value: Any, where: str, field: str, dimension: int, embedder: str
) -> npt.NDArray[np.float32]:
    fix = "nothing of the file was written"
    if value is None:
        raise InputError(
            f"{where}: no vector in field {field!r}",
            hint=f"add the field to every record, or name the right one with --vector-field; {fix}",
        )
    not_numbers = InputError(
        f"{where}: field {field!r} must be a list of numbers, found {type(value).__name__}",
        hint=f"write the vector as a JSON array of floats; {fix}",
    )
    if not isinstance(value, list):
        raise not_numbers
    if len(value) != dimension:
        raise InputError(
            f"{where}: field {field!r} has {len(value)} numbers but the project's embedder "
            f"{embedder!r} makes {dimension}-dimensional vectors",
            hint="compute the vectors with the project's embedder, or set `embedder:` in "
            f"ragline.yaml to the model that made them (queries are embedded with it); {fix}",
        )
    try:  # one C-level conversion: any string, null or list inside gives another dtype
        vector = np.array(value)
    except ValueError:  # ragged nested lists
        raise not_numbers from None
    if vector.ndim != 1 or vector.dtype.kind not in "iuf":
        raise not_numbers
    with np.errstate(over="ignore"):  # an out-of-range number is refused just below
        vector32 = vector.astype(np.float32)
    if not np.isfinite(vector32).all():
        raise InputError(
            f"{where}: field {field!r} holds a number too large for float32",
            hint=f"check how the vectors were written; {fix}",
        )
    norm = math.sqrt(float(np.dot(vector32, vector32)))
    if norm == 0.0:
        raise InputError(
            f"{where}: field {field!r} is all zeros",
            hint=f"a zero vector matches nothing; compute it again or drop the record; {fix}",
        )
    return vector32 / np.float32(norm)


class VectorLoad:
    """Loads vector JSONL files into one tenant of ``store`` (see the module doc)."""

    def __init__(
        self,
        store: Store,
        *,
        tenant: str,
        embedder: str,
        dimension: int,
        fields: JsonFields,
        vector_field: str,
        sync: bool = False,
        claim_timeout_s: float = 30.0,
    ) -> None:
        self.store = store
        self.tenant = tenant
        self.embedder = embedder
        self.dimension = dimension
        self.fields = fields
        self.vector_field = vector_field
        self.sync = sync
        self.claim_timeout_s = claim_timeout_s
        self.holder = ClaimHolder.new()

    def run(
        self, files: list[tuple[Path, str]], on_progress: ProgressFn | None = None
    ) -> IngestReport:
        """Load ``(path, source)`` pairs: every file is checked before any is written."""
        started = time.perf_counter()
        totals: list[int] = []
        for path, _source in files:
            if path.suffix.lower() != ".jsonl":
                raise InputError(
                    f"{path.name}: --vector-field reads JSONL files (one record per line)",
                    hint="convert the file to .jsonl (Parquet is not read yet)",
                )
            totals.append(sum(1 for _ in self._records(path)))
            if not totals[-1]:
                raise InputError(f"{path.name} has no records", hint="add records or leave it out")
        existing = {d.id: d for d in self.store.list_documents(self.tenant)}
        report = IngestReport()
        for (path, source), total in zip(files, totals, strict=True):
            counts: dict[Status, int] = {"added": 0, "updated": 0, "unchanged": 0, "busy": 0}
            busy: list[str] = []
            seen: set[str] = set()
            batch: list[tuple[VectorRecord, str]] = []
            for done, record in enumerate(self._records(path), start=1):
                seen.add(record.id)
                digest = self._digest(record)
                old = existing.get(record.id)
                if old is not None and old.content_hash == digest:
                    counts["unchanged"] += 1
                else:
                    batch.append((record, digest))
                if len(batch) >= BATCH or done == total:
                    self._write(batch, source, existing, counts, busy)
                    batch = []
                    if on_progress is not None:
                        on_progress(done, total, source)
            counts["removed"] = self._remove(source, existing, seen) if self.sync else 0
            for status, n in counts.items():
                if n:
                    ids = busy if status == "busy" else []
                    report.files.append(FileResult(source, status, n, n, ids=ids))
        report.elapsed_s = time.perf_counter() - started
        return report

    def _records(self, path: Path) -> Iterator[VectorRecord]:
        return read_vector_records(
            path, self.fields, self.vector_field, self.dimension, self.embedder
        )

    def _digest(self, record: VectorRecord) -> str:
        h = hashlib.sha256(f"vector-record\x00{self.embedder}\x00{record.title}\x00".encode())
        h.update(json.dumps(record.metadata, sort_keys=True, default=str).encode())
        h.update(b"\x00" + record.text.encode())
        h.update(record.vector.tobytes())
        return h.hexdigest()

    def _write(
        self,
        batch: list[tuple[VectorRecord, str]],
        source: str,
        existing: dict[str, Document],
        counts: dict[Status, int],
        busy: list[str],
    ) -> None:
        if not batch:
            return
        wanted = {r.id: digest for r, digest in batch}
        outcome = self.store.claim_documents(
            self.tenant, wanted, holder=self.holder, timeout_s=self.claim_timeout_s
        )
        claimed = set(outcome.claimed)
        counts["unchanged"] += len(outcome.stored)
        existing.update(outcome.stored)
        busy.extend(outcome.busy)
        counts["busy"] += len(outcome.busy)
        try:
            written = [
                self._document(record, digest, source)
                for record, digest in batch
                if record.id in claimed
            ]
            with self._one_transaction():
                for (document, chunk), vector in zip(
                    written, (r.vector for r, _ in batch if r.id in claimed), strict=True
                ):
                    self.store.upsert_document(document, [chunk], vector[None, :])
            for document, _chunk in written:
                counts["updated" if document.id in existing else "added"] += 1
                existing[document.id] = document
        finally:
            if claimed:
                self.store.release_documents(self.tenant, sorted(claimed), holder=self.holder)

    def _one_transaction(self) -> AbstractContextManager[object]:
        """The store's own transaction where it offers one (SQLite's joins nested
        upserts: one commit, one disk sync, per batch instead of per record)."""
        transaction = getattr(self.store, "transaction", None)
        return transaction(write=True) if callable(transaction) else nullcontext()

    def _document(self, record: VectorRecord, digest: str, source: str) -> tuple[Document, Chunk]:
        meta = dict(record.metadata)
        doc_type = meta.pop("doc_type", None)
        language = meta.get("language") if isinstance(meta.get("language"), str) else None
        chunk = Chunk(
            id=f"{record.id}#0",
            document_id=record.id,
            ordinal=0,
            text=record.text,
            title=record.title,
            tenant=self.tenant,
            language=language,
            doc_type=str(doc_type) if doc_type else None,
            source=source,
            metadata=dict(meta),
        )
        chunk.content_hash = content_hash(chunk.indexed_text)
        if language:
            chunk.metadata[DOC_LANGUAGE_KEY] = language
        scan = chunk_scan(chunk.text)
        if scan is not None:
            chunk.metadata[INJECTION_KEY] = scan
        document = Document(
            id=record.id,
            source=source,
            title=record.title,
            content_hash=digest,
            tenant=self.tenant,
            doc_type=chunk.doc_type,
            language=language,
            metadata=meta,
            embedder=self.embedder,
            chunk_count=1,
            updated_at=time.time(),
        )
        return document, chunk

    def _remove(self, source: str, existing: dict[str, Document], seen: set[str]) -> int:
        gone = [d.id for d in existing.values() if d.source == source and d.id not in seen]
        for doc_id in gone:
            self.store.delete_document(self.tenant, doc_id)
            existing.pop(doc_id, None)
        return len(gone)


def load_vector_files(
    ingestor: Ingestor,
    paths: list[Path],
    *,
    tenant: str,
    fields: JsonFields,
    vector_field: str,
    sync: bool = False,
    on_progress: ProgressFn | None = None,
) -> IngestReport:
    """Load vector JSONL ``paths`` into ``tenant`` with the ingestor's store, embedder
    (its name and dimension; it embeds nothing) and document ids."""
    files: list[tuple[Path, str]] = []
    for p in paths:
        path = Path(os.path.normpath(Path(p).absolute()))
        if not path.is_file():
            raise InputError(
                f"{p}: no such file (--vector-field reads JSONL files, not folders)",
                hint="name each .jsonl file to load",
            )
        files.append((path, ingestor.document_id(path)))
    embedder = ingestor.embedder
    load = VectorLoad(
        ingestor.store,
        tenant=tenant,
        embedder=embedder.name,
        dimension=embedder.dimension,
        fields=fields,
        vector_field=vector_field,
        sync=sync,
        claim_timeout_s=ingestor.settings.claim_timeout_s,
    )
    return load.run(files, on_progress)
