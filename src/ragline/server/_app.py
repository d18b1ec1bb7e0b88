"""The FastAPI application: routers, middleware, error handlers, health and metrics.

``create_app(project)`` builds it; ``serve(project)`` runs it under uvicorn with a
graceful shutdown: on SIGTERM uvicorn stops accepting connections, in-flight requests
get ``server.shutdown_grace_s`` to finish, then traces are flushed and stores closed.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ragline.server._auth import KeyRing, LiveKeys
from ragline.server._errors import install_error_handlers
from ragline.server._limits import BodyLimit
from ragline.server._metrics import MetricsMiddleware
from ragline.server._operations import check_metrics_access, install_docs
from ragline.server._schemas import error_responses
from ragline.server._state import ServerState

if TYPE_CHECKING:
    from ragline._project import Project
    from ragline.monitor._loop import MonitorLoop

log = logging.getLogger("ragline.server")

#: adds routes to the app once it is built (the dashboard); the server knows no more
AppHook = Callable[[FastAPI, ServerState], None]


class RequestId:
    """Echo ``X-Request-ID`` (or make one) on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = ""
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                rid = value.decode("latin-1")[:64]
                break
        rid = rid or uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = rid

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        await self.app(scope, receive, send_wrapper)


def _warm_up(project: Project) -> None:
    """Load models and build the retriever and answerer (of every tenant) before serving."""
    project.parts.load_models()
    for name in {project.settings.default_tenant, *project.settings.tenants}:
        view = project.parts.view(name)
        _ = view.pipeline  # its retriever and answerer
        view.warm()  # and what its guards load (the language check's detector)


def _start_monitor(project: Project, state: ServerState) -> MonitorLoop | None:
    """The alert rules' loop on a background thread (``monitor.evaluate_in_server``),
    notifying through the server's notifiers (counted on ``/metrics``)."""
    from ragline.monitor._wiring import metric_source, start_in_server

    backend = project.parts.backend
    return start_in_server(
        project.settings,
        backend,
        project_dir=project.path,
        dispatcher=state.notify,
        source=metric_source(backend, project.parts.trace_store),
    )


def _as_project(project: Project | str | os.PathLike[str]) -> Project:
    from ragline._project import Project

    return project if isinstance(project, Project) else Project(project)


def create_app(
    project: Project | str | os.PathLike[str] = ".",
    *,
    keys: KeyRing | None = None,
    environ: Mapping[str, str] | None = None,
    notifiers: bool = True,
    extend: AppHook | None = None,
) -> FastAPI:
    """The ragline HTTP API over ``project`` (a :class:`Project` or its folder).

    ``keys`` fixes the keys (tests); by default they come from the tenants' env
    variables and the keys file, which is re-read when it changes. ``notifiers``
    False: build no notifiers (the schema needs none, nor their secrets). ``extend``
    adds routes on top of the API (``ragline.ui`` mounts the dashboard with it).
    """
    proj = _as_project(project)
    live = (
        LiveKeys.fixed(keys)
        if keys is not None
        else LiveKeys.load(proj.settings, proj.path, environ)
    )
    state = ServerState(proj, live, notifiers=notifiers)
    server = proj.settings.server

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = max(limiter.total_tokens, server.max_concurrency + 8)
        await anyio.to_thread.run_sync(_warm_up, proj)
        monitor = await anyio.to_thread.run_sync(_start_monitor, proj, state)
        app.state.monitor = monitor
        state.ready = True
        try:
            yield
        finally:
            state.ready = False
            state.draining = state.stopping = True
            state.usage.flush()
            if monitor is not None:  # lets the evaluator lock go: another process takes over
                await anyio.to_thread.run_sync(monitor.stop)
            if state.notify is not None:  # deliver what is queued, briefly
                await anyio.to_thread.run_sync(state.notify.close)
            await anyio.to_thread.run_sync(proj.close)

    from ragline._version import __version__

    app = FastAPI(
        title="ragline",
        version=__version__,
        summary="Document Q&A with cited answers, per tenant; OpenAI-compatible.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.ragline = state
    install_error_handlers(app)

    from ragline.server import (
        _routes_agent,
        _routes_ask,
        _routes_chat,
        _routes_documents,
        _routes_memory,
        _routes_openai,
        _routes_traces,
    )

    for module in (_routes_ask, _routes_chat, _routes_documents, _routes_traces, _routes_openai):
        app.include_router(module.router)
    app.include_router(_routes_memory.router)
    app.include_router(_routes_agent.router)

    @app.get("/healthz", tags=["operations"], summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="Ready to serve: models loaded, store reachable, not draining",
        responses={503: {"description": "not ready (starting, draining, store down)"}},
    )
    async def readyz() -> JSONResponse:
        if state.draining:  # SIGTERM: a load balancer takes this replica out of rotation
            return JSONResponse({"status": "not ready", "reason": "draining"}, 503)
        if not state.ready:
            return JSONResponse({"status": "not ready", "reason": "starting"}, 503)
        try:
            await anyio.to_thread.run_sync(proj.store.tenants)
        except Exception as e:
            return JSONResponse({"status": "not ready", "reason": f"store: {e}"}, 503)
        return JSONResponse({"status": "ready"})

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics (loopback, server.metrics_allow, or a metrics key)",
        response_class=Response,
        responses={
            200: {
                "description": "metrics in the Prometheus text format",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            },
            **error_responses(401, 403),
        },
    )
    async def metrics(request: Request) -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST

        check_metrics_access(request, state)
        return Response(state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    install_docs(app, state)
    if extend is not None:  # what sits on top of the API (the dashboard: ragline.ui)
        extend(app, state)

    if server.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=server.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Request-ID"],
        )
    app.add_middleware(BodyLimit, max_bytes=server.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=lambda: state.metrics)
    app.add_middleware(RequestId)
    return app


def openapi_schema(project: Project | str | os.PathLike[str] = ".") -> dict[str, Any]:
    """The OpenAPI schema (what ``docs/openapi.json`` holds)."""
    previous = log.level
    log.setLevel(logging.ERROR)  # no "no API keys" warning: nothing is served here
    try:
        app = create_app(_as_project(project), keys=KeyRing(), notifiers=False)
    finally:
        log.setLevel(previous)
    return app.openapi()


_WORKER_ENV = "RAGLINE_SERVE_WORKER"


def worker_app(extend: AppHook | None = None) -> FastAPI:
    """The app of one ``--workers`` process: the parent's project folder and settings."""
    import json

    from ragline._project import Project
    from ragline.config import Settings

    spec = json.loads(os.environ[_WORKER_ENV])
    settings = Settings.model_validate(spec["settings"])
    return create_app(Project(spec["path"], settings=settings), extend=extend)


def serve(
    project: Project | str | os.PathLike[str] = ".",
    *,
    host: str | None = None,
    port: int | None = None,
    workers: int | None = None,
    access_log: bool = False,
    log_level: str = "info",
    extend: AppHook | None = None,
    worker_factory: str = "ragline.server._app:worker_app",
) -> None:
    """Run the server until SIGINT/SIGTERM (then drain in-flight requests and exit).

    With ``workers`` > 1, uvicorn runs that many processes on the same socket (Python
    runs one thread at a time per process; on 2+ cores, 2+ workers answer more). Each
    worker has its own models, limits and metrics; the store is shared. ``extend``
    adds routes to each app (one process); ``worker_factory`` names the app factory of
    each worker (``module:function``), which does the same there.
    """
    import uvicorn

    proj = _as_project(project)
    s = proj.settings.server
    n = workers if workers is not None else s.workers
    if port is not None:  # the flag wins over the file: the default instance name
        s.port = port  # (hostname:port) is the port really served
    common: dict[str, Any] = {
        "host": host or s.host,
        "port": s.port,
        "access_log": access_log,
        "log_level": log_level,
        "timeout_graceful_shutdown": int(s.shutdown_grace_s) or None,
        "server_header": False,
    }
    if n > 1:
        import json

        KeyRing.load(proj.settings, proj.path)  # fail here, once, on a bad key setup
        spec = {"path": str(proj.path), "settings": proj.settings.model_dump(mode="json")}
        os.environ[_WORKER_ENV] = json.dumps(spec)
        proj.close()
        # /metrics adds up every worker (prometheus_client multiprocess mode); the
        # workers inherit the folder through the environment
        from ragline.server._metrics_mp import (
            ENV,
            prepare_multiprocess_dir,
            remove_multiprocess_dir,
        )

        folder, made_here = prepare_multiprocess_dir()
        os.environ[ENV] = str(folder)
        try:
            uvicorn.run(worker_factory, factory=True, workers=n, **common)
        finally:
            if made_here:
                remove_multiprocess_dir(folder)
        return
    from ragline.server._drain import DrainingServer

    app = create_app(proj, extend=extend)
    config = uvicorn.Config(app, **common)
    DrainingServer(config, app.state.ragline, drain_s=s.drain_s).run()


__all__ = ["AppHook", "create_app", "openapi_schema", "serve", "worker_app"]
