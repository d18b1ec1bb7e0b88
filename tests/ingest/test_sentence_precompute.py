"""Ingest precomputes the extractive answerer's sentence vectors; asks then embed only the
question. Back-fill for stores ingested before, and the failure modes that must not hurt."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

import ragline
from ragline.answer import ExtractiveAnswerer
from ragline.errors import EmbedderError
from ragline.store import MemoryStore
from ragline.testing import HashEmbedder

DOCS = {
    "warranty.md": "# Warranty\n\nEvery X200 vacuum cleaner comes with a two-year warranty. "
    "The warranty covers the motor, the battery and the charging dock. It does not cover "
    "filters or brushes.\n",
    "shipping.md": "# Shipping\n\nStandard delivery takes three to five working days. "
    "Express delivery arrives the next working day if you order before noon.\n",
}


class Counting(HashEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.documents: list[str] = []
        self.queries = 0

    def embed_documents(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.documents += list(texts)
        return super().embed_documents(texts)

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        self.queries += 1
        return super().embed_query(text)


def make_docs(root: Path) -> Path:
    docs = root / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    return docs


def sentence_count(p: ragline.Project, tenant: str = "default") -> int:
    return p.parts.backend.sentences.count(tenant, p.embedder.name)


def test_ingest_fills_the_sentence_store_and_an_ask_embeds_only_the_question(
    tmp_path: Path,
) -> None:
    emb = Counting()
    p = ragline.Project(tmp_path, store=MemoryStore(), embedder=emb)
    p.ingest([make_docs(tmp_path)])
    assert sentence_count(p) == 5  # every sentence of both documents (not the headings)
    assert "Standard delivery takes three to five working days." in emb.documents
    emb.documents.clear()
    answer = p.ask("How long is the warranty of the vacuum cleaner?")
    assert not answer.abstained and "two-year warranty" in answer.text
    assert emb.documents == [] and emb.queries == 1


def test_reingesting_unchanged_or_changed_documents_reembeds_no_known_sentence(
    tmp_path: Path,
) -> None:
    emb = Counting()
    p = ragline.Project(tmp_path, store=MemoryStore(), embedder=emb)
    docs = make_docs(tmp_path)
    p.ingest([docs])
    emb.documents.clear()
    (docs / "shipping.md").write_text(
        DOCS["shipping.md"] + "\nReturns are free within 30 days of delivery.\n"
    )
    p.ingest([docs])
    # the changed chunk and its one new sentence; the old sentences come from the store
    assert "Returns are free within 30 days of delivery." in emb.documents
    assert "Standard delivery takes three to five working days." not in emb.documents
    assert sentence_count(p) == 6


def test_the_setting_turns_precomputing_off_and_backfill_catches_up(tmp_path: Path) -> None:
    emb = Counting()
    p = ragline.Project(
        tmp_path,
        store=MemoryStore(),
        embedder=emb,
        overrides={"answer.precompute_sentences": False},
    )
    p.ingest([make_docs(tmp_path)])
    assert sentence_count(p) == 0
    seen: list[tuple[int, int]] = []
    assert p.precompute_sentences(on_progress=lambda d, t, _: seen.append((d, t))) == 5
    assert seen[-1] == (2, 2)
    assert sentence_count(p) == 5
    assert p.precompute_sentences() == 0  # nothing left to do
    emb.documents.clear()
    p.ask("When does express delivery arrive?")
    assert emb.documents == []


def test_backfill_covers_every_tenant_separately(tmp_path: Path) -> None:
    p = ragline.Project(
        tmp_path,
        store=MemoryStore(),
        embedder=HashEmbedder(),
        overrides={"answer.precompute_sentences": False},
    )
    docs = make_docs(tmp_path)
    p.ingest([docs], tenant="acme")
    p.ingest([docs], tenant="globex")
    assert p.precompute_sentences(tenant="acme") == 5
    assert sentence_count(p, "globex") == 0
    assert p.precompute_sentences() == 5  # only globex was missing
    assert sentence_count(p, "acme") == sentence_count(p, "globex") == 5


def test_an_embedder_failure_while_precomputing_writes_nothing(tmp_path: Path) -> None:
    class BreaksOnSentences(HashEmbedder):
        def embed_documents(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
            if any(t.startswith("Standard delivery") and len(t) < 60 for t in texts):
                raise EmbedderError("embedding server went away", hint="try again")
            return super().embed_documents(texts)

    p = ragline.Project(tmp_path, store=MemoryStore(), embedder=BreaksOnSentences())
    with pytest.raises(EmbedderError):
        p.ingest([make_docs(tmp_path)])
    # the documents were not written either, so a re-run ingests (and precomputes) them
    assert p.stats() == {"documents": 0, "chunks": 0}


def test_sentence_vectors_live_in_the_sqlite_file_across_projects(tmp_path: Path) -> None:
    docs = make_docs(tmp_path)
    with ragline.Project(tmp_path, embedder=HashEmbedder()) as p:
        p.ingest([docs])
        assert sentence_count(p) == 5
    emb = Counting()
    with ragline.Project(tmp_path, embedder=emb) as p:  # a new process, cold caches
        answer = p.ask("What does the warranty cover?")
        assert "motor" in answer.text
        assert emb.documents == [] and emb.queries == 1


def test_a_locked_database_during_write_back_does_not_fail_the_ask(tmp_path: Path) -> None:
    docs = make_docs(tmp_path)
    (tmp_path / "ragline.yaml").write_text("answer:\n  precompute_sentences: false\n")
    emb = Counting()
    with ragline.Project(tmp_path, embedder=emb, overrides={"tracing.enabled": False}) as p:
        p.ingest([docs])
        other = sqlite3.connect(tmp_path / "ragline.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            answer = p.ask("What does the warranty cover?")
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert not answer.abstained and "motor" in answer.text
        answerer = p.parts.view().answerer
        assert isinstance(answerer, ExtractiveAnswerer)
        assert answerer.sentence_stats.write_failures == 1
        assert sentence_count(p) == 0  # nothing half-written
    # the lock is gone: the next process that embeds them writes them back
    with ragline.Project(tmp_path, embedder=emb, overrides={"tracing.enabled": False}) as p:
        p.ask("What does the warranty cover?")
        assert sentence_count(p) > 0


def test_a_deleted_document_leaves_only_harmless_vectors(tmp_path: Path) -> None:
    emb = Counting()
    p = ragline.Project(tmp_path, store=MemoryStore(), embedder=emb)
    docs = make_docs(tmp_path)
    p.ingest([docs])
    (docs / "shipping.md").unlink()
    p.ingest([docs], sync=True)
    # the vectors stay (keyed by text, unreachable) but answers come only from live chunks
    assert sentence_count(p) == 5
    answer = p.ask("When does express delivery arrive?")
    assert all(r.document_id == "docs/warranty.md" for r in answer.references)
