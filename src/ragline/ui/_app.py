"""The API with the dashboard on top: what ``ragline serve`` runs.

The server knows nothing of the dashboard (``ragline.ui`` depends on
``ragline.server``, never the reverse); these wrappers pass it :func:`extend`, which
mounts the pages unless ``ui.enabled`` is false.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ragline.server._app import create_app
from ragline.server._app import serve as serve_api
from ragline.server._app import worker_app as api_worker_app

if TYPE_CHECKING:
    from fastapi import FastAPI

    from ragline._project import Project
    from ragline.server._state import ServerState


def extend(app: FastAPI, state: ServerState) -> None:
    """Mount the dashboard on ``app`` when ``ui.enabled`` (the default)."""
    if state.settings.ui.enabled:
        from ragline.ui._mount import mount_ui

        mount_ui(app, state)


def dashboard_app(project: Project | str | os.PathLike[str] = ".", **options: Any) -> FastAPI:
    """``create_app`` with the dashboard (options as :func:`ragline.server.create_app`)."""
    return create_app(project, extend=extend, **options)


def worker_app() -> FastAPI:
    """The app of one ``--workers`` process, with the dashboard."""
    return api_worker_app(extend=extend)


def serve(project: Project | str | os.PathLike[str] = ".", **options: Any) -> None:
    """``ragline serve``: the API and the dashboard (options as
    :func:`ragline.server.serve`). Its ``--workers`` share one session secret."""
    import secrets

    from ragline.ui._session import PROCESS_SECRET_ENV

    os.environ.setdefault(PROCESS_SECRET_ENV, secrets.token_hex(32))
    serve_api(project, extend=extend, worker_factory="ragline.ui._app:worker_app", **options)


__all__ = ["dashboard_app", "extend", "serve", "worker_app"]
