"""One embedding per text per ask (ragline.embed._memo).

An ask's question is embedded by dense retrieval and again by the extractive answerer
(and by the injection classifier when it is on); inside an ask the project's embedder
computes it once. Outside an ask nothing is remembered, and nothing crosses asks.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

import ragline
from ragline.embed import Embedder, HashEmbedder
from ragline.embed._memo import MAX_TEXTS, MemoEmbedder, ask_vectors


class Counting(HashEmbedder):
    def __init__(self, *, symmetric: bool = True) -> None:
        super().__init__(64)
        self.symmetric = symmetric
        self.texts: list[str] = []

    def embed_documents(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.texts += list(texts)
        return super().embed_documents(texts)

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        self.texts.append(text)
        return super().embed_query(text)


def test_inside_an_ask_a_text_is_embedded_once() -> None:
    inner = Counting()
    emb = MemoEmbedder(inner)
    with ask_vectors({}):
        q = emb.embed_query("How long is the warranty?")
        docs = emb.embed_documents(["How long is the warranty?", "Shipping", "Shipping"])
        again = emb.embed_query("How long is the warranty?")
    assert inner.texts == ["How long is the warranty?", "Shipping"]
    np.testing.assert_array_equal(q, docs[0])
    np.testing.assert_array_equal(docs[1], docs[2])
    np.testing.assert_array_equal(q, again)
    np.testing.assert_array_equal(
        docs, inner.embed_documents([*["How long is the warranty?"], "Shipping", "Shipping"])
    )


def test_asymmetric_embedders_keep_query_and_document_vectors_apart() -> None:
    inner = Counting(symmetric=False)
    emb = MemoEmbedder(inner)
    with ask_vectors({}):
        emb.embed_query("warranty")
        emb.embed_documents(["warranty"])
        emb.embed_query("warranty")
    assert inner.texts == ["warranty", "warranty"]  # one query, one document embedding


def test_nothing_is_remembered_outside_an_ask_or_across_asks() -> None:
    inner = Counting()
    emb = MemoEmbedder(inner)
    emb.embed_query("warranty")
    emb.embed_query("warranty")
    with ask_vectors({}):
        emb.embed_query("warranty")
    with ask_vectors({}):
        emb.embed_query("warranty")
    assert inner.texts == ["warranty"] * 4


def test_a_long_batch_is_not_kept() -> None:
    inner = Counting()
    emb = MemoEmbedder(inner)
    texts = [f"chunk {i}" for i in range(MAX_TEXTS + 1)]
    memo: dict[tuple[str, str], npt.NDArray[np.float32]] = {}
    with ask_vectors(memo):
        out = emb.embed_documents(texts)
    assert out.shape == (len(texts), 64) and not memo


def test_a_changed_vector_does_not_change_the_memo() -> None:
    emb = MemoEmbedder(Counting())
    with ask_vectors({}):
        v = emb.embed_query("warranty")
        v[:] = 0
        assert float(np.linalg.norm(emb.embed_query("warranty"))) > 0.99


class CountingWrap:
    """Any embedder, counting the texts it embeds."""

    symmetric = True

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.dimension = inner, inner.name, inner.dimension
        self.texts: list[str] = []

    def embed_documents(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.texts += list(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        self.texts.append(text)
        return self.inner.embed_query(text)


@pytest.mark.slow
def test_an_ask_embeds_its_question_once(tmp_path: Path) -> None:
    """With MiniLM the injection classifier is on by default and scores the question's
    embedding; retrieval and the extractive answerer reuse it."""
    from ragline.embed import MiniLMEmbedder

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "warranty.md").write_text(
        "# Warranty\n\nThe X200 comes with a two-year warranty on the frame.\n", "utf-8"
    )
    (docs / "shipping.md").write_text("# Shipping\n\nExpress delivery takes one day.\n", "utf-8")
    inner = CountingWrap(MiniLMEmbedder())
    with ragline.Project(tmp_path, embedder=inner) as project:
        assert project.settings.embedder == "minilm"
        project.ingest([docs])
        inner.texts.clear()
        answer = project.ask("How long is the X200 warranty?")
        assert "two-year" in answer.text
        spans = project.get_trace(answer.trace_id) if project.flush_traces() else []
        guard = [s for s in spans if s.name == "ragline.guard_in"]
        assert guard, [s.name for s in spans]
        assert inner.texts.count("How long is the X200 warranty?") == 1
