"""The playground: ask a question and watch the answer stream (server-sent events from
the same pipeline as ``POST /v1/ask``), with the retrieval of two settings side by side
(``GET /playground/search``: hybrid, keyword or dense, and k — what ``GET /v1/search``
returns, for the viewer's tenant).

The page's script posts the question with the session's CSRF token in a header and
reads the event stream; the answer is traced like any other, for the viewer's tenant.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse, Response

from ragline.ui._render import page_errors, render
from ragline.ui._viewer import FormViewerDep, ViewerDep

router = APIRouter(include_in_schema=False)


@router.get("/playground")
@page_errors
def playground_page(request: Request, viewer: ViewerDep) -> Response:
    return render(request, viewer, "playground.html")


@router.post("/playground/ask")
async def playground_ask(
    viewer: FormViewerDep,
    question: Annotated[str, Form(max_length=20_000)] = "",
    k: Annotated[int | None, Form(ge=1, le=1000)] = None,
) -> Response:
    from ragline.server._routes_ask import check_k, check_question, stream_in_slot
    from ragline.server._state import Caller

    state = viewer.state
    text = check_question(state, question)
    caller = Caller(viewer.tenant, state)
    events = viewer.project.ask_stream(text, tenant=viewer.tenant, k=check_k(state, k))
    return await stream_in_slot(caller, events)


@router.get("/playground/search")
@page_errors
def playground_search(
    viewer: ViewerDep,
    q: Annotated[str, Query(max_length=20_000)] = "",
    mode: Annotated[str, Query(pattern="^(hybrid|keyword|dense)$")] = "hybrid",
    k: Annotated[int | None, Query(ge=1, le=1000)] = None,
) -> Response:
    from ragline.server._routes_ask import check_k, check_question

    state = viewer.state
    result = viewer.project.retrieve(
        check_question(state, q, "q"), tenant=viewer.tenant, k=check_k(state, k), mode=mode
    )
    return JSONResponse(
        {
            "mode": result.mode,
            "hits": [h.to_dict() for h in result.hits],
            "rules_fired": list(result.rules_fired),
            "timings_ms": dict(result.timings_ms),
        }
    )


__all__ = ["router"]
