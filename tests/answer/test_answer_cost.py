"""What an extractive answer costs: how many sentences it embeds, and what it reuses."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest

from ragline.answer import ExtractiveAnswerer, ExtractiveTuning, segments, split_sentences
from ragline.config import AnswerSettings
from ragline.embed import HashEmbedder
from ragline.errors import ConfigError
from ragline.types import Chunk, Hit

from .helpers import make_retriever, make_store
from .test_extractive import QUESTIONS


class CountingEmbedder(HashEmbedder):
    """Remembers every batch of texts it embedded."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[str]] = []

    def embed_documents(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.batches.append(list(texts))
        return super().embed_documents(texts)

    @property
    def embedded(self) -> int:
        return sum(len(b) for b in self.batches)


def long_text(j: int) -> str:
    return " ".join(
        f"Sentence number {i} of catalogue {j} talks about the warranty of product {i}."
        for i in range(30)
    )


def long_hits(n_chunks: int = 3) -> list[Hit]:
    chunks = [
        Chunk(id=f"c{j}", document_id=f"d{j}", ordinal=0, text=long_text(j), title=f"Doc {j}")
        for j in range(n_chunks)
    ]
    return [Hit(chunk=c, score=1.0 / (1 + j)) for j, c in enumerate(chunks)]


def test_at_most_embed_limit_sentences_are_embedded() -> None:
    emb = CountingEmbedder()
    answerer = ExtractiveAnswerer(emb, tuning=ExtractiveTuning(embed_limit=5))
    answer = answerer.answer("What about the warranty of product 7?", long_hits())
    assert emb.embedded == 5
    assert not answer.abstained
    assert "product 7." in answer.text  # the sentence that names it was among the five


def test_embed_limit_zero_embeds_every_candidate() -> None:
    emb = CountingEmbedder()
    answerer = ExtractiveAnswerer(emb, tuning=ExtractiveTuning(embed_limit=0))
    answerer.answer("What about the warranty of product 7?", long_hits(1))
    assert emb.embedded == 30


@pytest.mark.parametrize("question", QUESTIONS)
def test_the_limit_keeps_the_answers_of_embedding_everything(question: str) -> None:
    store, emb = make_store()
    result = make_retriever(store, emb).search(question, tenant="default", k=5)
    answers = [
        ExtractiveAnswerer(emb, AnswerSettings.model_validate({}), tuning=tuning).answer(
            question, result.hits, query_vector=result.query_vector
        )
        for tuning in (ExtractiveTuning(embed_limit=0), ExtractiveTuning(embed_limit=4))
    ]
    assert answers[0].text == answers[1].text
    assert answers[0].references == answers[1].references


def test_a_repeated_question_embeds_nothing_new() -> None:
    emb = CountingEmbedder()
    answerer = ExtractiveAnswerer(emb)
    hits = long_hits()
    first = answerer.answer("What about the warranty of product 7?", hits)
    before = emb.embedded
    again = answerer.answer("What about the warranty of product 7?", hits)
    assert emb.embedded == before
    assert again.text == first.text


def test_tenants_do_not_share_sentence_vectors() -> None:
    emb = CountingEmbedder()
    answerer = ExtractiveAnswerer(emb)
    text = "The fee is 5 euros. Payment is due within 14 days of the invoice."

    def hits(tenant: str) -> list[Hit]:
        chunk = Chunk(id="c", document_id="d", ordinal=0, text=text, title="Fees", tenant=tenant)
        return [Hit(chunk=chunk, score=1.0)]

    answerer.answer("What is the fee?", hits("acme"), tenant="acme")
    before = emb.embedded
    answerer.answer("What is the fee?", hits("globex"), tenant="globex")
    assert emb.embedded == 2 * before  # globex's copy of the text is embedded afresh
    answerer.answer("What is the fee?", hits("acme"), tenant="acme")
    assert emb.embedded == 2 * before


def test_off_topic_questions_still_abstain_with_the_limit() -> None:
    store, emb = make_store()
    question = "What is the boiling point of liquid nitrogen?"
    result = make_retriever(store, emb).search(question, tenant="default", k=5)
    answer = ExtractiveAnswerer(emb, tuning=ExtractiveTuning(embed_limit=2)).answer(
        question, result.hits, query_vector=result.query_vector
    )
    assert answer.abstained and answer.references == []


def test_an_edited_chunk_is_segmented_afresh() -> None:
    emb = CountingEmbedder()
    answerer = ExtractiveAnswerer(emb)
    old = Chunk(id="c", document_id="d", ordinal=0, text="The fee is 5 euros.", title="Fees")
    new = Chunk(id="c", document_id="d", ordinal=0, text="The fee is 9 euros.", title="Fees")
    assert "5 euros" in answerer.answer("What is the fee?", [Hit(chunk=old, score=1.0)]).text
    assert "9 euros" in answerer.answer("What is the fee?", [Hit(chunk=new, score=1.0)]).text


def test_a_negative_embed_limit_is_a_clear_config_error() -> None:
    with pytest.raises(ConfigError, match="embed_limit must be at least 0") as info:
        ExtractiveTuning(embed_limit=-1)
    assert info.value.hint


# -- text scraped without a space after the period ----------------------------------

GLUED = (
    "DNA methylation plays an important role in biological processes in human health and "
    "disease.Recent technological advances allow unbiased whole-genome DNA methylation "
    "analysis to be carried out on human cells (PBMC).Using whole-genome bisulfite "
    "sequencing at 24.7-fold coverage, we report a comprehensive methylome and analysis of "
    "the unique sequences in human peripheral blood cells.We found that 68.4% of CpG sites "
    "were methylated, as in Smith et al.In contrast to earlier work."
)


def test_overlong_sentences_split_where_the_space_after_a_period_is_missing() -> None:
    assert split_sentences(GLUED) == [
        "DNA methylation plays an important role in biological processes in human health "
        "and disease.",
        "Recent technological advances allow unbiased whole-genome DNA methylation analysis "
        "to be carried out on human cells (PBMC).",
        "Using whole-genome bisulfite sequencing at 24.7-fold coverage, we report a "
        "comprehensive methylome and analysis of the unique sequences in human peripheral "
        "blood cells.",
        # "al." is an abbreviation: no split after it
        "We found that 68.4% of CpG sites were methylated, as in Smith et al.In contrast to "
        "earlier work.",
    ]
    assert [s.text for s in segments(GLUED)] == split_sentences(GLUED)


def test_dotted_names_in_ordinary_sentences_stay_whole() -> None:
    text = "Open it with ragline.Project and read the settings. Call os.Path for files."
    assert split_sentences(text) == [
        "Open it with ragline.Project and read the settings.",
        "Call os.Path for files.",
    ]
