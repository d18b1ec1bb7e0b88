"""``/v1/documents``: upload (files or JSON), list, get and delete the caller's documents.

``POST /v1/documents`` takes either ``multipart/form-data`` with one or more files in
the field ``files``, or ``application/json`` ``{"documents": [{"id", "text", …}]}``.
Both are ingested with the pipeline of ``ragline ingest`` (see ``_uploads``). The
answer has one result per file (per document for JSON): ``added``, ``updated``,
``unchanged`` or ``failed`` with the reason.

Status codes: 200 when at least one item was ingested (failed ones are listed with
their reason); when none was: 415 if every file has an unsupported type, 400 if
files were refused for their names (or types and names), 422 if every item failed
while ingesting (e.g. an empty or corrupt file). Error bodies then carry the
per-item ``results`` too. A refused or failed file never replaces a stored version.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from ragline.errors import InputError, NotFoundError, UnsupportedFormatError
from ragline.server._errors import ApiError, error_body
from ragline.server._routes_ask import json_response
from ragline.server._schemas import error_responses
from ragline.server._schemas_documents import (
    UPLOAD_BODY,
    DeletedOut,
    DocumentDetailOut,
    DocumentListOut,
    DocumentsIn,
    IngestOut,
)
from ragline.server._state import Caller, CallerDep, IngestCaller
from ragline.server._uploads import (
    SUPPORTED_HINT,
    ItemResult,
    JsonDoc,
    Outcome,
    check_upload,
    ingest_documents,
    ingest_files,
    remove_upload,
)

router = APIRouter(tags=["documents"])

MAX_FILES = 100


def _ingest_timeout(caller: Caller) -> float:
    return max(600.0, caller.state.settings.server.request_timeout_s * 10)


def _invalid(e: ValidationError) -> RequestValidationError:
    return RequestValidationError([{**err, "loc": ("body", *err["loc"])} for err in e.errors()])


def _outcome_response(outcome: Outcome, tenant: str) -> Response:
    body = outcome.to_dict(tenant)
    if any(r.status != "failed" for r in outcome.results):
        return json_response(body)
    first = next((r.error for r in outcome.results if r.error), "failed")
    err = error_body(
        "ingest_failed",
        f"nothing was ingested: {first}",
        hint="see results for each item",
        results=body["results"],
    )
    return JSONResponse(err, status_code=422)


async def _files(request: Request, caller: Caller) -> Response:
    form = await request.form(max_files=MAX_FILES, max_fields=MAX_FILES)
    try:
        unknown = sorted({k for k in form if k != "files"})
        if unknown:
            raise ApiError(
                422,
                "invalid_request",
                f"unknown form field {unknown[0]!r}",
                hint="send the files in the field 'files'",
            )
        parts = form.getlist("files")
        if not parts:
            raise ApiError(
                422,
                "invalid_request",
                "files: no files sent",
                hint="send files in the field 'files'",
            )
        accepted: list[tuple[str, bytes]] = []
        order: list[tuple[str, ItemResult | None]] = []
        unsupported = 0
        seen: set[str] = set()
        for part in parts:
            if isinstance(part, str):
                raise ApiError(
                    422,
                    "invalid_request",
                    "files: expected files, got a text field",
                    hint="send each file as a file part with a filename",
                )
            raw = part.filename or ""
            try:
                name = check_upload(raw)
                if name in seen:
                    raise InputError(f"{name}: sent twice in one request")
            except InputError as e:
                unsupported += isinstance(e, UnsupportedFormatError)
                order.append((raw, ItemResult(raw, "failed", error=str(e))))
                continue
            seen.add(name)
            accepted.append((name, await part.read()))
            order.append((name, None))
    finally:
        await form.close()
    if not accepted:
        refused = [r for _n, r in order if r is not None]
        status = 415 if unsupported == len(refused) else 400
        err = error_body(
            "unsupported_media_type" if status == 415 else "invalid_upload",
            f"no file was accepted: {refused[0].error}",
            hint=SUPPORTED_HINT if status == 415 else "see results for each file",
            results=[r.to_dict() for r in refused],
        )
        return JSONResponse(err, status_code=status)
    project, tenant = caller.project, caller.tenant
    done = await caller.state.admission.run(
        lambda: ingest_files(project, tenant, accepted), timeout=_ingest_timeout(caller)
    )
    by_name: dict[str, list[ItemResult]] = {}
    for r in done.results:
        by_name.setdefault(r.name, []).append(r)
    results: list[ItemResult] = []
    for name, refused_item in order:
        results.extend([refused_item] if refused_item is not None else by_name.get(name, []))
    done.results = results
    return _outcome_response(done, tenant)


async def _json(request: Request, caller: Caller) -> Response:
    try:
        body = DocumentsIn.model_validate_json(await request.body())
    except ValidationError as e:
        raise _invalid(e) from None
    docs = [
        JsonDoc(
            d.id, d.text, d.title, dict(d.metadata), (d.language or "").lower() or None, d.doc_type
        )
        for d in body.documents
    ]
    project, tenant = caller.project, caller.tenant
    done = await caller.state.admission.run(
        lambda: ingest_documents(project, tenant, docs), timeout=_ingest_timeout(caller)
    )
    return _outcome_response(done, tenant)


@router.post(
    "/v1/documents",
    response_model=IngestOut,
    responses=error_responses(400, 401, 413, 415, 422, 429, 503, 504),
    openapi_extra={"requestBody": UPLOAD_BODY},
    summary="Add or update documents: files (multipart, field 'files') or JSON",
)
async def add_documents(request: Request, caller: IngestCaller) -> Response:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        return await _files(request, caller)
    if ctype == "application/json" or ctype.endswith("+json"):
        return await _json(request, caller)
    raise ApiError(
        415,
        "unsupported_media_type",
        f"POST /v1/documents does not take {ctype or 'a body without Content-Type'}",
        hint="send multipart/form-data (files in the field 'files') or application/json "
        "{'documents': [...]}",
    )


@router.get(
    "/v1/documents",
    response_model=DocumentListOut,
    responses=error_responses(401, 422, 429, 503),
    summary="The caller's documents, by id, a page at a time",
)
async def list_documents(
    caller: CallerDep,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    store, tenant = caller.project.store, caller.tenant
    docs = await caller.state.admission.run(
        lambda: store.list_documents(tenant), timeout=caller.state.settings.server.request_timeout_s
    )
    docs.sort(key=lambda d: d.id)
    page = docs[offset : offset + limit]
    nxt = offset + limit if offset + limit < len(docs) else None
    return json_response(
        {
            "documents": [d.to_dict() for d in page],
            "total": len(docs),
            "offset": offset,
            "limit": limit,
            "next_offset": nxt,
        }
    )


def _not_found(document_id: str) -> NotFoundError:
    return NotFoundError(
        f"no document {document_id!r}", hint="GET /v1/documents lists your documents"
    )


DocId = Annotated[str, Path(description="the document id (may contain '/')")]


@router.get(
    "/v1/documents/{document_id:path}",
    response_model=DocumentDetailOut,
    responses=error_responses(401, 404, 429, 503),
    summary="One document (with its chunks when chunks=true)",
)
async def get_document(
    document_id: DocId,
    caller: CallerDep,
    chunks: Annotated[bool, Query(description="include the chunks' text")] = False,
) -> Response:
    store, tenant = caller.project.store, caller.tenant

    def load() -> dict[str, Any] | None:
        doc = store.get_document(tenant, document_id)
        if doc is None:
            return None
        out = doc.to_dict()
        if chunks:
            ids = [f"{doc.id}#{i}" for i in range(doc.chunk_count)]
            out["chunks"] = [
                {
                    "id": c.id,
                    "ordinal": c.ordinal,
                    "text": c.text,
                    "section": list(c.section_path),
                    "page": c.page,
                    "language": c.language,
                }
                for c in store.get_chunks(tenant, ids)
            ]
        return out

    found = await caller.state.admission.run(
        load, timeout=caller.state.settings.server.request_timeout_s
    )
    if found is None:
        raise _not_found(document_id)
    return json_response(found)


@router.delete(
    "/v1/documents/{document_id:path}",
    response_model=DeletedOut,
    responses=error_responses(401, 404, 429, 503),
    summary="Delete a document and its chunks (and its kept upload)",
)
async def delete_document(document_id: DocId, caller: IngestCaller) -> Response:
    project, tenant = caller.project, caller.tenant

    def delete() -> int | None:
        doc = project.store.get_document(tenant, document_id)
        if doc is None or not project.store.delete_document(tenant, document_id):
            return None
        remove_upload(project, tenant, document_id)
        return doc.chunk_count

    removed = await caller.state.admission.run(
        delete, timeout=caller.state.settings.server.request_timeout_s
    )
    if removed is None:
        raise _not_found(document_id)
    return json_response({"id": document_id, "deleted": True, "chunks": removed})
