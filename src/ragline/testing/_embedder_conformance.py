"""``EmbedderConformance``: the shared test suite every ``Embedder`` must pass.

Subclass it in a backend's test module and provide an ``embedder`` fixture. Give the
embedder a small batch size (e.g. 4) so the order test crosses batch boundaries::

    class TestMyEmbedder(EmbedderConformance):
        @pytest.fixture
        def embedder(self) -> Embedder:
            return MyEmbedder(batch_size=4)

Set ``semantic = False`` for embedders that do not model meaning (e.g. hashing), which
skips the paraphrase test. ``batch_cosine`` is how close a text's vector must stay when
it is embedded inside different batches (int8 models quantise activations per batch).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import numpy.typing as npt
import pytest

from ragline.embed._base import Embedder

TEXTS = [
    "Short.",
    "A medium length sentence about vector search in databases.",
    "x",
    "Retrieval-augmented generation grounds answers in retrieved documents, "
    "so that a language model can cite where each claim comes from.",
    "Cats sleep most of the day.",
    "Quarterly revenue grew by twelve percent compared with last year.",
    "The mitochondria is the powerhouse of the cell.",
    "Paris is the capital of France.",
    "To reset your password, open settings and choose 'forgot password'.",
    "A very long text. " * 40,
    "Photosynthesis turns light, water and carbon dioxide into sugar.",
]
ODD_TEXTS = ["", "   ", "日本語のテキストです", "emoji 🎉🚀", "Ünïcödé çàfé", "tab\tnew\nline\x00"]


def _unit_rows(m: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    out: npt.NDArray[np.float32] = (m / np.where(norms > 0, norms, 1.0)).astype(np.float32)
    return out


class EmbedderConformance:
    """Contract tests for :class:`ragline.embed.Embedder` implementations."""

    #: False for embedders that do not capture meaning (skips the paraphrase test).
    semantic: ClassVar[bool] = True
    #: absolute tolerance for "the same input gives the same vector"
    atol: ClassVar[float] = 1e-5
    #: minimum cosine between a text's vectors from different batch compositions
    batch_cosine: ClassVar[float] = 0.98

    @pytest.fixture
    def embedder(self) -> Embedder:
        raise NotImplementedError("subclasses provide an `embedder` fixture")

    def test_satisfies_protocol(self, embedder: Embedder) -> None:
        assert isinstance(embedder, Embedder)
        assert isinstance(embedder.name, str) and embedder.name
        assert isinstance(embedder.dimension, int) and embedder.dimension > 0

    def test_shape_dtype_and_unit_norm(self, embedder: Embedder) -> None:
        vectors = embedder.embed_documents(TEXTS[:3])
        assert vectors.shape == (3, embedder.dimension)
        assert vectors.dtype == np.float32
        assert np.all(np.isfinite(vectors))
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)

    def test_query_shape_dtype_and_unit_norm(self, embedder: Embedder) -> None:
        vector = embedder.embed_query("what is retrieval-augmented generation?")
        assert vector.shape == (embedder.dimension,)
        assert vector.dtype == np.float32
        assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-3

    def test_empty_input(self, embedder: Embedder) -> None:
        vectors = embedder.embed_documents([])
        assert vectors.shape == (0, embedder.dimension)
        assert vectors.dtype == np.float32

    def test_deterministic(self, embedder: Embedder) -> None:
        first = embedder.embed_documents(TEXTS[:4])
        second = embedder.embed_documents(TEXTS[:4])
        np.testing.assert_allclose(first, second, atol=self.atol)

    def test_query_equals_single_document(self, embedder: Embedder) -> None:
        for text in ("How do plants make sugar?", TEXTS[3]):
            np.testing.assert_allclose(
                embedder.embed_query(text), embedder.embed_documents([text])[0], atol=self.atol
            )

    def test_order_preserved_across_batches(self, embedder: Embedder) -> None:
        # Lengths are deliberately unsorted, so a length-sorting embedder must restore order.
        together = _unit_rows(embedder.embed_documents(TEXTS))
        alone = _unit_rows(np.stack([embedder.embed_documents([t])[0] for t in TEXTS]))
        similarity = together @ alone.T
        assert list(np.argmax(similarity, axis=1)) == list(range(len(TEXTS)))
        assert float(np.diag(similarity).min()) >= self.batch_cosine

    def test_order_preserved_when_reversed(self, embedder: Embedder) -> None:
        forward = _unit_rows(embedder.embed_documents(TEXTS))
        backward = _unit_rows(embedder.embed_documents(TEXTS[::-1]))[::-1]
        assert float(np.sum(forward * backward, axis=1).min()) >= self.batch_cosine

    def test_unicode_blank_and_control_strings(self, embedder: Embedder) -> None:
        vectors = embedder.embed_documents(ODD_TEXTS)
        assert vectors.shape == (len(ODD_TEXTS), embedder.dimension)
        assert vectors.dtype == np.float32
        assert np.all(np.isfinite(vectors))
        norms = np.linalg.norm(vectors, axis=1)
        assert np.all(norms <= 1.0 + 1e-3)
        np.testing.assert_allclose(norms[2:], 1.0, atol=1e-3)  # non-blank texts
        assert np.isfinite(embedder.embed_query("")).all()

    def test_very_long_text(self, embedder: Embedder) -> None:
        vector = embedder.embed_query("word " * 5000)
        assert vector.shape == (embedder.dimension,)
        assert np.all(np.isfinite(vector))

    def test_paraphrase_closer_than_unrelated(self, embedder: Embedder) -> None:
        if not self.semantic:
            pytest.skip("this embedder does not model meaning")
        query, paraphrase, unrelated = embedder.embed_documents(
            [
                "How do I reset my password?",
                "What are the steps to change a forgotten login password?",
                "The recipe needs two cups of flour and one egg.",
            ]
        )
        assert float(query @ paraphrase) > float(query @ unrelated)
