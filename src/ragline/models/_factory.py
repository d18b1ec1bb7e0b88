"""``make_model(spec, settings)``: a model spec from ragline.yaml → a :class:`Model`."""

from __future__ import annotations

from collections.abc import Callable

from ragline.config import Settings
from ragline.errors import ConfigError
from ragline.models._base import Model

VALID_FORMS = "openai:<model>, anthropic:<model>, local, extractive"
_OPENAI_HINTS = ("gpt-", "o1", "o3", "o4", "chatgpt", "text-")

# Specs without a provider prefix ("local", "extractive") register a builder here:
# ``BUILTINS["local"] = lambda spec, settings: LocalModel(...)``.
BUILTINS: dict[str, Callable[[str, Settings], Model]] = {}


def _local(spec: str, settings: Settings) -> Model:
    from ragline.models._local import build_local  # llama_cpp itself loads on first use

    return build_local(spec, settings)


BUILTINS["local"] = _local
# "extractive" is registered by ragline.answer (the answerer it wraps lives there)


def _did_you_mean(spec: str) -> str | None:
    low = spec.lower()
    if low.startswith(_OPENAI_HINTS):
        return f"did you mean openai:{spec}?"
    if low.startswith("claude"):
        return f"did you mean anthropic:{spec}?"
    provider, sep, rest = spec.partition(":")
    if sep and provider.lower() in ("openai", "anthropic") and provider != provider.lower():
        return f"did you mean {provider.lower()}:{rest}?"
    return None


def check_spec(spec: str) -> None:
    """Raise :class:`ConfigError` unless ``spec`` names a model this build can make.

    Checks the form only: nothing is constructed, no key is looked up.
    """
    spec = spec.strip()
    provider, sep, name = spec.partition(":")
    if sep and provider in ("openai", "anthropic"):
        if not name.strip():
            example = "gpt-4o-mini" if provider == "openai" else "claude-3-5-haiku-latest"
            raise ConfigError(
                f"model spec {spec!r} names no model", hint=f"e.g. {provider}:{example}"
            )
        return
    if spec in BUILTINS or provider in BUILTINS:
        return
    if provider in ("local", "extractive"):
        raise ConfigError(
            f"model {spec!r} is not available in this build of ragline",
            hint=f"valid model specs: {VALID_FORMS}",
        )
    hint = _did_you_mean(spec)
    raise ConfigError(
        f"unknown model {spec!r}: valid forms are {VALID_FORMS}",
        hint=hint or "set `model:` in ragline.yaml or pass --model, e.g. openai:gpt-4o-mini",
    )


def make_model(spec: str, settings: Settings | None = None) -> Model:
    """Build the model named by ``spec``; per-model options come from
    ``settings.models[spec]``. Raises :class:`ConfigError` for unknown specs."""
    settings = settings or Settings()
    spec = spec.strip()
    check_spec(spec)
    provider, sep, name = spec.partition(":")
    if sep and provider in ("openai", "anthropic"):
        if provider == "openai":
            from ragline.models._openai import OpenAIModel

            return OpenAIModel(name, settings=settings.model_settings(spec))
        from ragline.models._anthropic import AnthropicModel

        return AnthropicModel(name, settings=settings.model_settings(spec))
    builder = BUILTINS.get(spec) or BUILTINS[provider]
    return builder(spec, settings)
