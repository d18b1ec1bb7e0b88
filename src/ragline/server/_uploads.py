"""Ingesting documents sent over HTTP, with the same pipeline as ``ragline ingest``.

Uploaded files are kept under ``.ragline/uploads/<tenant>/`` in the project folder,
and their document id (and ``source``) is the upload name relative to that folder,
so ``handbook.md`` uploaded again with new content is *updated*, and uploaded
unchanged is *unchanged*. Names are checked first: no absolute paths, no ``..``, no
hidden parts, no NUL or control characters, no backslashes.

Documents sent as JSON are written as JSONL to ``.ragline/uploads/<tenant>/.api/``,
ingested with their own ids, and the file is removed again (the store keeps the
text). Documents that state a language are written with a sidecar saying so.

One lock per tenant folder serializes writes, so two uploads of the same name
cannot interleave in one process; across processes (``--workers``, a ``ragline
ingest`` at the same time) the pipeline's per-document claims make the second one
``busy``. A file whose ingest fails is put back as it was (the previous
version stays in the store, and on disk).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragline.errors import InputError, UnsupportedFormatError
from ragline.ingest._loaders import FORMATS, file_format, is_sidecar
from ragline.ingest._pipeline import UPLOADS_DIR

if TYPE_CHECKING:
    from ragline._project import Project
    from ragline.ingest import IngestReport

UPLOADS = UPLOADS_DIR
API_DIR = ".api"
MAX_NAME_CHARS = 1024
MAX_PART_CHARS = 255
RESERVED_FIELDS = frozenset({"id", "_id", "title", "text", "doc_type", "language"})
SUPPORTED_HINT = "supported: " + ", ".join(sorted(FORMATS))
#: what a ``busy`` item says over HTTP (the holder's host and pid stay on the server)
BUSY_NOTE = (
    "being ingested by another request or run at the same time; nothing done here — "
    "retry after it finishes"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"^[A-Za-z]:")

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock(root: Path) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(str(root), threading.Lock())


@dataclass(slots=True)
class ItemResult:
    """The outcome for one uploaded file or one JSON document."""

    name: str
    status: str
    documents: int = 0
    chunks: int = 0
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Outcome:
    results: list[ItemResult] = field(default_factory=list)
    chunks_embedded: int = 0
    elapsed_s: float = 0.0

    def totals(self) -> dict[str, int]:
        out = dict.fromkeys(("added", "updated", "unchanged", "busy", "failed"), 0)
        for r in self.results:
            out[r.status] = out.get(r.status, 0) + (1 if r.status == "failed" else r.documents)
        return out

    def to_dict(self, tenant: str) -> dict[str, Any]:
        return {
            "tenant": tenant,
            "results": [r.to_dict() for r in self.results],
            "totals": self.totals(),
            "chunks_embedded": self.chunks_embedded,
            "elapsed_s": round(self.elapsed_s, 4),
        }


def uploads_root(project: Project, tenant: str) -> Path:
    return project.path / UPLOADS / tenant


def check_name(raw: str) -> str:
    """A safe relative upload name (``/``-separated), or :class:`InputError`."""
    hint = "send a plain relative name such as 'handbook.md' or 'guides/setup.md'"
    name = raw.strip()
    if not name:
        raise InputError("a file has no name", hint=hint)
    if len(name) > MAX_NAME_CHARS:
        raise InputError(f"file name longer than {MAX_NAME_CHARS} characters", hint=hint)
    shown = ascii(name)[1:-1][:200]
    if _CONTROL.search(name):
        raise InputError(f"file name {shown!r} contains NUL or control characters", hint=hint)
    if "\\" in name:
        raise InputError(f"file name {shown!r} contains a backslash", hint=hint)
    if name.startswith("/") or _DRIVE.match(name):
        raise InputError(f"file name {shown!r} is an absolute path", hint=hint)
    if any(0xD800 <= ord(c) <= 0xDFFF for c in name):
        raise InputError(f"file name {shown!r} is not valid Unicode", hint=hint)
    for part in name.split("/"):
        if part in ("", ".", ".."):
            raise InputError(f"file name {shown!r} has an empty, '.' or '..' part", hint=hint)
        if part.startswith("."):
            raise InputError(f"file name {shown!r} has a hidden part ({part!r})", hint=hint)
        if len(part) > MAX_PART_CHARS:
            raise InputError(f"a part of file name {shown!r} is too long", hint=hint)
    return name


def check_upload(raw: str) -> str:
    """``check_name`` plus the file type: only formats ``ragline ingest`` reads."""
    name = check_name(raw)
    if is_sidecar(Path(name)):
        raise UnsupportedFormatError(
            f"{name}: metadata sidecars are not accepted over HTTP",
            hint="send metadata with the documents as JSON ({'documents': [...]})",
        )
    file_format(Path(name))  # UnsupportedFormatError with the supported list
    return name


def _inside(root: Path, name: str) -> Path:
    path = (root / name).resolve()
    if not path.is_relative_to(root.resolve()):
        raise InputError(f"file name {name!r} points outside the upload folder")
    return path


def _by_path(report: IngestReport) -> dict[str, list[ItemResult]]:
    out: dict[str, list[ItemResult]] = {}
    for r in report.files:
        error = BUSY_NOTE if r.status == "busy" else r.error
        out.setdefault(r.path, []).append(
            ItemResult(r.path, r.status, r.documents, r.chunks, error)
        )
    return out


def ingest_files(project: Project, tenant: str, files: list[tuple[str, bytes]]) -> Outcome:
    """Save and ingest checked uploads (``(name, data)``, names from :func:`check_upload`)."""
    root = uploads_root(project, tenant)
    outcome = Outcome()
    with _lock(root):
        root.mkdir(parents=True, exist_ok=True)
        backups: dict[str, bytes | None] = {}
        paths = [_inside(root, name) for name, _data in files]
        for (name, data), path in zip(files, paths, strict=True):
            backups[name] = path.read_bytes() if path.is_file() else None
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        try:
            report = project.ingest(paths, tenant=tenant, root=root)
        except BaseException:
            _restore(root, backups)
            raise
        found = _by_path(report)
        # a file nothing of which was ingested goes back to what it was (a JSON file
        # with some good records stays: the store now holds those)
        failed = {
            name: b
            for name, b in backups.items()
            if all(r.status == "failed" for r in found.get(name, []))
        }
        _restore(root, failed)
    for name, _data in files:
        outcome.results.extend(found.get(name, [ItemResult(name, "failed", error="not ingested")]))
    outcome.chunks_embedded = report.chunks_embedded
    outcome.elapsed_s = report.elapsed_s
    return outcome


def _restore(root: Path, backups: dict[str, bytes | None]) -> None:
    for name, old in backups.items():
        path = root / name
        if old is None:
            path.unlink(missing_ok=True)
            _prune(root, path)
        else:
            path.write_bytes(old)


def _prune(root: Path, path: Path) -> None:
    """Remove the folders between ``root`` and ``path`` that are now empty."""
    for parent in path.parents:
        if parent == root or not parent.is_relative_to(root):
            break
        try:
            parent.rmdir()
        except OSError:
            break


def remove_upload(project: Project, tenant: str, document_id: str) -> None:
    """Delete the kept upload of ``document_id``, if it was an upload."""
    try:
        name = check_name(document_id)
    except InputError:
        return
    root = uploads_root(project, tenant)
    with _lock(root):
        path = root / name
        if path.is_file() and path.resolve().is_relative_to(root.resolve()):
            path.unlink()
            _prune(root, path)


# ------------------------------------------------------------------ JSON documents


@dataclass(frozen=True, slots=True)
class JsonDoc:
    id: str
    text: str
    title: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    language: str | None = None
    doc_type: str | None = None


def _groups(docs: list[JsonDoc]) -> dict[tuple[str | None, tuple[str, ...]], list[JsonDoc]]:
    # one file per language and metadata key set: a document's content hash then depends
    # only on the document, not on what else was in the request
    out: dict[tuple[str | None, tuple[str, ...]], list[JsonDoc]] = {}
    for d in docs:
        out.setdefault((d.language, tuple(sorted(d.metadata))), []).append(d)
    return out


def ingest_documents(project: Project, tenant: str, docs: list[JsonDoc]) -> Outcome:
    """Ingest JSON documents with their own ids; per-document status in request order."""
    root = uploads_root(project, tenant) / API_DIR
    store = project.store
    outcome = Outcome()
    before = {d.id: _hash(store.get_document(tenant, d.id)) for d in docs}
    failures: dict[str, str] = {}
    busy: set[str] = set()  # ids another run was ingesting
    general: list[str] = []
    with _lock(root):
        root.mkdir(parents=True, exist_ok=True)
        for n, ((language, keys), group) in enumerate(_groups(docs).items(), start=1):
            stem = "api" + (f".{language}" if language else "") + (f"-{n}" if n > 1 else "")
            path = root / f"{stem}.jsonl"
            sidecar = root / f"{stem}.jsonl.meta.json"
            lines = [json.dumps(_record(d), ensure_ascii=False) for d in group]
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            if language:
                sidecar.write_text(json.dumps({"language": language}), encoding="utf-8")
            try:
                report = project.ingest(
                    [path],
                    tenant=tenant,
                    id_field="id",
                    meta_fields=[*keys, "doc_type"],
                    root=root,
                )
            finally:
                path.unlink(missing_ok=True)
                sidecar.unlink(missing_ok=True)
            outcome.chunks_embedded += report.chunks_embedded
            outcome.elapsed_s += report.elapsed_s
            for r in report.busy:
                busy.update(r.ids)
            for r in report.failed:
                owner = next((d.id for d in group if r.error and f"(id {d.id!r})" in r.error), None)
                if owner is not None:
                    failures.setdefault(owner, r.error or "failed")
                else:
                    general.append(r.error or "failed")
    for d in docs:
        doc = store.get_document(tenant, d.id)
        now = _hash(doc)
        if d.id in busy:
            outcome.results.append(ItemResult(d.id, "busy", 1, 0, BUSY_NOTE))
        elif doc is None or (d.id in failures and now == before[d.id]):
            reason = failures.get(d.id) or (general[0] if general else "not ingested")
            outcome.results.append(ItemResult(d.id, "failed", error=reason))
        elif before[d.id] is None:
            outcome.results.append(ItemResult(d.id, "added", 1, doc.chunk_count))
        elif before[d.id] != now:
            outcome.results.append(ItemResult(d.id, "updated", 1, doc.chunk_count))
        else:
            outcome.results.append(ItemResult(d.id, "unchanged", 1, doc.chunk_count))
    return outcome


def _hash(doc: Any) -> str | None:
    return None if doc is None else str(doc.content_hash)


def _record(d: JsonDoc) -> dict[str, Any]:
    record: dict[str, Any] = {"id": d.id, "title": d.title, "text": d.text, **d.metadata}
    if d.doc_type:
        record["doc_type"] = d.doc_type
    return record
