"""The bundled MiniLM on torch and on ONNX Runtime (int8): contract, agreement, cache."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ragline.embed._onnx as onnx_mod
from ragline.embed import Embedder, MiniLMEmbedder
from ragline.testing import EmbedderConformance

pytestmark = pytest.mark.slow

SENTENCES = [
    "How do I reset my password?",
    "Quarterly revenue grew by twelve percent.",
    "The mitochondria is the powerhouse of the cell.",
    "El gato duerme en el sofá.",
    "Vitamin D supplementation did not reduce the risk of fractures in older adults "
    "according to a large randomised controlled trial published last year.",
]
# int8 agrees less on texts of a word or two (per-tensor activation quantization)
TINY = ["", "yes", "x", "insulin", "DNA repair"]


class TestMiniLMTorch(EmbedderConformance):
    @pytest.fixture
    def embedder(self, torch_embedder: MiniLMEmbedder) -> Embedder:
        return torch_embedder


class TestMiniLMOnnx(EmbedderConformance):
    # int8 activations are quantised per batch: a one-word text ("x") embedded next to
    # long texts moves by up to ~0.02 cosine (sentences by < 0.01).
    batch_cosine = 0.97

    @pytest.fixture
    def embedder(self, onnx_embedder: MiniLMEmbedder) -> Embedder:
        return onnx_embedder


def test_onnx_int8_agrees_with_torch(
    onnx_embedder: MiniLMEmbedder, torch_embedder: MiniLMEmbedder
) -> None:
    a = onnx_embedder.embed_documents(SENTENCES)
    b = torch_embedder.embed_documents(SENTENCES)
    cosines = np.sum(a * b, axis=1)
    assert float(cosines.min()) >= 0.99, cosines
    tiny = np.sum(onnx_embedder.embed_documents(TINY) * torch_embedder.embed_documents(TINY), 1)
    assert float(tiny.min()) >= 0.96, tiny
    # equal quality is what lets both backends share one name (and one store)
    assert onnx_embedder.name == torch_embedder.name == "all-minilm-l6-v2"
    assert onnx_embedder.dimension == torch_embedder.dimension == 384


def test_onnx_cache_is_reused(
    onnx_embedder: MiniLMEmbedder, onnx_cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folders = list((onnx_cache_dir / "onnx").iterdir())
    assert len(folders) == 1
    files = sorted(p.name for p in folders[0].iterdir())
    assert files == [".lock", "model.int8.onnx", "model.onnx"]  # no temp files left
    before = {p.name: p.stat().st_mtime_ns for p in folders[0].iterdir()}

    def no_export(*_args: object) -> None:
        raise AssertionError("the cached export should have been reused")

    monkeypatch.setattr(onnx_mod, "_export_optimized", no_export)
    monkeypatch.setattr(onnx_mod, "_quantize_int8", no_export)
    again = MiniLMEmbedder(backend="onnx", cache_dir=onnx_cache_dir)
    np.testing.assert_allclose(
        again.embed_query("cache hit"), onnx_embedder.embed_query("cache hit"), atol=1e-6
    )
    assert {p.name: p.stat().st_mtime_ns for p in folders[0].iterdir()} == before


_OFFLINE_CHECK = """
import socket, sys
def refuse(self, address, *a, **k):
    raise OSError(f"network access attempted: {address!r}")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = lambda *a, **k: refuse(None, a)
from ragline.embed import make_embedder
from ragline.config import EmbedSettings
for backend in ("torch", "onnx"):
    v = make_embedder("minilm", EmbedSettings(backend=backend)).embed_query("offline works")
    assert v.shape == (384,), v.shape
print("ok")
"""


def test_loads_offline_without_network(onnx_embedder: MiniLMEmbedder, onnx_cache_dir: Path) -> None:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    env["RAGLINE_CACHE_DIR"] = str(onnx_cache_dir)
    env["HTTPS_PROXY"] = env["HTTP_PROXY"] = "http://127.0.0.1:9"
    out = subprocess.run(
        [sys.executable, "-c", _OFFLINE_CHECK], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")
