"""Reranking: reorder the fused hits before the answer is written from them.

``retrieval.reranker`` picks the backend (see :func:`parse_reranker_spec`):

- ``none`` (default): the fused order;
- ``http:<URL>``: a rerank server, Cohere/Jina/TEI ``/rerank`` or vLLM/llama.cpp
  ``/v1/rerank`` (:class:`HttpReranker`);
- ``cross-encoder:<folder>``: an ONNX cross-encoder in a local folder
  (:class:`CrossEncoderReranker`);
- ``llm:<model spec>``: listwise reranking by a model (:class:`LlmReranker`).

Every backend satisfies :class:`Reranker` and passes
:class:`ragline.testing.RerankerConformance`. The ``rerank`` stage of the answer
pipeline runs it on the top ``retrieval.rerank_candidates`` hits and falls back to
the fused order when it fails (see :class:`ragline.answer._stages.Rerank`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ragline._lazy import lazy_exports
from ragline.errors import ConfigError
from ragline.rerank._base import Reranker, ScoringReranker, order_by, passage

if TYPE_CHECKING:
    from ragline.config import RetrievalSettings
    from ragline.models import Model

KINDS = ("none", "http", "cross-encoder", "llm")
HINT = (
    "use none, http:<URL>, cross-encoder:<folder> or llm:<model spec> "
    "(e.g. http:http://127.0.0.1:8080/rerank)"
)


def parse_reranker_spec(spec: str) -> tuple[str, str]:
    """``spec`` → ``(kind, argument)``; a bad spec is a :class:`ConfigError`."""
    spec = spec.strip()
    if spec.lower() in ("none", "off", "false", ""):
        return "none", ""
    if spec.startswith(("http://", "https://")):
        return "http", spec
    kind, sep, arg = spec.partition(":")
    arg = arg.strip()
    if sep and kind in ("http", "cross-encoder", "llm") and arg:
        if kind == "http" and not arg.startswith(("http://", "https://")):
            raise ConfigError(
                f"retrieval.reranker {spec!r}: {arg!r} is not an http(s) URL", hint=HINT
            )
        return kind, arg
    raise ConfigError(f"unknown retrieval.reranker {spec!r}", hint=HINT)


def check_reranker(settings: RetrievalSettings, *, base_dir: Path) -> None:
    """What can be checked when the project starts: the spec, a model folder, the model
    spec of an LLM reranker, a header variable."""
    import os

    kind, arg = parse_reranker_spec(settings.reranker)
    if kind == "cross-encoder":
        from ragline.rerank._cross_encoder import check_folder

        check_folder(_folder(arg, base_dir))
    elif kind == "llm":
        from ragline.models._factory import check_spec

        check_spec(arg)
    elif kind == "http" and settings.rerank_api_key_env:  # noqa: SIM102
        if not os.environ.get(settings.rerank_api_key_env):
            raise ConfigError(
                f"retrieval.rerank_api_key_env names {settings.rerank_api_key_env}, which is unset",
                hint=f"export {settings.rerank_api_key_env}=<token> or remove the setting",
            )


def _folder(arg: str, base_dir: Path) -> Path:
    folder = Path(arg).expanduser()
    return folder if folder.is_absolute() else base_dir / folder


def make_reranker(
    settings: RetrievalSettings,
    *,
    base_dir: Path,
    model: Callable[[str, float], Model] | None = None,
) -> Reranker | None:
    """The reranker ``settings.reranker`` names (None for ``none``)."""
    import os

    kind, arg = parse_reranker_spec(settings.reranker)
    if kind == "none":
        return None
    if kind == "http":
        from ragline.rerank._http import HttpReranker

        headers = {}
        if settings.rerank_api_key_env:
            token = os.environ.get(settings.rerank_api_key_env, "")
            headers["Authorization"] = f"Bearer {token}"
        return HttpReranker(
            arg, timeout_ms=settings.rerank_timeout_ms, model=settings.rerank_model, headers=headers
        )
    if kind == "cross-encoder":
        from ragline.rerank._cross_encoder import CrossEncoderReranker

        return CrossEncoderReranker(_folder(arg, base_dir))
    from ragline.rerank._llm import LlmReranker

    if model is None:
        from ragline.models import make_model

        return LlmReranker(make_model(arg), name=settings.reranker)
    return LlmReranker(model(arg, settings.rerank_timeout_ms), name=settings.reranker)


_LAZY = {
    "CrossEncoderReranker": "ragline.rerank._cross_encoder",
    "HttpReranker": "ragline.rerank._http",
    "LlmReranker": "ragline.rerank._llm",
}

__getattr__ = lazy_exports(__name__, _LAZY)


__all__ = [
    "KINDS",
    "CrossEncoderReranker",
    "HttpReranker",
    "LlmReranker",
    "Reranker",
    "ScoringReranker",
    "check_reranker",
    "make_reranker",
    "order_by",
    "parse_reranker_spec",
    "passage",
]
