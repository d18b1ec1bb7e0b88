"""make_embedder specs, and that importing ragline.embed stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ragline.config import EmbedSettings
from ragline.embed import HashEmbedder, MiniLMEmbedder, OpenAIEmbedder, make_embedder
from ragline.errors import ConfigError


def test_hash_specs() -> None:
    default = make_embedder("hash")
    assert isinstance(default, HashEmbedder)
    sized = make_embedder("hash:32")
    assert isinstance(sized, HashEmbedder) and sized.dimension == 32


@pytest.mark.parametrize("spec", ["hash:abc", "hash:4", "hash:"])
def test_bad_hash_dimension(spec: str) -> None:
    with pytest.raises(ConfigError, match="hash"):
        make_embedder(spec)


def test_minilm_spec_is_lazy_and_takes_backend() -> None:
    emb = make_embedder("minilm", EmbedSettings(backend="torch"))
    assert isinstance(emb, MiniLMEmbedder)
    assert emb.backend == "torch"
    assert emb.dimension == 384
    assert emb.name == "all-minilm-l6-v2"
    assert emb._encoder is None  # nothing loaded until first use


def test_minilm_auto_resolves_to_a_backend() -> None:
    emb = make_embedder("minilm")
    assert isinstance(emb, MiniLMEmbedder)
    assert emb.backend in ("torch", "onnx")


def test_minilm_bad_backend() -> None:
    with pytest.raises(ConfigError, match="backend"):
        MiniLMEmbedder(backend="tpu")


@pytest.mark.parametrize("spec", ["bert", "minilm:large", "", "openai:"])
def test_unknown_spec_lists_choices(spec: str) -> None:
    with pytest.raises(ConfigError) as info:
        make_embedder(spec)
    if spec != "openai:":
        assert "minilm" in str(info.value) and "openai:<model>" in str(info.value)


def test_openai_spec_uses_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MY_EMBED_KEY", raising=False)
    settings = EmbedSettings(
        base_url="http://127.0.0.1:9/v1", api_key_env="MY_EMBED_KEY", timeout_s=5
    )
    emb = make_embedder("openai:nomic-embed-text", settings)
    assert isinstance(emb, OpenAIEmbedder)
    assert emb.name == "openai:nomic-embed-text"
    assert emb.base_url == "http://127.0.0.1:9/v1"
    assert emb.timeout_s == 5


def test_openai_spec_defaults_to_openai_and_needs_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        make_embedder("openai:text-embedding-3-small")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    emb = make_embedder("openai:text-embedding-3-small")
    assert isinstance(emb, OpenAIEmbedder)
    assert emb.base_url == "https://api.openai.com/v1"


def test_import_is_light() -> None:
    code = (
        "import sys, ragline.embed\n"
        "ragline.embed.MiniLMEmbedder; ragline.embed.make_embedder('minilm')\n"
        "heavy = {'torch', 'sentence_transformers', 'onnxruntime', 'transformers', 'httpx'}\n"
        "loaded = heavy & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
