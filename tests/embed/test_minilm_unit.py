"""MiniLMEmbedder's own logic (batching, order, fallback) with a fake encoder: no model."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pytest

import ragline.embed._minilm as minilm_mod
import ragline.embed._onnx as onnx_mod
from ragline.embed import HashEmbedder, MiniLMEmbedder
from ragline.errors import ConfigError, EmbedderError

REFERENCE = HashEmbedder(384)


class FakeEncoder:
    batches: ClassVar[list[list[str]]] = []

    def __init__(self, *_args: Any, **_kwargs: Any) -> None:
        FakeEncoder.batches = []

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        FakeEncoder.batches.append(list(texts))
        return REFERENCE.embed_documents(texts)


def broken_onnx(*_args: Any, **_kwargs: Any) -> None:
    raise EmbedderError("onnx export failed")


@pytest.fixture
def fake_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(minilm_mod, "_TorchEncoder", FakeEncoder)
    monkeypatch.setattr(minilm_mod, "model_dir", lambda: Path("/nonexistent"))


def test_batches_sorted_by_length_and_order_restored(fake_torch: None) -> None:
    emb = MiniLMEmbedder(backend="torch", batch_size=3)
    texts = [f"text {'word ' * ((i * 7) % 11)}{i}" for i in range(10)]
    vectors = emb.embed_documents(texts)
    np.testing.assert_allclose(vectors, REFERENCE.embed_documents(texts))
    assert [len(b) for b in FakeEncoder.batches] == [3, 3, 3, 1]
    lengths = [len(t) for b in FakeEncoder.batches for t in b]
    assert lengths == sorted(lengths, reverse=True)
    assert emb.embed_documents([]).shape == (0, 384)


def test_auto_falls_back_to_torch_when_onnx_fails(
    fake_torch: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(minilm_mod, "AUTO_BACKEND", "onnx")
    monkeypatch.setattr(onnx_mod, "OnnxEncoder", broken_onnx)
    emb = MiniLMEmbedder()
    assert emb.embed_query("hello").shape == (384,)
    assert emb.backend == "torch"


def test_explicit_onnx_failure_is_raised(fake_torch: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(onnx_mod, "OnnxEncoder", broken_onnx)
    with pytest.raises(EmbedderError, match="onnx export failed"):
        MiniLMEmbedder(backend="onnx").embed_query("hello")


@pytest.mark.parametrize("kwargs", [{"batch_size": 0}, {"threads": 0}])
def test_bad_arguments(kwargs: dict[str, int]) -> None:
    with pytest.raises(ConfigError, match="at least 1"):
        MiniLMEmbedder(**kwargs)
