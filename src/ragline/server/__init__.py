"""The HTTP API: ``create_app(project)`` (FastAPI) and ``serve(project)`` (uvicorn).

Routes, auth (hashed API keys → tenants), limits, SSE streaming, Prometheus metrics
and an OpenAI-compatible ``/v1/chat/completions``.
"""

from ragline.server._app import create_app, openapi_schema, serve
from ragline.server._auth import KeyRing, hash_key, new_key

__all__ = ["KeyRing", "create_app", "hash_key", "new_key", "openapi_schema", "serve"]
