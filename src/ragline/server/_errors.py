"""The server's one error shape and the mapping from ragline's error tree to HTTP.

Every error response is JSON::

    {"error": {"type": "rate_limited", "message": "…", "hint": "…"}}

with the status code a client library expects (400/401/404/413/415/422/429/503/504).
A 500 never carries internals: the message is generic and the details go to the log
with the request id.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ragline.errors import (
    ConfigError,
    InputError,
    NotFoundError,
    ProviderError,
    RaglineError,
    StoreError,
)

log = logging.getLogger("ragline.server")


class ApiError(Exception):
    """An error with its HTTP status, a stable ``type`` and optional headers."""

    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        *,
        hint: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.hint = hint
        self.headers = headers or {}
        self.extra = extra or {}  # more fields of "error", e.g. OpenAI's "code" and "param"


def unauthorized() -> ApiError:
    # one message for a missing header, a malformed one and an unknown key: never say which
    return ApiError(
        401,
        "unauthorized",
        "missing or invalid API key",
        hint="send 'Authorization: Bearer <key>'",
        headers={"WWW-Authenticate": "Bearer"},
    )


def error_body(type_: str, message: str, hint: str | None = None, **extra: Any) -> dict[str, Any]:
    err: dict[str, Any] = {"type": type_, "message": message}
    if hint:
        err["hint"] = hint
    err.update(extra)
    return {"error": err}


def error_response(err: ApiError) -> JSONResponse:
    return JSONResponse(
        error_body(err.type, err.message, err.hint, **err.extra),
        status_code=err.status,
        headers=err.headers,
    )


def from_ragline(e: RaglineError) -> ApiError:
    """Map the library's error tree onto HTTP statuses."""
    if isinstance(e, NotFoundError):
        return ApiError(404, "not_found", e.message, hint=e.hint)
    if isinstance(e, InputError):
        return ApiError(400, "invalid_input", e.message, hint=e.hint)
    if isinstance(e, ConfigError):
        return ApiError(400, "invalid_config", e.message, hint=e.hint)
    if isinstance(e, ProviderError):
        retry = getattr(e, "retry_after_s", None)
        headers = {"Retry-After": str(max(1, round(retry)))} if retry else None
        return ApiError(502, "model_error", e.message, hint=e.hint, headers=headers)
    if isinstance(e, StoreError):
        return ApiError(503, "store_unavailable", e.message, hint=e.hint)
    return ApiError(500, "error", e.message, hint=e.hint)


def _validation_message(errors: list[Any]) -> tuple[str, list[dict[str, Any]]]:
    details = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        details.append({"field": ".".join(loc) or "body", "message": err.get("msg", "")})
    first = details[0] if details else {"field": "body", "message": "invalid request"}
    return f"{first['field']}: {first['message']}", details


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RaglineError)
    async def _ragline_error(request: Request, exc: RaglineError) -> JSONResponse:
        api = from_ragline(exc)
        if api.status >= 500:
            log.warning("request %s failed: %s", request.url.path, exc)
        return error_response(api)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        json_type = ctype == "application/json" or ctype.endswith("+json")
        body_error = any(e.get("loc", ())[:1] == ("body",) for e in errors)
        has_body = request.headers.get("content-length", "0") != "0" or (
            "transfer-encoding" in request.headers
        )
        if body_error and not json_type and (ctype or has_body):
            # curl -d sends application/x-www-form-urlencoded; a bare client sends none
            sent = f"not {ctype}" if ctype else "but the request has no Content-Type header"
            return JSONResponse(
                error_body(
                    "unsupported_media_type",
                    f"this endpoint takes a JSON body, {sent}",
                    "send the header Content-Type: application/json "
                    "(with curl: -H 'Content-Type: application/json')",
                ),
                status_code=415,
            )
        if any(e.get("type") == "json_invalid" for e in errors):
            return JSONResponse(
                error_body("invalid_json", "the request body is not valid JSON"),
                status_code=400,
            )
        message, details = _validation_message(errors)
        return JSONResponse(
            error_body("invalid_request", message, details=details), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        types = {404: "not_found", 405: "method_not_allowed", 415: "unsupported_media_type"}
        message = str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"no endpoint {request.url.path}"
        elif exc.status_code == 405 and message == "Method Not Allowed":
            message = f"{request.method} is not allowed on {request.url.path}"
        return JSONResponse(
            error_body(types.get(exc.status_code, "http_error"), message, "see /docs"),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        rid = getattr(request.state, "request_id", "-")
        log.exception("unexpected error in %s (request %s)", request.url.path, rid)
        return JSONResponse(
            error_body("internal_error", f"internal error (request {rid}); see the server log"),
            status_code=500,
        )
