"""``mount_ui(app, state)``: the dashboard's routes, static files and error pages on the
API's FastAPI app (``create_app`` calls it unless ``ui.enabled`` is false).

Page routes are left out of the OpenAPI schema: they are HTML for people, not API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from ragline.ui._render import HEADERS, error_page
from ragline.ui._session import Sessions
from ragline.ui._viewer import LoginNeeded, PageError

if TYPE_CHECKING:
    from ragline.server._state import ServerState


def mount_ui(app: FastAPI, state: ServerState) -> None:
    from importlib.resources import files

    from starlette.staticfiles import StaticFiles

    from ragline.ui import (
        _pages_alerts,
        _pages_auth,
        _pages_docs,
        _pages_evals,
        _pages_feedback,
        _pages_overview,
        _pages_playground,
        _pages_traces,
    )

    ui = state.settings.ui
    app.state.ui_sessions = Sessions.from_env(ui.session_secret_env, hours=ui.session_hours)
    static = files("ragline.ui").joinpath("static")
    app.mount("/ui/static", StaticFiles(directory=str(static)), name="ui-static")
    for module in (
        _pages_auth,
        _pages_overview,
        _pages_traces,
        _pages_feedback,
        _pages_evals,
        _pages_docs,
        _pages_playground,
        _pages_alerts,
    ):
        app.include_router(module.router)

    @app.exception_handler(LoginNeeded)
    async def login_needed(request: Request, exc: LoginNeeded) -> Response:
        query = {"next": exc.next_url, **({"expired": "1"} if exc.expired else {})}
        target = "/login?" + urlencode(query)
        if request.headers.get("hx-request"):  # htmx follows this header, not a 303
            return Response(status_code=204, headers={**HEADERS, "HX-Redirect": target})
        return RedirectResponse(target, status_code=303, headers=HEADERS)

    @app.exception_handler(PageError)
    async def page_error(request: Request, exc: PageError) -> Response:
        from ragline.ui._viewer import viewer

        try:  # the page's header (who is logged in) when there is a session
            who = viewer(request)
        except (LoginNeeded, PageError):
            who = None
        return error_page(request, who, exc)


__all__ = ["mount_ui"]
