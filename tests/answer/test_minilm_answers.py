"""The extractive answerer with the real bundled MiniLM model (slow: loads the model)."""

from __future__ import annotations

import pytest

from ragline.answer import ExtractiveAnswerer
from ragline.config import AnswerSettings
from ragline.retrieve import Retriever

from .helpers import make_retriever, make_store

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pipeline() -> tuple[Retriever, ExtractiveAnswerer]:
    from ragline.embed import MiniLMEmbedder

    store, emb = make_store(MiniLMEmbedder())
    return make_retriever(store, emb), ExtractiveAnswerer(emb, AnswerSettings.model_validate({}))


@pytest.mark.parametrize(
    ("question", "chunk_id", "expected"),
    [
        ("How much does shipping cost?", "shipping-1", "free for orders over 50 euros"),
        ("Which parts of the vacuum are covered by the warranty?", "warranty-0", "motor"),
        ("How many days do I have to send something back?", "returns-0", "30 days"),
        ("When will express orders arrive?", "shipping-0", "next working day"),
    ],
)
def test_answers_with_the_right_citation(
    pipeline: tuple[Retriever, ExtractiveAnswerer], question: str, chunk_id: str, expected: str
) -> None:
    retriever, answerer = pipeline
    result = retriever.search(question, tenant="default")
    answer = answerer.answer(question, result.hits, query_vector=result.query_vector)
    assert not answer.abstained
    assert expected in answer.text
    assert chunk_id in {r.chunk_id for r in answer.references}
    assert answer.text.rstrip().endswith("]")


@pytest.mark.parametrize(
    "question",
    [
        "Who painted the Mona Lisa?",
        "What is the boiling point of nitrogen?",
        "How do I configure a Kubernetes ingress controller?",
    ],
)
def test_abstains_when_the_handbook_has_no_answer(
    pipeline: tuple[Retriever, ExtractiveAnswerer], question: str
) -> None:
    retriever, answerer = pipeline
    result = retriever.search(question, tenant="default")
    answer = answerer.answer(question, result.hits, query_vector=result.query_vector)
    assert answer.abstained, answer.text
    assert answer.references == []
