"""Caches on the ask path: query vectors, and the SQLite store's per-tenant snapshot.

A trace, feedback or conversation write must leave the document caches in place (only
document writes move a tenant's generation); a document write — from this connection
or another one — must be visible to the very next search.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

import ragline
from ragline.config import Settings
from ragline.embed import HashEmbedder
from ragline.errors import ConfigError
from ragline.retrieve import Retriever
from ragline.store import SQLiteStore
from ragline.types import Chunk, Document

from .helpers import make_store


class CountingEmbedder(HashEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.queries = 0

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        self.queries += 1
        return super().embed_query(text)


def test_a_repeated_query_skips_the_embedder() -> None:
    store, _ = make_store()
    emb = CountingEmbedder()
    retriever = Retriever(store, emb, Settings.model_validate({}))
    first = retriever.search("refund processing time", tenant="default")
    again = retriever.search("refund processing time", tenant="default")
    assert emb.queries == 1
    assert [h.chunk.id for h in first.hits] == [h.chunk.id for h in again.hits]
    retriever.search("printer cartridge error", tenant="default")
    assert emb.queries == 2


def test_query_vectors_are_cached_per_tenant() -> None:
    store, _ = make_store()
    emb = CountingEmbedder()
    retriever = Retriever(store, emb, Settings.model_validate({}))
    retriever.search("refund processing time", tenant="default")
    retriever.search("refund processing time", tenant="other")
    assert emb.queries == 2  # one tenant's questions do not warm another's cache


def test_query_cache_can_be_turned_off() -> None:
    store, _ = make_store()
    emb = CountingEmbedder()
    retriever = Retriever(store, emb, Settings.model_validate({}), query_cache_size=0)
    for _ in range(3):
        retriever.search("refund processing time", tenant="default")
    assert emb.queries == 3


def test_a_negative_query_cache_size_is_a_clear_error() -> None:
    store, emb = make_store()
    with pytest.raises(ConfigError, match="at least 0"):
        Retriever(store, emb, Settings.model_validate({}), query_cache_size=-5)


def write(path: Path, name: str, text: str) -> Path:
    f = path / name
    f.write_text(text, encoding="utf-8")
    return f


@pytest.fixture
def project(tmp_path: Path) -> ragline.Project:
    docs = tmp_path / "docs"
    docs.mkdir()
    write(docs, "warranty.md", "# Warranty\n\nThe X200 comes with a two-year warranty.\n")
    write(docs, "shipping.md", "# Shipping\n\nExpress delivery arrives the next day.\n")
    p = ragline.Project(tmp_path, embedder=HashEmbedder())
    p.ingest([docs])
    return p


def test_trace_writes_keep_the_document_snapshot(project: ragline.Project) -> None:
    with project:
        assert project.settings.tracing.enabled
        first = project.ask("How long is the X200 warranty?")
        assert project.flush_traces()
        store = project.store
        assert isinstance(store, SQLiteStore)
        snapshot = store._snapshots["default"]
        for _ in range(3):
            answer = project.ask("How long is the X200 warranty?")
            assert project.flush_traces()
        assert answer.trace_id and answer.trace_id != first.trace_id
        assert project.get_trace(answer.trace_id)  # the trace really was written
        assert store._snapshots["default"] is snapshot  # ... and the caches stayed


def test_a_document_write_is_seen_by_the_next_search(project: ragline.Project) -> None:
    with project:
        assert "two-year" in project.ask("How long is the X200 warranty?").text
        project.flush_traces()
        # another connection to the same file (another worker process) rewrites the doc
        other = SQLiteStore(project.store.path)  # type: ignore[attr-defined]
        (doc,) = [d for d in project.store.list_documents("default") if d.title == "Warranty"]
        text = "The X200 comes with a five-year warranty."
        chunk = Chunk(
            id=f"{doc.id}#0",
            document_id=doc.id,
            ordinal=0,
            text=text,
            title=doc.title,
            content_hash="edited",
        )
        edited = Document(
            id=doc.id, source=doc.source, title=doc.title, content_hash="edited", chunk_count=1
        )
        other.upsert_document(edited, [chunk], HashEmbedder().embed_documents([text]))
        other.close()
        answer = project.ask("How long is the X200 warranty?")
        assert "five-year" in answer.text and "two-year" not in answer.text


def test_searches_racing_document_writes_never_fail(tmp_path: Path) -> None:
    """Scoring runs outside the store's lock: a search that overlaps a write answers
    from the state before or after it, never with an error or a half-written chunk."""
    import threading

    emb = HashEmbedder()
    store = SQLiteStore(tmp_path / "race.db")

    def upsert(doc_id: str, version: int) -> None:
        text = f"Warranty terms version {version} for product {doc_id}."
        doc = Document(id=doc_id, source=doc_id, title="Warranty", content_hash=str(version))
        chunk = Chunk(id=f"{doc_id}#0", document_id=doc_id, ordinal=0, text=text, title="Warranty")
        store.upsert_document(doc, [chunk], emb.embed_documents([chunk.indexed_text]))

    for i in range(10):
        upsert(f"d{i}", 0)
    query = emb.embed_query("warranty terms for product")
    errors: list[BaseException] = []
    done = threading.Event()

    def reader() -> None:
        try:
            while not done.is_set():
                for hits in (
                    store.keyword_search("default", "warranty product", k=5),
                    store.vector_search("default", query, k=5),
                ):
                    for h in hits:
                        assert h.chunk.text.startswith("Warranty terms version ")
        except BaseException as e:
            errors.append(e)

    readers = [threading.Thread(target=reader) for _ in range(4)]
    for th in readers:
        th.start()
    try:
        for version in range(1, 30):
            upsert(f"d{version % 10}", version)
            store.delete_document("default", f"d{(version + 5) % 10}")
            upsert(f"d{(version + 5) % 10}", version)
    finally:
        done.set()
        for th in readers:
            th.join()
        store.close()
    assert errors == []
