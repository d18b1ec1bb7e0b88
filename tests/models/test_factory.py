"""make_model: specs to providers, with clear errors for the rest."""

from __future__ import annotations

import pytest

from ragline.config import ModelSettings, Settings
from ragline.errors import ConfigError
from ragline.models import AnthropicModel, Model, OpenAIModel, _factory, make_model


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")


def test_openai_and_anthropic_specs_use_their_model_settings() -> None:
    settings = Settings(
        models={"openai:qwen": ModelSettings(base_url="http://127.0.0.1:8080/v1", max_tokens=64)}
    )
    m = make_model("openai:qwen", settings)
    assert isinstance(m, OpenAIModel) and isinstance(m, Model)
    assert m.name == "openai:qwen" and m.base_url == "http://127.0.0.1:8080/v1"
    assert m.settings.max_tokens == 64
    a = make_model("anthropic:claude-3-5-haiku-latest", Settings())
    assert isinstance(a, AnthropicModel) and a.name == "anthropic:claude-3-5-haiku-latest"


@pytest.mark.parametrize(
    ("spec", "hint"),
    [
        ("gpt-4", "did you mean openai:gpt-4?"),
        ("gpt-4o-mini", "did you mean openai:gpt-4o-mini?"),
        ("claude-3-5-haiku-latest", "did you mean anthropic:claude-3-5-haiku-latest?"),
        ("OpenAI:gpt-4o", "did you mean openai:gpt-4o?"),
        ("gemini-pro", "e.g. openai:gpt-4o-mini"),
    ],
)
def test_unknown_specs_list_valid_forms_and_suggest(spec: str, hint: str) -> None:
    with pytest.raises(ConfigError) as info:
        make_model(spec, Settings())
    message = str(info.value)
    assert f"unknown model {spec!r}" in message and hint in message
    assert "openai:<model>, anthropic:<model>, local, extractive" in message


def test_empty_model_name() -> None:
    with pytest.raises(ConfigError, match=r"names no model.*openai:gpt-4o-mini"):
        make_model("openai:", Settings())


def test_missing_key_names_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        make_model("openai:gpt-4o", Settings())
    local = Settings(models={"openai:m": ModelSettings(base_url="http://localhost:11434/v1")})
    assert make_model("openai:m", local).name == "openai:m"  # local servers need no key


def test_builtins_registry_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    from ragline.testing._models import FakeModel

    monkeypatch.delitem(_factory.BUILTINS, "local")  # as in a build without the local model
    with pytest.raises(ConfigError, match="not available"):
        make_model("local", Settings())
    monkeypatch.setitem(_factory.BUILTINS, "local", lambda spec, s: FakeModel([], name=spec))
    assert make_model("local", Settings()).name == "local"
