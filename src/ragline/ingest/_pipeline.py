"""The ingest pipeline: walk → hash → (load → chunk → enrich → embed → upsert).

Incremental by content hash: a document whose hash (raw bytes or canonical record
JSON, its sidecar, the chunking/enrichment settings and the embedder name) is
already stored is reported ``unchanged`` without being parsed or embedded. A
changed document reuses the stored vectors of chunks whose text did not change.

Small documents are batched: chunks of several documents are embedded in one call
(about ``batch_size * 4`` at a time) and each document is then written in its own
transaction. A bad file or record is reported ``failed`` and nothing is written for
it, so a previously ingested good version stays; the run goes on with the others.
Errors from the embedder or the store abort the run (what was written stays, and a
re-run resumes where it stopped, since finished documents are then unchanged).

Two runs at once (two ``ragline ingest`` of one folder, an upload during an ingest)
never do the same document twice: before parsing a changed document a run claims it
in the store (:meth:`Store.claim_documents`, per tenant, id and content hash) and
releases it once written or given up, on every path out of the run. A document
another live run holds is reported ``busy`` and left to it; one that the other run
finished meanwhile is reported ``unchanged``. A crashed run's claims are taken over
once stale (see :mod:`ragline.store._claims`).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ragline.config import IngestSettings
from ragline.embed._base import Embedder
from ragline.errors import EmbedderError, EmptyDocumentError, InputError, RaglineError
from ragline.guards._injection import CHUNK_KEY as INJECTION_KEY
from ragline.guards._injection import chunk_scan
from ragline.ingest._chunker import chunk_document
from ragline.ingest._enrich import (
    DOC_LANGUAGE_KEY,
    MIXED_LANGUAGES_KEY,
    LanguageDetector,
    document_language,
    match_doc_type,
)
from ragline.ingest._json import JsonFields, RecordError
from ragline.ingest._loaded import LoadedDocument
from ragline.ingest._loaders import (
    Sidecar,
    check_size,
    file_format,
    is_sidecar,
    parse_bytes,
    read_sidecar,
)
from ragline.ingest._metadata import extract_metadata, note_written
from ragline.ingest._report import FileResult, IngestReport, Status
from ragline.store._base import Store
from ragline.store._claims import ClaimHolder, DocumentClaim
from ragline.trace._tracer import Tracer, span
from ragline.types import DEFAULT_TENANT, Chunk, Document

# bump when loaders/chunker change what a file turns into; 3: chunks carry their
# injection score (``ragline.injection``), so existing files are rescored on re-ingest
# 4: chunks carry their document's language and a mixed-languages marker
# 5: document metadata found at ingest (ragline.org/period/doc_type/file), and that
# line in the indexed text
PIPELINE_VERSION = "5"
ProgressFn = Callable[[int, int, str], None]
#: ``(tenant, chunks) -> sentences embedded``: runs after chunks are embedded and before
#: they are written (the project precomputes the extractive answerer's sentence vectors)
EmbeddedHook = Callable[[str, list[Chunk]], int]
_SKIP_DIRS = frozenset({"__pycache__", "node_modules"})


def is_ignored_file(name: str) -> bool:
    """Files a directory walk never ingests: hidden, sidecars, ragline's own files."""
    lower = name.lower()
    return (
        lower.startswith(".")
        or lower.startswith("ragline.db")
        or lower in ("ragline.yaml", "ragline.yml")
        or is_sidecar(Path(lower))
    )


def walk(root: Path) -> list[Path]:
    """Files under ``root`` in path order, skipping hidden files and folders."""
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in _SKIP_DIRS)
        out.extend(Path(dirpath) / n for n in filenames if not is_ignored_file(n))
    return sorted(out)


@dataclass(slots=True)
class _FileGroup:
    """Accumulates the outcome of one file (several for JSON records)."""

    path: str
    counts: dict[Status, list[int]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    busy: dict[str, DocumentClaim] = field(default_factory=dict)  # id → the other claim

    def add(self, status: Status, chunks: int) -> None:
        entry = self.counts.setdefault(status, [0, 0])
        entry[0] += 1
        entry[1] += chunks

    def results(self) -> list[FileResult]:
        out = [
            FileResult(self.path, status, docs, chunks)
            for status, (docs, chunks) in self.counts.items()
        ]
        if self.busy:
            out.append(_busy_result(self.path, self.busy))
        out += [FileResult(self.path, "failed", error=e) for e in self.failures]
        return out


def _busy_result(path: str, busy: dict[str, DocumentClaim]) -> FileResult:
    first = next(iter(busy.values()))
    what = "being ingested" if len(busy) == 1 else f"{len(busy)} documents being ingested"
    return FileResult(
        path,
        "busy",
        len(busy),
        error=f"{what} by another run ({first.describe()}); nothing done here — "
        "run again after it finishes",
        ids=list(busy),
    )


@dataclass(slots=True)
class _Pending:
    group: _FileGroup
    status: Status
    document: Document
    chunks: list[Chunk]
    detect: bool  # language to be detected (not stated by front-matter/sidecar)


class Ingestor:
    """Ingests files and folders into a store for one tenant at a time."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        settings: IngestSettings | None = None,
        *,
        project_dir: str | os.PathLike[str] = ".",
        on_embedded: EmbeddedHook | None = None,
        tracer: Tracer | None = None,
        flush_chunks: int | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.on_embedded = on_embedded
        self.tracer = tracer
        self.settings = settings or IngestSettings.model_validate({})
        #: chunks embedded per flush (a pool of embedders wants several batches at once)
        self.flush_chunks = max(1, flush_chunks or self.settings.batch_size * 4)
        self.project_dir = Path(os.path.normpath(Path(project_dir).absolute()))
        self.languages = LanguageDetector(self.settings.languages)
        s = self.settings
        fingerprint = {
            "version": PIPELINE_VERSION,
            "chunk_size": s.chunk_size,
            "chunk_overlap": s.chunk_overlap,
            "languages": sorted(s.languages),
            "doc_types": [[r.match, r.doc_type] for r in s.doc_types],
            "metadata": s.metadata.model_dump(mode="json"),
            "embedder": embedder.name,
        }
        self._fingerprint = json.dumps(fingerprint, sort_keys=True).encode()

    # ----------------------------------------------------------------- identities

    def document_id(self, path: str | os.PathLike[str]) -> str:
        """Posix path relative to the project folder, or the absolute path outside it."""
        absolute = Path(os.path.normpath(Path(path).absolute()))
        for a, base in (
            (absolute, self.project_dir),
            (absolute.resolve(), self.project_dir.resolve()),
        ):
            try:
                return a.relative_to(base).as_posix()
            except ValueError:
                continue
        return absolute.as_posix()

    def _source_path(self, source: str) -> Path:
        return Path(source) if os.path.isabs(source) else self.project_dir / source

    def _hash(self, *parts: bytes) -> str:
        h = hashlib.sha256(self._fingerprint)
        for part in parts:
            h.update(len(part).to_bytes(8, "little"))
            h.update(part)
        return h.hexdigest()

    # ----------------------------------------------------------------- the run

    def ingest(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        tenant: str = DEFAULT_TENANT,
        sync: bool = False,
        json_fields: JsonFields | None = None,
        on_progress: ProgressFn | None = None,
    ) -> IngestReport:
        """Ingest files and folders; see the module docstring for the rules.

        ``sync=True`` also deletes documents whose file is gone from a given folder
        (or a given path that no longer exists), and records no longer in a JSON/JSONL
        file; they are reported ``removed``.
        """
        paths = list(paths)
        run = _Run(self, tenant, sync, json_fields or JsonFields())
        if self.tracer is None:
            return run.execute(paths, on_progress)
        with self.tracer.span("ragline.ingest", "ingest", tenant=tenant) as root:
            root.update(
                {
                    "ragline.tenant": tenant,
                    "ragline.ingest.paths": [str(p) for p in paths],
                    "ragline.ingest.sync": sync,
                    "ragline.embedder": self.embedder.name,
                }
            )
            report = run.execute(paths, on_progress)
            root.update(report.trace_attributes())
        return report


class _Run:
    def __init__(self, ing: Ingestor, tenant: str, sync: bool, fields: JsonFields) -> None:
        self.ing = ing
        self.tenant = tenant
        self.sync = sync
        self.fields = fields
        self.existing: dict[str, Document] = {d.id: d for d in ing.store.list_documents(tenant)}
        self.groups: list[_FileGroup] = []
        self.pending: list[_Pending] = []
        self.pending_chunks = 0
        self.embedded = 0
        self.on_progress: ProgressFn | None = None
        self.file_no = 0
        self.file_total = 0
        self.holder = ClaimHolder.new()
        self.held: set[str] = set()  # ids this run has claimed and not released yet

    def execute(
        self, paths: list[str | os.PathLike[str]], on_progress: ProgressFn | None
    ) -> IngestReport:
        try:
            report = self._execute(paths, on_progress)
        except BaseException:
            self._release_all(quietly=True)  # the error that stopped the run wins
            raise
        self._release_all(quietly=False)
        return report

    def _execute(
        self, paths: list[str | os.PathLike[str]], on_progress: ProgressFn | None
    ) -> IngestReport:
        started = time.perf_counter()
        files: list[Path] = []
        dirs: list[Path] = []
        missing: list[Path] = []
        for p in paths:
            path = Path(os.path.normpath(Path(p).absolute()))
            if path.is_dir():
                dirs.append(path)
                files.extend(walk(path))
            elif path.is_file():
                files.append(path)
            else:
                missing.append(path)
        files = list(dict.fromkeys(files))
        current = ""
        self.on_progress, self.file_total = on_progress, len(files)
        for n, path in enumerate(files):
            current = self.ing.document_id(path)
            self.file_no = n
            if on_progress is not None:
                on_progress(n, len(files), current)
            with span("ragline.ingest.file", "ingest") as sp:
                self._file(path)
                if sp.is_recording:
                    group = self.groups[-1]
                    sp.update(
                        {
                            "ragline.document.id": current,
                            "ragline.ingest.outcome": {k: v[0] for k, v in group.counts.items()},
                            "ragline.ingest.queued": sum(
                                1 for q in self.pending if q.group is group
                            ),
                            "ragline.ingest.failures": list(group.failures),
                            "ragline.ingest.busy": len(group.busy),
                        }
                    )
                    if group.failures:
                        sp.set_status("error", group.failures[0])
            self._maybe_flush()
        self._flush()
        if on_progress is not None and files:
            on_progress(len(files), len(files), current)
        for path in missing:
            self._missing(path)
        if self.sync:
            for d in dirs:
                self._sync_dir(d)
        report = IngestReport(chunks_embedded=self.embedded)
        for group in self.groups:
            report.files.extend(group.results())
        report.elapsed_s = time.perf_counter() - started
        return report

    # ----------------------------------------------------------------- one file

    def _file(self, path: Path) -> None:
        doc_id = self.ing.document_id(path)
        group = _FileGroup(doc_id)
        self.groups.append(group)
        settings = self.ing.settings
        try:
            if is_sidecar(path):
                raise InputError(
                    f"{path.name} is a metadata sidecar, not a document",
                    hint="ingest the file it describes; its metadata is merged automatically",
                )
            fmt = file_format(path)
            check_size(path, settings)
            data = path.read_bytes()
            sidecar = read_sidecar(path)
        except InputError as e:
            group.failures.append(str(e))
            return
        except OSError as e:
            group.failures.append(f"cannot read {path.name}: {e.strerror or e}")
            return
        side_raw = sidecar[0] if sidecar else b""
        if fmt in ("json", "jsonl"):
            self._records(path, doc_id, fmt, data, sidecar, group)
            return
        content_hash = self.ing._hash(b"file", data, side_raw)
        old = self.existing.get(doc_id)
        if old is not None and old.content_hash == content_hash:
            group.add("unchanged", old.chunk_count)
            return
        if not self._claim(group, {doc_id: content_hash}):
            return
        queued = False
        try:
            with span("ragline.ingest.load", "ingest", {"ragline.ingest.format": fmt}) as sp:
                items = parse_bytes(path, data, fmt, settings, self.fields, sidecar, source=doc_id)
                sp.set("ragline.ingest.bytes", len(data))
            loaded = items[0]
            assert isinstance(loaded, LoadedDocument)
            self._queue(group, loaded, doc_id, doc_id, content_hash)
            queued = True
        except InputError as e:
            group.failures.append(str(e))
        except Exception as e:  # a parser crashed on odd input: report, keep going
            group.failures.append(_unexpected(path, e))
        finally:
            if not queued:  # nothing to write: let another run have it now
                self._release([doc_id])

    def _records(
        self,
        path: Path,
        source: str,
        fmt: str,
        data: bytes,
        sidecar: Sidecar | None,
        group: _FileGroup,
    ) -> None:
        settings = self.ing.settings
        try:
            items = parse_bytes(path, data, fmt, settings, self.fields, sidecar, source=source)
        except InputError as e:
            group.failures.append(str(e))
            return
        except Exception as e:
            group.failures.append(_unexpected(path, e))
            return
        side_raw = sidecar[0] if sidecar else b""
        extra = self.fields.fingerprint().encode()
        seen: set[str] = set()
        # changed records are claimed a window at a time, just before they are queued,
        # so a large file holds few claims at once, each for a short while
        window: dict[str, tuple[LoadedDocument, str]] = {}
        step = max(1, self.ing.settings.batch_size * 4)
        for i, item in enumerate(items):
            if i % 100 == 0 and self.on_progress is not None:
                self.on_progress(self.file_no, self.file_total, f"{source} ({i}/{len(items)})")
            if isinstance(item, RecordError):
                group.failures.append(str(item.error))
                if item.record_id is not None:
                    seen.add(item.record_id)
                continue
            assert item.id is not None
            seen.add(item.id)
            content_hash = self.ing._hash(b"record", extra, item.fingerprint.encode(), side_raw)
            old = self.existing.get(item.id)
            if old is not None and old.content_hash == content_hash:
                group.add("unchanged", old.chunk_count)
                continue
            window[item.id] = (item, content_hash)
            if len(window) >= step:
                self._queue_records(path, source, group, window)
                window = {}
        self._queue_records(path, source, group, window)
        if self.sync:
            gone = [d for d in self.existing.values() if d.source == source and d.id not in seen]
            self._remove(source, gone)

    def _queue_records(
        self,
        path: Path,
        source: str,
        group: _FileGroup,
        window: dict[str, tuple[LoadedDocument, str]],
    ) -> None:
        """Claim a window of changed records, queue those claimed, flush if due."""
        if not window:
            return
        claimed = self._claim(group, {doc_id: h for doc_id, (_item, h) in window.items()})
        for doc_id in claimed:
            item, content_hash = window[doc_id]
            try:
                self._queue(group, item, doc_id, source, content_hash)
            except InputError as e:
                group.failures.append(str(e))
                self._release([doc_id])
            except Exception as e:
                group.failures.append(_unexpected(path, e))
                self._release([doc_id])
        self._maybe_flush()  # a large JSONL file is written as it goes

    # ----------------------------------------------------------------- claims

    def _claim(self, group: _FileGroup, wanted: dict[str, str]) -> list[str]:
        """Claim changed documents (id → content hash); the ids this run may now do.

        The others are reported in ``group``: ``busy`` when another run holds them,
        ``unchanged`` when another run finished that very version meanwhile.
        """
        outcome = self.ing.store.claim_documents(
            self.tenant,
            wanted,
            holder=self.holder,
            timeout_s=self.ing.settings.claim_timeout_s,
        )
        self.held.update(outcome.claimed)
        for doc_id, doc in outcome.stored.items():
            self.existing[doc_id] = doc
            group.add("unchanged", doc.chunk_count)
        group.busy.update(outcome.busy)
        return outcome.claimed

    def _release(self, doc_ids: list[str]) -> None:
        mine = [d for d in doc_ids if d in self.held]
        if mine:
            self.ing.store.release_documents(self.tenant, mine, holder=self.holder)
            self.held.difference_update(mine)

    def _release_all(self, *, quietly: bool) -> None:
        """Release what the run still holds (after an error: queued, never written)."""
        try:
            self._release(sorted(self.held))
        except RaglineError:
            if not quietly:
                raise
            # the store failed too: the claims expire (see ragline.store._claims)

    def _queue(
        self, group: _FileGroup, loaded: LoadedDocument, doc_id: str, source: str, content_hash: str
    ) -> None:
        settings = self.ing.settings
        loaded.doc_type = loaded.doc_type or match_doc_type(settings.doc_types, source)
        loaded.metadata.update(
            extract_metadata(loaded, settings.metadata, path=source, is_file=doc_id == source)
        )
        with span("ragline.ingest.chunk", "ingest") as sp:
            chunks = chunk_document(
                loaded,
                doc_id,
                chunk_size=settings.chunk_size,
                chunk_overlap=settings.chunk_overlap,
                tenant=self.tenant,
                source=source,
            )
            sp.set("ragline.ingest.chunks", len(chunks))
        if not chunks:
            raise EmptyDocumentError(
                f"{Path(source).name}: no text to index", hint="add content or leave it out"
            )
        if loaded.language:
            for c in chunks:
                c.language = loaded.language
        document = Document(
            id=doc_id,
            source=source,
            title=loaded.title,
            content_hash=content_hash,
            tenant=self.tenant,
            doc_type=loaded.doc_type,
            language=loaded.language,
            metadata=dict(loaded.metadata),
            embedder=self.ing.embedder.name,
            chunk_count=len(chunks),
        )
        status: Status = "updated" if doc_id in self.existing else "added"
        self.pending.append(_Pending(group, status, document, chunks, loaded.language is None))
        self.pending_chunks += len(chunks)

    # ----------------------------------------------------------------- embed + write

    def _maybe_flush(self) -> None:
        if self.pending_chunks >= self.ing.flush_chunks:
            self._flush()

    def _flush(self) -> None:
        if not self.pending:
            return
        pending, self.pending, self.pending_chunks = self.pending, [], 0
        to_detect = [p for p in pending if p.detect]
        with span("ragline.ingest.enrich", "ingest") as sp:
            found = self.ing.languages.profile_documents(
                [[c.text for c in p.chunks] for p in to_detect]
            )
            for p, profile in zip(to_detect, found, strict=True):
                for chunk, lang, mixed in zip(p.chunks, profile.chunks, profile.mixed, strict=True):
                    chunk.language = lang
                    if mixed:
                        chunk.metadata[MIXED_LANGUAGES_KEY] = mixed
                p.document.language = profile.language or document_language(p.chunks)
            # each chunk knows its document's language: a tenant's `languages` filter
            # requires both (a chunk of code in a Spanish document is not English text)
            for p in pending:
                if p.document.language:
                    for chunk in p.chunks:
                        chunk.metadata[DOC_LANGUAGE_KEY] = p.document.language
            # the injection score of every chunk, kept with it: the retrieval guard reads
            # it instead of scanning each hit of every query (about 0.5 ms per chunk)
            for p in pending:
                for chunk in p.chunks:
                    scan = chunk_scan(chunk.text)
                    if scan is not None:
                        chunk.metadata[INJECTION_KEY] = scan
            sp.set("ragline.ingest.documents", len(to_detect))
        with span("ragline.ingest.embed", "embedding") as sp:
            before = self.embedded
            all_chunks = [c for p in pending for c in p.chunks]
            vectors = self._vectors(all_chunks)
            if sp.is_recording:
                sp.update(
                    {
                        "ragline.embedder": self.ing.embedder.name,
                        "ragline.ingest.documents": len(pending),
                        "ragline.ingest.chunks": len(all_chunks),
                        "ragline.ingest.embedded": self.embedded - before,
                    }
                )
        if self.ing.on_embedded is not None:  # before the writes: a failure leaves them undone
            with span("ragline.ingest.sentences", "embedding") as sp:
                sp.set(
                    "ragline.ingest.sentences_embedded",
                    self.ing.on_embedded(self.tenant, all_chunks),
                )
        for p in pending:
            matrix = np.stack([vectors[c.content_hash] for c in p.chunks]).astype(np.float32)
            p.document.updated_at = time.time()
            with span("ragline.ingest.store", "store") as sp:
                sp.set("ragline.document.id", p.document.id)
                sp.set("ragline.ingest.chunks", len(p.chunks))
                self.ing.store.upsert_document(p.document, p.chunks, matrix)
            self.existing[p.document.id] = p.document
            p.group.add(p.status, len(p.chunks))
        note_written()
        self._release([p.document.id for p in pending])

    def _vectors(self, chunks: list[Chunk]) -> dict[str, np.ndarray]:
        embedder = self.ing.embedder
        texts: dict[str, str] = {}
        for c in chunks:
            texts.setdefault(c.content_hash, c.indexed_text)
        vectors: dict[str, np.ndarray] = dict(
            self.ing.store.embeddings_by_hash(self.tenant, list(texts), embedder.name)
        )
        missing = [h for h in texts if h not in vectors]
        fresh = set(missing)
        self.embedded += sum(1 for c in chunks if c.content_hash in fresh)
        step = self.ing.flush_chunks
        for i in range(0, len(missing), step):
            hashes = missing[i : i + step]
            out = np.asarray(embedder.embed_documents([texts[h] for h in hashes]))
            if out.shape != (len(hashes), embedder.dimension):
                raise EmbedderError(
                    f"embedder {embedder.name} returned shape {out.shape} for "
                    f"{len(hashes)} texts (expected ({len(hashes)}, {embedder.dimension}))",
                    hint="check the embedder configuration",
                )
            vectors.update(zip(hashes, out, strict=True))
        return vectors

    # ----------------------------------------------------------------- removal

    def _remove(self, source: str, docs: list[Document]) -> None:
        if not docs:
            return
        group = _FileGroup(source)
        for d in docs:
            if self.ing.store.delete_document(self.tenant, d.id):
                group.add("removed", d.chunk_count)
                note_written()
            self.existing.pop(d.id, None)
        if group.counts:
            self.groups.append(group)

    def _missing(self, path: Path) -> None:
        prefix = self.ing.document_id(path)
        if self.sync:
            gone = [d for d in self.existing.values() if _under(d.source, prefix)]
            if gone:
                for source in sorted({d.source for d in gone}):
                    self._remove(source, [d for d in gone if d.source == source])
                return
        group = _FileGroup(prefix)
        group.failures.append(
            f"{path} does not exist — check the path (relative paths start from the current folder)"
        )
        self.groups.append(group)

    def _sync_dir(self, directory: Path) -> None:
        prefix = self.ing.document_id(directory)
        uploads = self.ing.project_dir / UPLOADS_DIR / self.tenant
        gone: dict[str, list[Document]] = {}
        for d in self.existing.values():
            if _under(d.source, prefix) and not self.ing._source_path(d.source).is_file():
                if not os.path.isabs(d.source) and (uploads / d.source).is_file():
                    continue  # uploaded over HTTP (kept under .ragline/uploads), not gone
                gone.setdefault(d.source, []).append(d)
        for source in sorted(gone):
            self._remove(source, gone[source])


#: where ``POST /v1/documents`` keeps uploaded files, per tenant, in the project folder
UPLOADS_DIR = Path(".ragline") / "uploads"


def _under(source: str, prefix: str) -> bool:
    if prefix == ".":
        return not os.path.isabs(source)
    return source == prefix or source.startswith(prefix.rstrip("/") + "/")


def _unexpected(path: Path, e: Exception) -> str:
    if isinstance(e, RaglineError):
        return str(e)
    return (
        f"{path.name}: unexpected error while reading it ({type(e).__name__}: {e})"
        " — check the file; if it opens fine elsewhere, please report this"
    )
