"""Shared, session-scoped MiniLM embedders: the ONNX export happens once per test run,
into a temporary cache folder (never the user's ~/.cache)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ragline.embed import MiniLMEmbedder

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def onnx_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ragline-cache")


@pytest.fixture(scope="session")
def onnx_embedder(onnx_cache_dir: Path) -> MiniLMEmbedder:
    emb = MiniLMEmbedder(backend="onnx", batch_size=4, cache_dir=onnx_cache_dir)
    emb.embed_query("warm up")  # exports + quantizes once
    return emb


@pytest.fixture(scope="session")
def torch_embedder() -> MiniLMEmbedder:
    emb = MiniLMEmbedder(backend="torch", batch_size=4)
    emb.embed_query("warm up")
    return emb
