"""Rendering: the Jinja2 environment (autoescaped), the page response and its headers,
and turning ragline errors into error pages.

Every page is sent with a Content-Security-Policy that allows only this server's own
scripts, styles and connections: nothing on a page can load from the internet.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse

from ragline.errors import InputError, NotFoundError, RaglineError
from ragline.ui._viewer import PageError, Viewer

if TYPE_CHECKING:
    from jinja2 import Environment

log = logging.getLogger("ragline.ui")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

P = ParamSpec("P")
R = TypeVar("R")


def when(t: float | None) -> str:
    if t is None or not math.isfinite(t):
        return "—"
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S")


def ago(t: float | None) -> str:
    if t is None:
        return "—"
    s = max(0.0, time.time() - t)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            return f"{int(s // size)}{unit} ago"
    return f"{int(s)}s ago"


def num(v: Any, digits: int = 3) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def to_json(v: Any) -> str:
    return json.dumps(v, indent=2, ensure_ascii=False, default=str)


@functools.cache
def environment() -> Environment:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("ragline.ui", "templates"),
        autoescape=select_autoescape(["html", "svg"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=when, ago=ago, num=num, to_json=to_json)
    return env


def render(
    request: Request,
    viewer: Viewer | None,
    template: str,
    *,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    page = environment().get_template(template)
    html = page.render(request=request, viewer=viewer, path=request.url.path, **context)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def error_page(request: Request, viewer: Viewer | None, e: PageError) -> HTMLResponse:
    return render(request, viewer, "error.html", status=e.status, error=e)


def page_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """A page handler whose ragline errors become error pages: not found (or another
    tenant's) 404, bad input 400, anything else (the store down) 503."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except PageError:
            raise
        except NotFoundError as e:
            raise PageError(404, "not found", e.message, e.hint or "") from None
        except InputError as e:
            raise PageError(400, "bad input", e.message, e.hint or "") from None
        except RaglineError as e:
            raise PageError(503, "the store cannot be read", e.message, e.hint or "") from None
        except Exception as e:  # the store's driver failing (a locked or missing file…)
            log.exception("dashboard page failed")
            raise PageError(
                503, "the store cannot be read", f"{type(e).__name__}: {e}", ""
            ) from None

    return wrapper


__all__ = ["CSP", "HEADERS", "environment", "error_page", "page_errors", "render"]
