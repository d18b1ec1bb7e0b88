"""The knowledge base: a tenant's documents, and one document's chunks (section path,
page, language, metadata such as injection flags). Ids are in the query string
(document ids are paths and URLs). An admin picks the tenant; anyone else sees their
own. A document of another tenant is "not found"."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ragline.ui._render import page_errors, render
from ragline.ui._viewer import PageError, Viewer, ViewerDep

router = APIRouter(include_in_schema=False)


def _tenant(viewer: Viewer, wanted: str) -> str:
    return (wanted or viewer.tenant) if viewer.admin else viewer.tenant


@router.get("/documents")
@page_errors
def documents_page(
    request: Request, viewer: ViewerDep, tenant: str = "", cursor: int = 0
) -> Response:
    store = viewer.project.store
    name = _tenant(viewer, tenant)
    docs = sorted(store.list_documents(name), key=lambda d: d.id)
    size = viewer.state.settings.ui.page_size
    start = max(0, cursor)
    page = docs[start : start + size]
    return render(
        request,
        viewer,
        "documents.html",
        docs=page,
        total=len(docs),
        tenant=name,
        tenants=sorted(store.tenants()) if viewer.admin else [],
        next_cursor=start + size if start + size < len(docs) else None,
    )


@router.get("/documents/view")
@page_errors
def document_page(request: Request, viewer: ViewerDep, id: str = "", tenant: str = "") -> Response:
    store = viewer.project.store
    name = _tenant(viewer, tenant)
    doc = store.get_document(name, id) if id else None
    if doc is None:
        raise PageError(404, "not found", f"no document {id!r}", "the documents page lists them")
    chunks = store.document_chunks(name, doc.id)
    return render(request, viewer, "document.html", doc=doc, chunks=chunks, tenant=name)


__all__ = ["router"]
