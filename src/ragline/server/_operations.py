"""Who may read the operational endpoints: ``/metrics`` and the API docs.

``/metrics`` lists every tenant's traffic, so it is served only to client addresses
in ``server.metrics_allow`` (default: loopback) or to a key with the ``metrics`` or
``admin`` scope (a Prometheus ``authorization`` credential). Behind a reverse proxy the
client address is the proxy's: give Prometheus a metrics key instead.

``server.docs`` decides ``/openapi.json``, ``/docs`` (Swagger UI) and ``/redoc``:

* ``off`` — not served (404);
* ``auth`` (default) — the schema needs any valid key; the two pages ask for the key in
  the browser and send it as ``Authorization: Bearer`` (it stays in the tab's session
  storage), so "Try it out" works too. A server with no keys serves them openly;
* ``public`` — open to everyone.
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

from ragline.server._errors import ApiError, unauthorized

if TYPE_CHECKING:
    from ragline.server._state import ServerState

_SWAGGER_JS = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"
_SWAGGER_CSS = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css"
_REDOC_JS = "https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js"


def check_metrics_access(request: Request, state: ServerState) -> None:
    """Return if the request may read ``/metrics``; raise 401/403 otherwise."""
    if state.client_allowed_for_metrics(request):
        return
    key = state.key_for(request)
    hint = (
        "send a key with the metrics scope (ragline keys create --tenant NAME --scope "
        "metrics), or add the client's address to server.metrics_allow"
    )
    if key is None:
        if state.open:
            raise ApiError(403, "forbidden", "metrics are not served to this address", hint=hint)
        raise unauthorized()
    if not key.allows("metrics"):
        raise ApiError(403, "forbidden", "this API key may not read metrics", hint=hint)


def _check_docs_access(request: Request, state: ServerState) -> None:
    if state.settings.server.docs == "public" or state.open:
        return
    if state.key_for(request) is None:
        raise unauthorized()


def _page(title: str, body: str, script: str) -> str:
    """A docs page that fetches the schema with the key the reader types in."""
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
{body}
<script>
async function raglineSpec() {{
  const store = window.sessionStorage;
  let key = store.getItem("ragline-key") || "";
  for (let attempt = 0; attempt < 3; attempt++) {{
    const headers = key ? {{Authorization: "Bearer " + key}} : {{}};
    const r = await fetch("/openapi.json", {{headers}});
    if (r.ok) {{ if (key) store.setItem("ragline-key", key); return [await r.json(), key]; }}
    if (r.status !== 401) throw new Error("/openapi.json: HTTP " + r.status);
    key = window.prompt("API key for this ragline server") || "";
    if (!key) break;
  }}
  throw new Error("an API key is needed to read the API docs");
}}
raglineSpec().then(([spec, key]) => {{ {script} }}).catch(e => {{
  document.body.textContent = String(e.message || e);
}});
</script></body></html>"""


def install_docs(app: FastAPI, state: ServerState) -> None:
    """Serve ``/openapi.json``, ``/docs`` and ``/redoc`` as ``server.docs`` says."""
    if state.settings.server.docs == "off":
        return
    title = json.dumps(f"{app.title} API")

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> JSONResponse:
        _check_docs_access(request, state)
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    async def swagger() -> HTMLResponse:
        body = (
            f'<link rel="stylesheet" href="{_SWAGGER_CSS}"></head><body>'
            f'<div id="swagger-ui"></div><script src="{_SWAGGER_JS}"></script>'
        )
        script = (
            'SwaggerUIBundle({spec, dom_id: "#swagger-ui", requestInterceptor: req => '
            '{ if (key) req.headers.Authorization = "Bearer " + key; return req; }});'
        )
        return HTMLResponse(_page(f"{app.title} API", body, script))

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        body = f'</head><body><div id="redoc"></div><script src="{_REDOC_JS}"></script>'
        script = (
            f'document.title = {title}; Redoc.init(spec, {{}}, document.getElementById("redoc"));'
        )
        return HTMLResponse(_page(f"{app.title} API", body, script))
