"""The LLM listwise reranker on the Model protocol, with FakeModel."""

from __future__ import annotations

from pathlib import Path

import pytest

import ragline
from ragline.errors import ProviderError, RerankerError
from ragline.rerank import LlmReranker, Reranker
from ragline.rerank._llm import parse_ranking
from ragline.testing import FakeModel, HashEmbedder, RerankerConformance
from ragline.testing._reranker_conformance import PASSAGES, QUESTION, hits


class TestLlmReranker(RerankerConformance):
    semantic = False  # a scripted model: it says what it is told to

    @pytest.fixture
    def reranker(self) -> Reranker:
        return LlmReranker(FakeModel(["[3] > [1] > [5] > [2] > [4]"] * 3, name="fake"))


def test_the_prompt_numbers_every_passage_and_the_reply_orders_them() -> None:
    model = FakeModel(["Ranking: [3] > [5] > [1]"])
    ranked = LlmReranker(model).rerank(QUESTION, hits(PASSAGES))
    # the passages the reply names, then the rest in the fused order
    assert [h.chunk.id for h in ranked] == ["c2", "c4", "c0", "c1", "c3"]
    (call,) = model.calls
    prompt = call.messages[-1].content
    assert QUESTION in prompt
    for i, text in enumerate(PASSAGES, 1):
        assert f"[{i}] {text}" in prompt


@pytest.mark.parametrize(
    ("reply", "order"),
    [
        ("[2] > [1] > [3]", [1, 0, 2]),
        ("2, 1, 3", [1, 0, 2]),
        ("The best is 3.\nThen 3 again, then 1.", [2, 0]),
        ("[9] > [2] > [0]", [1]),  # out of range numbers are ignored
        ("none of them", []),
    ],
)
def test_parse_ranking_reads_any_list_of_numbers(reply: str, order: list[int]) -> None:
    assert parse_ranking(reply, 3) == order


def test_an_unparseable_reply_is_a_reranker_error_quoting_it() -> None:
    r = LlmReranker(FakeModel(["I cannot rank these."]))
    with pytest.raises(RerankerError, match="answered no passage number: 'I cannot rank"):
        r.rerank(QUESTION, hits(PASSAGES))


def test_a_model_error_is_a_reranker_error() -> None:
    r = LlmReranker(FakeModel([ProviderError("read timed out", provider="openai")]))
    with pytest.raises(RerankerError, match="read timed out"):
        r.rerank(QUESTION, hits(PASSAGES))


def test_in_a_project_a_garbled_reply_falls_back_and_a_good_one_reorders(
    tmp_path: Path,
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for i, text in enumerate(PASSAGES):
        (docs / f"p{i}.txt").write_text(text, encoding="utf-8")
    (tmp_path / "ragline.yaml").write_text(
        "embedder: hash\nretrieval:\n  reranker: llm:openai:gpt-4o-mini\n  rerank_candidates: 5\n",
        encoding="utf-8",
    )
    with ragline.Project(tmp_path, embedder=HashEmbedder()) as p:
        p.ingest([docs])
        view = p.parts.view()
        model = FakeModel(["no idea", "[5] > [4]"])
        view._reranker = LlmReranker(model, name="llm:openai:gpt-4o-mini")
        view._pipeline = None
        first = p.search("capital of France", k=5)
        second = p.search("capital of France", k=5)
        assert [h.chunk.id for h in first] != [] and "rerank" not in first[0].ranks
        assert [h.ranks.get("rerank") for h in second[:2]] == [1, 2]
        assert second[0].chunk.id == first[4].chunk.id and second[1].chunk.id == first[3].chunk.id
        stage = next(s for s in view.pipeline.stages if s.name == "rerank")
        assert stage.fallbacks == {"rerank.error": 1}  # type: ignore[attr-defined]
