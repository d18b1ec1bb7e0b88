"""The extractive answerer with persistent sentence vectors: fewer embeddings, same answers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
import pytest

from ragline.answer import ExtractiveAnswerer
from ragline.answer._sentence_vectors import precompute_sentences, sentence_key
from ragline.embed import HashEmbedder
from ragline.errors import StoreError
from ragline.store.memory import MemorySentenceStore
from ragline.types import Chunk, Hit

from .helpers import make_retriever, make_store
from .test_answer_cost import CountingEmbedder, long_hits
from .test_extractive import QUESTIONS

Vector = npt.NDArray[np.float32]


class CountingQueries(CountingEmbedder):
    """Also counts questions embedded."""

    def __init__(self) -> None:
        super().__init__()
        self.queries = 0

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        self.queries += 1
        return super().embed_query(text)


class BrokenStore(MemorySentenceStore):
    """Reads and/or writes fail as a locked or unreachable database would."""

    def __init__(self, *, reads: bool = True, writes: bool = True) -> None:
        super().__init__()
        self.fail_reads, self.fail_writes = reads, writes

    def get(self, tenant: str, embedder: str, keys: Sequence[bytes]) -> dict[bytes, Vector]:
        if self.fail_reads:
            raise StoreError("sentence store: database is locked", hint="try again")
        return super().get(tenant, embedder, keys)

    def put(
        self,
        tenant: str,
        embedder: str,
        vectors: Mapping[bytes, Vector],
        *,
        timeout_s: float | None = None,
    ) -> None:
        if self.fail_writes:
            raise StoreError("sentence store: database is locked", hint="try again")
        super().put(tenant, embedder, vectors, timeout_s=timeout_s)


QUESTION = "What about the warranty of product 7?"


def test_an_answer_over_precomputed_sentences_embeds_only_the_question() -> None:
    emb = CountingQueries()
    sentences = MemorySentenceStore()
    hits = long_hits()
    stored = precompute_sentences(sentences, emb, "default", [h.chunk for h in hits])
    assert stored == 90  # 3 chunks × 30 sentences
    emb.batches.clear()
    answerer = ExtractiveAnswerer(emb, sentence_store=sentences)
    answer = answerer.answer(QUESTION, hits)
    assert emb.embedded == 0 and emb.queries == 1
    assert "product 7." in answer.text
    assert answerer.sentence_stats.stored == 8 and answerer.sentence_stats.embedded == 0


def test_precomputed_vectors_give_the_same_answers() -> None:
    store, emb = make_store()
    retriever = make_retriever(store, emb)
    for question in QUESTIONS:
        result = retriever.search(question, tenant="default", k=5)
        sentences = MemorySentenceStore()
        precompute_sentences(sentences, emb, "default", [h.chunk for h in result.hits])
        plain = ExtractiveAnswerer(emb).answer(question, result.hits)
        stored = ExtractiveAnswerer(emb, sentence_store=sentences).answer(question, result.hits)
        assert stored.text == plain.text and stored.references == plain.references


def test_missing_sentences_are_embedded_once_and_written_back() -> None:
    emb = CountingQueries()
    sentences = MemorySentenceStore()
    first = ExtractiveAnswerer(emb, sentence_store=sentences).answer(QUESTION, long_hits())
    assert emb.embedded == 8 and sentences.count("default", emb.name) == 8
    # another process (a fresh answerer, empty LRU) over the same store embeds nothing
    second_answerer = ExtractiveAnswerer(emb, sentence_store=sentences)
    again = second_answerer.answer(QUESTION, long_hits())
    assert emb.embedded == 8 and again.text == first.text
    assert second_answerer.sentence_stats.stored == 8


def test_tenants_never_read_each_others_stored_vectors() -> None:
    emb = CountingQueries()
    sentences = MemorySentenceStore()
    text = "The fee is 5 euros. Payment is due within 14 days of the invoice."

    def hits(tenant: str) -> list[Hit]:
        chunk = Chunk(id="c", document_id="d", ordinal=0, text=text, title="Fees", tenant=tenant)
        return [Hit(chunk=chunk, score=1.0)]

    precompute_sentences(sentences, emb, "acme", [hits("acme")[0].chunk])
    before = emb.embedded
    answerer = ExtractiveAnswerer(emb, sentence_store=sentences)
    answerer.answer("What is the fee?", hits("acme"), tenant="acme")
    assert emb.embedded == before  # acme's own precomputed vectors
    answerer.answer("What is the fee?", hits("globex"), tenant="globex")
    assert emb.embedded == before + 2  # globex's copy is embedded afresh…
    assert sentences.count("globex", emb.name) == 2  # …and stored under globex


def test_a_failing_write_back_never_fails_the_answer(caplog: pytest.LogCaptureFixture) -> None:
    emb = CountingQueries()
    broken = BrokenStore(reads=False, writes=True)
    answerer = ExtractiveAnswerer(emb, sentence_store=broken)
    expected = ExtractiveAnswerer(HashEmbedder()).answer(QUESTION, long_hits())
    with caplog.at_level("WARNING", logger="ragline.answer"):
        answer = answerer.answer(QUESTION, long_hits())
    assert answer.text == expected.text
    assert answerer.sentence_stats.write_failures == 1
    assert "write-back failed" in caplog.text
    # the vectors are still in the in-memory LRU: the next ask needs no store at all
    answerer.answer(QUESTION, long_hits())
    assert emb.embedded == 8 and answerer.sentence_stats.write_failures == 1


def test_a_failing_lookup_falls_back_to_embedding() -> None:
    emb = CountingQueries()
    answerer = ExtractiveAnswerer(emb, sentence_store=BrokenStore(reads=True, writes=True))
    answer = answerer.answer(QUESTION, long_hits())
    assert not answer.abstained and "product 7." in answer.text
    assert answerer.sentence_stats.read_failures == 1
    assert answerer.sentence_stats.embedded == 8


def test_vectors_of_the_wrong_dimension_are_ignored() -> None:
    emb = CountingQueries()
    sentences = MemorySentenceStore()
    hits = long_hits(1)
    keys = [
        sentence_key(f"Sentence number {i} of catalogue 0 talks about the warranty of product {i}.")
        for i in range(30)
    ]
    sentences.put("default", emb.name, {k: np.ones(3, dtype=np.float32) for k in keys})
    answer = ExtractiveAnswerer(emb, sentence_store=sentences).answer(QUESTION, hits)
    assert emb.embedded == 8 and "product 7." in answer.text
