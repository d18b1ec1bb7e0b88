"""Who is looking at a page: the dependency every dashboard route takes.

:func:`viewer` reads the session cookie (no valid session: :class:`LoginNeeded`, which
redirects to the login form with the page's address kept). :func:`form_viewer` also
checks the CSRF token of a state-changing form (a form field ``csrf`` or the
``X-CSRF-Token`` header); a missing or wrong token is a 403 page and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from ragline.ui._session import COOKIE, Session, Sessions

if TYPE_CHECKING:
    from ragline._project import Project
    from ragline.server._state import ServerState


class LoginNeeded(Exception):
    """No valid session: go to the login form, then back to ``next``."""

    def __init__(self, next_url: str, *, expired: bool = False) -> None:
        super().__init__(next_url)
        self.next_url = next_url
        self.expired = expired


class PageError(Exception):
    """An error page: ``status``, a title and what to do about it."""

    def __init__(self, status: int, title: str, message: str = "", hint: str = "") -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.message = message
        self.hint = hint


@dataclass(frozen=True, slots=True)
class Viewer:
    tenant: str
    admin: bool
    name: str
    session: Session
    csrf: str
    state: ServerState

    @property
    def project(self) -> Project:
        return self.state.project

    @property
    def scope(self) -> str | None:
        """The tenant reads are limited to (None: every tenant, for an admin)."""
        return None if self.admin else self.tenant

    def tenant_for(self, wanted: str | None) -> str | None:
        """The tenant filter of a list: an admin's choice, or the viewer's own tenant."""
        if self.admin:
            return wanted or None
        return self.tenant

    def require_admin(self, what: str) -> None:
        if not self.admin:
            raise PageError(
                403,
                f"{what} needs an admin key",
                f"{what} are not kept per tenant, so only an admin key sees them.",
                "log in with a key that has the admin scope "
                "(ragline keys create --tenant NAME --scope admin)",
            )


def sessions(request: Request) -> Sessions:
    found: Sessions = request.app.state.ui_sessions
    return found


def _current(request: Request) -> Viewer:
    from ragline.server._state import get_state

    state = get_state(request)
    store = sessions(request)
    raw = request.cookies.get(COOKIE)
    session = store.read(raw)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if session is None:
        raise LoginNeeded(target, expired=raw is not None)
    if state.open:
        if session.key_hash:  # keys were configured since: log in with one
            raise LoginNeeded(target, expired=True)
        return Viewer(session.tenant, False, "", session, store.csrf(session.sid), state)
    if not session.key_hash:
        raise LoginNeeded(target, expired=True)
    key = state.keys.current().by_hash(session.key_hash)
    if key is None:  # revoked or expired since the login
        raise LoginNeeded(target, expired=True)
    admin = "admin" in key.scopes
    return Viewer(key.tenant, admin, key.name or key.id, session, store.csrf(session.sid), state)


def viewer(request: Request) -> Viewer:
    return _current(request)


async def form_viewer(request: Request) -> Viewer:
    found = _current(request)
    token = request.headers.get("x-csrf-token")
    if token is None:
        form = await request.form()
        value = form.get("csrf")
        token = value if isinstance(value, str) else None
    if not sessions(request).check_csrf(found.session.sid, token):
        raise PageError(
            403,
            "this form has expired",
            "The form's security token is missing or does not match your session; "
            "nothing was changed.",
            "reload the page and submit it again",
        )
    return found


ViewerDep = Annotated[Viewer, Depends(viewer)]
FormViewerDep = Annotated[Viewer, Depends(form_viewer)]

__all__ = ["FormViewerDep", "LoginNeeded", "PageError", "Viewer", "ViewerDep"]
