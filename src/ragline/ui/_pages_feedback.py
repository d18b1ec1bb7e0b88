"""The feedback queue (newest first, paged by time) with a "make regression case"
button per trace, and the regression cases of ``ui.cases_dataset``.

A case is made exactly as ``ragline cases add TRACE`` makes it (see
:mod:`ragline.evals._cases`); a trace already in the dataset is refused with the
reason on the page, and the file is left as it was. A tenant sees the cases of its
own traces; an admin sees every case.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ragline.errors import InputError
from ragline.store._traces import FEEDBACK_KINDS
from ragline.ui._pages_traces import load_trace
from ragline.ui._render import HEADERS, page_errors, render
from ragline.ui._viewer import FormViewerDep, Viewer, ViewerDep

router = APIRouter(include_in_schema=False)


def dataset_path(viewer: Viewer) -> Path:
    return viewer.project.path / viewer.state.settings.ui.cases_dataset


@router.get("/feedback")
@page_errors
def feedback_page(
    request: Request, viewer: ViewerDep, kind: str = "", cursor: str = ""
) -> Response:
    error = ""
    if kind and kind not in FEEDBACK_KINDS:
        error = f"kind: unknown feedback kind {kind!r} (use one of {', '.join(FEEDBACK_KINDS)})"
        kind = ""
    before: float | None = None
    if cursor:
        try:
            before = float(cursor)
        except ValueError:
            error = f"cursor: {cursor!r} is not a page position"
    items = viewer.project.trace_store.list_feedback(tenant=viewer.scope, kind=kind or None)
    items.sort(key=lambda f: f.created_at, reverse=True)
    if before is not None:
        items = [f for f in items if f.created_at < before]
    size = viewer.state.settings.ui.page_size
    page, more = items[:size], len(items) > size
    from urllib.parse import urlencode

    next_query = (
        urlencode(
            {k: v for k, v in {"kind": kind, "cursor": repr(page[-1].created_at)}.items() if v}
        )
        if more
        else None
    )
    return render(
        request,
        viewer,
        "feedback.html",
        status=400 if error else 200,
        items=page,
        kind=kind,
        kinds=FEEDBACK_KINDS,
        error=error,
        next_query=next_query,
    )


@router.post("/traces/{trace_id}/case")
@page_errors
def make_case(viewer: FormViewerDep, trace_id: str) -> Response:
    from ragline.evals._cases import add_case_from_trace

    _, root = load_trace(viewer, trace_id)
    path = dataset_path(viewer)
    path.parent.mkdir(parents=True, exist_ok=True)
    project = viewer.project
    case = add_case_from_trace(
        project.trace_store,
        path,
        root.trace_id,
        tenant=root.tenant,
        min_support=project.settings.answer.min_support,
    )
    return RedirectResponse(f"/cases?added={case.id}", status_code=303, headers=HEADERS)


@router.get("/cases")
@page_errors
def cases_page(request: Request, viewer: ViewerDep, added: str = "") -> Response:
    from ragline.evals._case_edit import list_cases

    path = dataset_path(viewer)
    error = ""
    cases: list[Any] = []
    if path.exists():
        try:
            cases = list_cases(path)
        except InputError as e:
            error = str(e)
    default = viewer.state.settings.default_tenant
    if not viewer.admin:
        cases = [c for c in cases if (c.tenant or default) == viewer.tenant]
    return render(
        request,
        viewer,
        "cases.html",
        cases=cases,
        dataset=viewer.state.settings.ui.cases_dataset,
        error=error,
        added=added,
    )


__all__ = ["dataset_path", "router"]
