"""Public test helpers: fakes and conformance suites for every pluggable part.

Heavy or pytest-only names are imported lazily.
"""

from __future__ import annotations

from typing import Any

from ragline.embed._hash import HashEmbedder

__all__ = [
    "ConversationStoreConformance",
    "EmbedderConformance",
    "FakeModel",
    "FunctionModel",
    "HashEmbedder",
    "ModelCall",
    "ServerProcess",
    "StoreConformance",
    "TraceStoreConformance",
    "block_real_requests",
    "real_requests_blocked",
]

_MODEL_FAKES = {
    "FakeModel",
    "FunctionModel",
    "ModelCall",
    "block_real_requests",
    "real_requests_blocked",
}


def __getattr__(name: str) -> Any:
    if name == "StoreConformance":
        from ragline.testing._store_conformance import StoreConformance

        return StoreConformance
    if name == "ConversationStoreConformance":
        from ragline.testing._conversation_conformance import ConversationStoreConformance

        return ConversationStoreConformance
    if name == "TraceStoreConformance":
        from ragline.testing._trace_conformance import TraceStoreConformance

        return TraceStoreConformance
    if name == "ServerProcess":
        from ragline.testing._server import ServerProcess

        return ServerProcess
    if name == "EmbedderConformance":
        from ragline.testing._embedder_conformance import EmbedderConformance

        return EmbedderConformance
    if name in _MODEL_FAKES:
        from ragline.testing import _models

        return getattr(_models, name)
    raise AttributeError(name)
