"""``ragline mcp``: a tenant's knowledge base as MCP tools, over stdio or streamable HTTP.

MCP (the Model Context Protocol) is another transport over the same
:class:`~ragline.Project`, beside the REST routes, so it lives here in ``server/`` and
uses the REST server's keys (tenants' ``api_keys_env`` and the keys file). Built on the
official ``mcp`` SDK (``pip install 'ragline[mcp]'``), imported when the command runs.

Three tools, each answering with structured JSON (and the same JSON as text):

- ``search(query, k=5, filters={})`` — the knowledge base's best chunks (hybrid
  retrieval, as ``ragline search``), numbered ``n`` = 1, 2, …, with title, section,
  source, page, score and text; ``filters`` as in ``POST /v1/ask`` (metadata the hits
  must have, a list value meaning any of them);
- ``ask(question, k=None, filters={})`` — a cited answer (the pipeline, as ``ragline ask``): the
  text with ``[n]`` markers, ``citations`` (each ``n`` with the document, chunk, title,
  section, source, page), whether it abstained, and the trace id;
- ``get_document(document_id, max_chars=20000)`` — one document's metadata and text
  (its chunks in order), cut at ``max_chars``.

Who is asking:

- **stdio** (a desktop assistant starts ``ragline mcp`` itself): ``--api-key KEY`` (or
  ``RAGLINE_API_KEY``) serves that key's tenant, a wrong key stops the start with one
  clear line; ``--tenant T`` serves T for a local operator without a key (whoever can
  start the process can read the store anyway); neither: ``default_tenant``.
- **streamable HTTP** (``--http``, on ``--host``/``--port``, endpoint ``/mcp``): every
  request carries ``Authorization: Bearer KEY``; the key gives the tenant, exactly as
  for ``/v1/ask``. A missing, unknown or expired key is refused with 401 before the MCP
  layer sees the request. With ``server.auth: off``, or while the project has no keys
  at all (and ``server.auth`` is not ``required``), every request is the default
  tenant, as the REST server does.

Errors a user can fix (a blank question, an unknown document, a bad filter) come back
as tool errors (``isError``) whose text says what went wrong and how to fix it;
nothing else is lost, and the server keeps serving.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ragline.errors import InputError, NotFoundError

if TYPE_CHECKING:
    from ragline._project import Project
    from ragline.server._auth import LiveKeys

log = logging.getLogger("ragline.mcp")

MCP_PATH = "/mcp"
MAX_K = 50
MAX_DOCUMENT_CHARS = 200_000
INSTALL_HINT = "pip install 'ragline[mcp]' (the official MCP SDK)"

TenantOf = Callable[[Mapping[str, str] | None], str]


def require_sdk() -> None:
    import importlib.util

    if importlib.util.find_spec("mcp") is None:
        from ragline.errors import ConfigError

        raise ConfigError(
            "ragline mcp needs the MCP SDK, which is not installed", hint=INSTALL_HINT
        )


def search_result(
    project: Project, tenant: str, query: str, k: int, filters: dict[str, Any]
) -> dict[str, Any]:
    if not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise InputError(f"k must be between 1 and {MAX_K}, not {k!r}")
    hits = project.search(query, tenant=tenant, k=k, filters=filters or None)
    out = []
    for n, hit in enumerate(hits, 1):
        c = hit.chunk
        out.append(
            {
                "n": n,
                "document_id": c.document_id,
                "chunk_id": c.id,
                "title": c.title,
                "section": c.section,
                "source": c.source,
                "page": c.page,
                "score": round(hit.score, 6),
                "text": c.text,
            }
        )
    return {"query": query, "tenant": tenant, "hits": out}


def ask_result(
    project: Project, tenant: str, question: str, k: int | None, filters: dict[str, Any]
) -> dict[str, Any]:
    if k is not None and (not isinstance(k, int) or not 1 <= k <= MAX_K):
        raise InputError(f"k must be between 1 and {MAX_K}, not {k!r}")
    answer = project.ask(question, tenant=tenant, k=k, filters=filters or None)
    return {
        "answer": answer.text,
        "citations": [
            {
                "n": r.number,
                "document_id": r.document_id,
                "chunk_id": r.chunk_id,
                "title": r.title,
                "section": r.section,
                "source": r.source,
                "page": r.page,
            }
            for r in answer.references
        ],
        "abstained": answer.abstained,
        "blocked": answer.blocked,
        "model": answer.model,
        "trace_id": answer.trace_id,
    }


def document_result(
    project: Project, tenant: str, document_id: str, max_chars: int
) -> dict[str, Any]:
    if not isinstance(max_chars, int) or not 1 <= max_chars <= MAX_DOCUMENT_CHARS:
        raise InputError(f"max_chars must be between 1 and {MAX_DOCUMENT_CHARS}, not {max_chars!r}")
    if not isinstance(document_id, str) or not document_id.strip() or "\x00" in document_id:
        raise InputError("document_id must be a non-empty document id", hint="search returns them")
    store = project.store
    doc = store.get_document(tenant, document_id)
    if doc is None:
        raise NotFoundError(
            f"no document {document_id!r}",
            hint="use a document_id from the search tool's hits (ids are per tenant)",
        )
    text = "\n\n".join(c.text for c in store.document_chunks(tenant, document_id))
    return {
        "id": doc.id,
        "title": doc.title,
        "source": doc.source,
        "doc_type": doc.doc_type,
        "language": doc.language,
        "metadata": dict(doc.metadata),
        "chunks": doc.chunk_count,
        "text": text[:max_chars],
        "truncated": len(text) > max_chars,
    }


# -- who is asking -----------------------------------------------------------------------


def stdio_tenant(project: Project, *, tenant: str | None, api_key: str | None) -> str:
    """The tenant a stdio server serves (see the module docstring); ``InputError`` for a
    wrong key or a key of another tenant than ``tenant``."""
    from ragline.server._auth import KeyRing

    if api_key is None:
        return project.tenant_or_default(tenant)
    found = KeyRing.load(project.settings, project.path).lookup(api_key)
    if found is None:
        raise InputError(
            "the API key is unknown or expired",
            hint="use a key from `ragline keys create --tenant NAME`, or pass --tenant",
        )
    if tenant is not None and tenant != found.tenant:
        raise InputError(
            f"the API key belongs to tenant {found.tenant!r}, not {tenant!r}",
            hint="drop --tenant (the key names the tenant) or use that tenant's key",
        )
    return found.tenant


class KeyTenants:
    """HTTP: the tenant of a request's bearer key (the REST server's keys and rules)."""

    def __init__(self, project: Project, keys: LiveKeys) -> None:
        auth = project.settings.server.auth
        self.default = project.settings.default_tenant
        self.auth_off = auth == "off"
        self.keys = keys
        self._keyed = auth == "required" or bool(len(keys.current()))

    def open(self) -> bool:
        """No key needed (as :meth:`ServerState.open`): auth off, or no key exists yet and
        auth is not ``required``; once a key exists, keys are needed from then on."""
        if self.auth_off:
            return True
        if not self._keyed and len(self.keys.current()):
            self._keyed = True
        return not self._keyed

    def tenant(self, headers: Mapping[str, str] | None) -> str | None:
        """The caller's tenant, or ``None`` when the key is missing, unknown or expired."""
        from ragline.server._auth import key_from_headers

        if self.open():
            return self.default
        key = key_from_headers({k.lower(): v for k, v in (headers or {}).items()})
        found = self.keys.current().lookup(key) if key else None
        return found.tenant if found is not None else None

    def __call__(self, headers: Mapping[str, str] | None) -> str:
        tenant = self.tenant(headers)
        if tenant is None:  # the middleware refused it already; never serve a guess
            raise InputError("missing or invalid API key")
        return tenant


def _unauthorized() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    body = json.dumps(
        {
            "error": {
                "code": "unauthorized",
                "message": "missing or invalid API key",
                "hint": "send Authorization: Bearer <key> (ragline keys create --tenant NAME)",
            }
        }
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"www-authenticate", b'Bearer realm="ragline"'),
        (b"content-length", str(len(body)).encode()),
    ]
    return 401, headers, body


def require_key(app: Any, tenants: KeyTenants) -> Any:
    """``app`` behind a bearer-key check: 401 unless the key names a tenant."""

    async def guarded(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            if tenants.tenant(headers) is None:
                status, head, body = _unauthorized()
                await send({"type": "http.response.start", "status": status, "headers": head})
                await send({"type": "http.response.body", "body": body})
                return
        await app(scope, receive, send)

    return guarded


# -- running -------------------------------------------------------------------------------


def run_stdio(project: Project, tenant: str) -> None:
    """Serve ``tenant`` over stdin/stdout until the client closes it."""
    from ragline.server._mcp_tools import build_mcp_server

    server = build_mcp_server(project, lambda _headers: tenant)
    server.run("stdio")


def http_app(project: Project, *, host: str = "127.0.0.1", keys: LiveKeys | None = None) -> Any:
    """The streamable-HTTP ASGI app (endpoint :data:`MCP_PATH`), behind the key check."""
    from ragline.server._auth import LiveKeys

    live = keys or LiveKeys.load(project.settings, project.path)
    from ragline.server._mcp_tools import build_mcp_server

    tenants = KeyTenants(project, live)
    server = build_mcp_server(project, tenants)
    app = server.streamable_http_app(streamable_http_path=MCP_PATH, host=host)
    return require_key(app, tenants)


def run_http(project: Project, *, host: str, port: int) -> None:
    """Serve over streamable HTTP on ``host:port`` until SIGINT/SIGTERM."""
    import uvicorn

    app = http_app(project, host=host)
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)
