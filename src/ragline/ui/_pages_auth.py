"""``/login`` and ``/logout``: an API key in, a session cookie out.

The login form carries its own CSRF token (a random value also set as a short-lived
cookie, compared on submit), so another site cannot log a browser in with its key.
``next`` is kept through the form and must be a path on this server (no open
redirect). With no keys configured the server is open: ``/login`` starts a session
for the default tenant at once.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from ragline.server._auth import hash_key
from ragline.server._state import get_state
from ragline.ui._render import HEADERS, render
from ragline.ui._session import COOKIE, LOGIN_COOKIE
from ragline.ui._viewer import FormViewerDep, sessions

router = APIRouter(include_in_schema=False)


def safe_next(value: str | None) -> str:
    """A local path to go back to; anything else (another host, a scheme) is ``/``."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def _start(request: Request, next_url: str, key_hash: str, tenant: str) -> Response:
    cookie = sessions(request).issue(key_hash=key_hash, tenant=tenant)
    response = RedirectResponse(safe_next(next_url), status_code=303, headers=HEADERS)
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=sessions(request).max_age_s,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


def _form(
    request: Request, next_url: str, *, error: str = "", expired: bool = False, status: int = 200
) -> Response:
    token = secrets.token_urlsafe(16)
    response = render(
        request,
        None,
        "login.html",
        status=status,
        next_url=safe_next(next_url),
        login_csrf=token,
        error=error,
        expired=expired,
    )
    response.set_cookie(
        LOGIN_COOKIE, token, max_age=3600, httponly=True, samesite="strict", path="/login"
    )
    return response


@router.get("/login")
def login_form(request: Request, next: str = "/", expired: bool = False) -> Response:
    state = get_state(request)
    if state.open:
        return _start(request, next, "", state.settings.default_tenant)
    return _form(request, next, expired=expired)


@router.post("/login")
def login(
    request: Request,
    key: Annotated[str, Form(max_length=512)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    state = get_state(request)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf):
        return _form(request, next, error="The form expired; please log in again.", status=403)
    if state.open:
        return _start(request, next, "", state.settings.default_tenant)
    found = state.keys.current().lookup(key.strip()) if key.strip() else None
    if found is None:
        return _form(request, next, error="Unknown or expired API key.", status=401)
    return _start(request, next, hash_key(key.strip()), found.tenant)


@router.post("/logout")
def logout(request: Request, viewer: FormViewerDep) -> Response:
    response = RedirectResponse("/login", status_code=303, headers=HEADERS)
    response.delete_cookie(COOKIE, path="/")
    return response


__all__ = ["router", "safe_next"]
