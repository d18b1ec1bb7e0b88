"""Embedders: the ``Embedder`` protocol, the bundled MiniLM, OpenAI-compatible servers.

``make_embedder("minilm" | "hash" | "hash:<dim>" | "openai:<model>", settings)`` builds
one from a config string. Backends are imported lazily, so importing this package
does not import torch, onnxruntime or httpx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ragline._lazy import lazy_exports
from ragline.embed._base import Embedder
from ragline.embed._hash import HashEmbedder
from ragline.errors import ConfigError

if TYPE_CHECKING:
    from ragline.config import EmbedSettings
    from ragline.embed._minilm import MiniLMEmbedder
    from ragline.embed._openai import OpenAIEmbedder

__all__ = ["EMBEDDER_CHOICES", "Embedder", "HashEmbedder", "MiniLMEmbedder", "OpenAIEmbedder"]
__all__ += ["make_embedder", "parse_embedder_spec"]

DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"
EMBEDDER_CHOICES = ("minilm", "hash", "hash:<dimension>", "openai:<model>")

__getattr__ = lazy_exports(
    __name__,
    {"MiniLMEmbedder": "ragline.embed._minilm", "OpenAIEmbedder": "ragline.embed._openai"},
)


def _unknown(spec: str) -> ConfigError:
    return ConfigError(
        f"unknown embedder {spec!r}",
        hint=f"choose one of: {', '.join(EMBEDDER_CHOICES)}",
    )


def parse_embedder_spec(spec: str) -> tuple[str, str]:
    """``(kind, argument)`` of an embedder config string, or a :class:`ConfigError` saying
    what is wrong with it — without building anything (every command checks the spec
    when it opens a project; ``status --embedder bert`` is an error, not a silent no-op).
    """
    spec = spec.strip()
    kind, sep, arg = spec.partition(":")
    kind, arg = kind.lower(), arg.strip()
    if kind == "minilm" and not sep:
        return kind, ""
    if kind == "hash":
        if not sep:
            return kind, ""
        try:
            dimension = int(arg)
        except ValueError:
            raise ConfigError(
                f"bad embedder {spec!r}: the hash dimension must be an integer",
                hint="e.g. hash:256",
            ) from None
        if dimension < 8:
            raise ConfigError(
                f"bad embedder {spec!r}: the hash dimension must be at least 8",
                hint="e.g. hash:256",
            )
        return kind, arg
    if kind == "openai":
        if not arg:
            raise ConfigError(
                f"bad embedder {spec!r}: name the model",
                hint="e.g. openai:text-embedding-3-small",
            )
        return kind, arg
    raise _unknown(spec)


def make_embedder(
    spec: str, settings: EmbedSettings | None = None, *, batch_size: int | None = None
) -> Embedder:
    """Build the embedder a config string names.

    ``minilm`` (bundled, offline; ``settings.backend`` picks torch / onnx / auto),
    ``hash`` or ``hash:<dimension>`` (deterministic, for tests), ``openai:<model>``
    (any OpenAI-compatible ``/embeddings`` endpoint at ``settings.base_url``).
    """
    kind, arg = parse_embedder_spec(spec)
    if kind == "minilm":
        from ragline.embed._minilm import MiniLMEmbedder

        backend = settings.backend if settings is not None else "auto"
        minilm: Embedder = MiniLMEmbedder(backend=backend, batch_size=batch_size or 64)
        return minilm
    if kind == "hash":
        return HashEmbedder(int(arg)) if arg else HashEmbedder()
    from ragline.embed._openai import OpenAIEmbedder

    kwargs: dict[str, Any] = {}
    if batch_size:
        kwargs["batch_size"] = batch_size
    if settings is not None:
        kwargs["api_key_env"] = settings.api_key_env
        kwargs["timeout_s"] = settings.timeout_s
    base_url = (settings.base_url if settings is not None else None) or DEFAULT_OPENAI_BASE_URL
    openai: Embedder = OpenAIEmbedder(arg, base_url=base_url, **kwargs)
    return openai
