"""ragline: ingest documents, retrieve with hybrid search, answer with verified citations.

The public Python API::

    import ragline
    project = ragline.Project(".")
    project.ingest(["docs/"])
    answer = project.ask("How long is the warranty?")
    print(answer.text)

Heavy libraries (torch, onnxruntime) are imported only when an embedder is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ragline._lazy import lazy_exports
from ragline._version import __version__
from ragline.errors import ConfigError, InputError, ProviderError, RaglineError, StoreError
from ragline.types import Answer, AnswerSentence, Chunk, Document, Hit, Reference

if TYPE_CHECKING:
    from ragline._project import Project

__all__ = [
    "Answer",
    "AnswerSentence",
    "Chunk",
    "ConfigError",
    "Document",
    "Hit",
    "InputError",
    "Project",
    "ProviderError",
    "RaglineError",
    "Reference",
    "StoreError",
    "__version__",
]

__getattr__ = lazy_exports(__name__, {"Project": "ragline._project"})
