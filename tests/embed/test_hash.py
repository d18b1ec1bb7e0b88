"""HashEmbedder passes the shared embedder contract."""

from __future__ import annotations

import pytest

from ragline.embed import Embedder, HashEmbedder
from ragline.testing import EmbedderConformance


class TestHashEmbedder(EmbedderConformance):
    semantic = False

    @pytest.fixture
    def embedder(self) -> Embedder:
        return HashEmbedder(64)


def test_same_text_same_vector_across_instances() -> None:
    a = HashEmbedder(32).embed_query("hello world")
    b = HashEmbedder(32).embed_query("hello world")
    assert a.tolist() == b.tolist()
