"""The extractive answerer on a small handbook (MemoryStore + hash embedder)."""

from __future__ import annotations

import re

import pytest

import ragline.answer
from ragline.answer import ABSTAIN_TEXT, ExtractiveAnswerer, ExtractiveTuning
from ragline.config import AnswerSettings
from ragline.embed import HashEmbedder
from ragline.errors import InputError
from ragline.types import Answer, Hit

from .helpers import make_retriever, make_store

QUESTIONS = [
    "How long is the warranty on the X200?",
    "What do I need for a warranty claim?",
    "Can I return a product?",
    "How long does express delivery take?",
    "What does the warranty cover, and how do I make a warranty claim?",
]


def ask(
    question: str,
    *,
    settings: AnswerSettings | None = None,
    tuning: ExtractiveTuning | None = None,
    k: int = 5,
) -> Answer:
    store, emb = make_store()
    result = make_retriever(store, emb).search(question, tenant="default", k=k)
    answerer = ExtractiveAnswerer(emb, settings or AnswerSettings.model_validate({}), tuning=tuning)
    return answerer.answer(question, result.hits, query_vector=result.query_vector)


def squash(text: str) -> str:
    return " ".join(text.split())


def test_answers_a_clearly_answerable_question() -> None:
    answer = ask("How long is the warranty on the X200?")
    assert not answer.abstained
    assert "two-year warranty" in answer.text
    assert answer.references[0].document_id == "warranty"
    assert answer.model == "extractive" and answer.tenant == "default"
    assert 0.0 < answer.support <= 1.0
    assert answer.hits  # the hits the answer was built from travel with it


@pytest.mark.parametrize("question", QUESTIONS)
def test_every_sentence_is_cited_and_found_in_its_cited_chunk(question: str) -> None:
    answer = ask(question, tuning=ExtractiveTuning(relative_cutoff=0.5))
    assert not answer.abstained and answer.sentences
    chunks = {h.chunk.id: h.chunk for h in answer.hits}
    by_number = {r.number: r for r in answer.references}
    for sentence in answer.sentences:
        assert sentence.citations, sentence
        assert 0.0 <= sentence.support <= 1.0
        for n in sentence.citations:
            assert squash(sentence.text) in squash(chunks[by_number[n].chunk_id].text)
        # the answer text shows the sentence followed by its marker
        marker = "".join(f"[{n}]" for n in sentence.citations)
        assert f"{sentence.text} {marker}" in answer.text
    assert answer.support == pytest.approx(
        sum(s.support for s in answer.sentences) / len(answer.sentences), abs=1e-3
    )


def test_references_are_numbered_by_first_use_with_their_details() -> None:
    question = "What does the warranty cover, and how do I make a warranty claim?"
    answer = ask(question, tuning=ExtractiveTuning(relative_cutoff=0.3))
    assert len(answer.references) >= 2
    assert [r.number for r in answer.references] == list(range(1, len(answer.references) + 1))
    used: list[int] = []
    for sentence in answer.sentences:
        for n in sentence.citations:
            if n not in used:
                used.append(n)
    assert used == [r.number for r in answer.references]  # first use order, all used
    markers = [int(m) for m in re.findall(r"\[(\d+)\]", answer.text)]
    assert list(dict.fromkeys(markers)) == used
    chunks = {h.chunk.id: h.chunk for h in answer.hits}
    for ref in answer.references:
        chunk = chunks[ref.chunk_id]
        assert ref.title == chunk.title == "Warranty Policy"
        assert ref.section == chunk.section and ref.section.startswith("Warranty Policy > ")
        assert ref.source == "docs/warranty.pdf"
        assert ref.page == chunk.page and ref.page in (2, 3)
        assert ref.document_id == "warranty"


def test_never_cites_a_chunk_that_gave_no_sentence() -> None:
    for question in QUESTIONS:
        answer = ask(question)
        cited = {n for s in answer.sentences for n in s.citations}
        assert cited == {r.number for r in answer.references}
        assert len(answer.references) <= len(answer.sentences)


@pytest.mark.parametrize(
    "question",
    ["What is the airspeed velocity of an unladen swallow?", "Who painted the Mona Lisa?"],
)
def test_abstains_on_an_unrelated_question(question: str) -> None:
    answer = ask(question)
    assert answer.abstained
    assert answer.text == ABSTAIN_TEXT
    assert answer.references == [] and answer.sentences == []
    assert answer.support == 0.0


def test_min_relevance_controls_abstention() -> None:
    question = "How long is the warranty on the X200?"
    assert ask(question, settings=AnswerSettings(max_sentences=3, min_relevance=0.99)).abstained
    assert not ask(question, settings=AnswerSettings(max_sentences=3, min_relevance=0.0)).abstained


def test_no_hits_means_abstain() -> None:
    answer = ExtractiveAnswerer(HashEmbedder()).answer("How long is the warranty?", [])
    assert answer.abstained and answer.text == ABSTAIN_TEXT and answer.hits == []


def test_max_sentences_is_respected() -> None:
    question = "What does the warranty cover, and how do I make a warranty claim?"
    loose = ExtractiveTuning(relative_cutoff=0.0)
    for n in (1, 2, 3):
        answer = ask(question, settings=AnswerSettings(max_sentences=n), tuning=loose)
        assert len(answer.sentences) == n
        assert answer.text.count("[") == n


def test_no_duplicate_sentences_even_when_chunks_repeat() -> None:
    store, emb = make_store()
    question = "How long is the warranty on the X200?"
    result = make_retriever(store, emb).search(question, tenant="default")
    # the same chunk retrieved twice (e.g. two copies of a document)
    first = result.hits[0]
    copy = Hit(chunk=first.chunk, score=first.score)
    hits = [first, copy, *result.hits[1:]]
    answerer = ExtractiveAnswerer(emb, tuning=ExtractiveTuning(relative_cutoff=0.0))
    answer = answerer.answer(question, hits, query_vector=result.query_vector)
    texts = [squash(s.text).lower() for s in answer.sentences]
    assert len(texts) == len(set(texts)) == 3


def test_sentences_from_one_chunk_keep_document_order() -> None:
    answer = ask(
        "What does the X200 warranty cover and not cover?",
        tuning=ExtractiveTuning(relative_cutoff=0.0),
    )
    chunk_text = {h.chunk.id: squash(h.chunk.text) for h in answer.hits}
    by_number = {r.number: r.chunk_id for r in answer.references}
    last: dict[int, int] = {}
    for sentence in answer.sentences:
        n = sentence.citations[0]
        pos = chunk_text[by_number[n]].index(squash(sentence.text))
        assert pos > last.get(n, -1)
        last[n] = pos


def test_headings_and_list_markers_are_not_quoted_as_sentences() -> None:
    answer = ask(
        "What do I need for a warranty claim?", tuning=ExtractiveTuning(relative_cutoff=0.0)
    )
    for sentence in answer.sentences:
        assert sentence.text != "What you need"
        assert not sentence.text.startswith("- ")


def test_blank_question_is_an_input_error() -> None:
    with pytest.raises(InputError):
        ExtractiveAnswerer(HashEmbedder()).answer("  ", [])


def test_question_relevance_separates_related_from_unrelated() -> None:
    store, emb = make_store()
    retriever = make_retriever(store, emb)
    answerer = ExtractiveAnswerer(emb)

    def relevance(q: str) -> float:
        r = retriever.search(q, tenant="default")
        return answerer.question_relevance(q, r.hits, query_vector=r.query_vector)

    assert relevance("Can I return a product?") > relevance("Who painted the Mona Lisa?")
    assert answerer.question_relevance("anything", []) == 0.0


def test_public_names() -> None:
    assert {"ExtractiveAnswerer", "ExtractiveTuning", "ABSTAIN_TEXT"} <= set(ragline.answer.__all__)
    for name in ragline.answer.__all__:
        assert hasattr(ragline.answer, name)


class _Counting(HashEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.embedded: list[str] = []

    def embed_documents(self, texts):  # type: ignore[no-untyped-def]
        self.embedded.extend(texts)
        return super().embed_documents(texts)


def test_sentences_seen_before_are_not_embedded_again() -> None:
    emb = _Counting()
    store, _ = make_store(emb)
    retriever = make_retriever(store, emb)
    answerer = ExtractiveAnswerer(emb, AnswerSettings.model_validate({}))
    question = "How long is the warranty on the X200?"
    result = retriever.search(question, tenant="default", k=5)
    emb.embedded.clear()
    first = answerer.answer(question, result.hits, query_vector=result.query_vector)
    assert emb.embedded  # candidate sentences were embedded once
    emb.embedded.clear()
    second = answerer.answer(question, result.hits, query_vector=result.query_vector)
    assert emb.embedded == []
    assert second.text == first.text and second.support == first.support
