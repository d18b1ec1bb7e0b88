"""``StoreConformance``: the shared test suite every ``Store`` backend must pass.

Subclass it in a backend's test module and provide a ``store`` fixture that yields a
fresh, empty store::

    class TestMyStore(StoreConformance):
        @pytest.fixture
        def store(self) -> Iterator[Store]:
            s = MyStore()
            yield s
            s.close()
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from ragline.embed._hash import HashEmbedder
from ragline.errors import InputError, RaglineError
from ragline.store._base import Matrix, Store
from ragline.store._claims import ClaimHolder
from ragline.store._filters import Condition, parse_filter
from ragline.types import Chunk, Document

EMBEDDER = HashEmbedder(64)
HOSTILE_QUERIES = [
    'AND OR NOT "* :( - NEAR( ^',
    "",
    "   ",
    "the and of to is",
    '"unbalanced',
    "col:umn : value",
    "NEAR(a b, 3)",
    "a* OR *b",
    "(((",
    "'; DROP TABLE chunks; --",
    "^start $end {x} [y] +z",
    "\x00\x01 emoji 🎉 ünïcødé",
    "x" * 5000,
]


def make_document(
    doc_id: str,
    texts: Sequence[str],
    *,
    tenant: str = "default",
    title: str | None = None,
    sections: Sequence[Sequence[str]] | None = None,
    doc_type: str | None = None,
    language: str | None = None,
    metadata: dict[str, Any] | None = None,
    embedder: str = EMBEDDER.name,
    content_hash: str | None = None,
) -> tuple[Document, list[Chunk], Matrix]:
    """A document, its chunks (ids ``doc_id#i``) and their HashEmbedder vectors."""
    title = doc_id.replace("-", " ").title() if title is None else title
    doc = Document(
        id=doc_id,
        source=f"docs/{doc_id}.md",
        title=title,
        content_hash=content_hash or f"doc:{doc_id}:{len(texts)}",
        tenant=tenant,
        doc_type=doc_type,
        language=language,
        metadata=dict(metadata or {}),
        embedder=embedder,
    )
    chunks = [
        Chunk(
            id=f"{doc_id}#{i}",
            document_id=doc_id,
            ordinal=i,
            text=text,
            title=title,
            tenant=tenant,
            section_path=list(sections[i]) if sections else [],
            page=i + 1,
            language=language,
            doc_type=doc_type,
            source=doc.source,
            content_hash=f"hash:{text}",
            metadata=dict(metadata or {}),
        )
        for i, text in enumerate(texts)
    ]
    vectors = EMBEDDER.embed_documents([c.indexed_text for c in chunks])
    return doc, chunks, vectors


def dead_pid() -> int:
    """The pid of a process of this host that has exited (for stale-claim tests)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _ids(results: Sequence[Any]) -> list[str]:
    return [r.chunk.id for r in results]


class StoreConformance:
    """Behaviour every ``Store`` must have. Subclasses provide the ``store`` fixture."""

    @pytest.fixture
    def store(self) -> Any:  # pragma: no cover - always overridden
        raise NotImplementedError("subclasses provide a `store` fixture yielding an empty store")

    # -- documents ------------------------------------------------------------------

    def test_is_a_store(self, store: Store) -> None:
        assert isinstance(store, Store)

    def test_upsert_get_list_delete(self, store: Store) -> None:
        doc, chunks, vecs = make_document(
            "guide", ["alpha text", "beta text"], metadata={"team": "core"}
        )
        store.upsert_document(doc, chunks, vecs)
        got = store.get_document("default", "guide")
        assert got is not None
        assert (got.id, got.title, got.source, got.content_hash) == (
            "guide",
            doc.title,
            doc.source,
            doc.content_hash,
        )
        assert got.chunk_count == 2
        assert got.metadata == {"team": "core"}
        assert got.embedder == EMBEDDER.name
        assert got.updated_at > 0
        assert [d.id for d in store.list_documents("default")] == ["guide"]
        assert store.get_document("default", "nope") is None
        assert store.delete_document("default", "guide") is True
        assert store.delete_document("default", "guide") is False
        assert store.get_document("default", "guide") is None
        assert store.get_chunks("default", ["guide#0", "guide#1"]) == []
        assert store.keyword_search("default", "alpha", k=5) == []
        assert store.vector_search("default", vecs[0], k=5) == []
        assert store.stats("default").chunks == 0

    def test_chunks_round_trip(self, store: Store) -> None:
        doc, chunks, vecs = make_document(
            "rt",
            ["first body", "second body"],
            sections=[["Intro"], ["Intro", "Details"]],
            doc_type="manual",
            language="en",
            metadata={"tags": ["a", "b"], "year": 2021, "score": 0.5, "flag": True},
        )
        store.upsert_document(doc, chunks, vecs)
        assert store.get_chunks("default", ["rt#0", "rt#1"]) == chunks

    def test_reupsert_replaces_all_chunks(self, store: Store) -> None:
        store.upsert_document(*make_document("d", ["old one", "old two", "old three"]))
        store.upsert_document(*make_document("d", ["new only"]))
        assert store.get_chunks("default", ["d#0", "d#1", "d#2"])[0].text == "new only"
        assert len(store.get_chunks("default", ["d#0", "d#1", "d#2"])) == 1
        assert store.keyword_search("default", "old", k=10) == []
        assert _ids(store.keyword_search("default", "new", k=10)) == ["d#0"]
        assert store.stats("default").chunks == 1
        got = store.get_document("default", "d")
        assert got is not None and got.chunk_count == 1

    def test_failing_upsert_keeps_previous_version(self, store: Store) -> None:
        doc, chunks, vecs = make_document("d", ["original text"])
        store.upsert_document(doc, chunks, vecs)
        new_doc, new_chunks, new_vecs = make_document("d", ["replacement a", "replacement b"])
        with pytest.raises((InputError, ValueError)):
            store.upsert_document(new_doc, new_chunks, new_vecs[:1])
        assert [c.text for c in store.get_chunks("default", ["d#0", "d#1"])] == ["original text"]
        assert _ids(store.keyword_search("default", "original", k=5)) == ["d#0"]
        assert store.keyword_search("default", "replacement", k=5) == []
        got = store.get_document("default", "d")
        assert got is not None and got.chunk_count == 1

    def test_invalid_upserts_raise_input_error(self, store: Store) -> None:
        doc, chunks, vecs = make_document("d", ["text"])
        with pytest.raises(InputError):
            store.upsert_document(doc, [*chunks, chunks[0]], np.vstack([vecs, vecs]))
        other = make_document("other", ["text"])[1]
        with pytest.raises(InputError):
            store.upsert_document(doc, other, vecs)
        with pytest.raises(InputError):
            store.upsert_document(doc, chunks, np.full_like(vecs, np.nan))
        store.upsert_document(*make_document("a", ["shared id"]))
        clash_doc, clash_chunks, clash_vecs = make_document("b", ["x"])
        clash_chunks[0].id = "a#0"
        with pytest.raises(InputError):
            store.upsert_document(clash_doc, clash_chunks, clash_vecs)
        assert store.get_document("default", "b") is None
        assert store.stats("default").documents == 1

    def test_document_without_chunks(self, store: Store) -> None:
        doc, _, _ = make_document("empty", [])
        store.upsert_document(doc, [], np.zeros((0, EMBEDDER.dimension), dtype=np.float32))
        got = store.get_document("default", "empty")
        assert got is not None and got.chunk_count == 0
        assert store.stats("default").documents == 1

    # -- tenants ----------------------------------------------------------------------

    def test_tenant_isolation(self, store: Store) -> None:
        a = make_document("same", ["apples are red"], tenant="a", metadata={"v": 1})
        b = make_document("same", ["bananas are yellow"], tenant="b", metadata={"v": 2})
        store.upsert_document(*a)
        store.upsert_document(*b)
        assert store.tenants() == ["a", "b"]
        doc_a, doc_b = store.get_document("a", "same"), store.get_document("b", "same")
        assert doc_a is not None and doc_b is not None and doc_a.tenant == "a"
        assert [d.tenant for d in store.list_documents("b")] == ["b"]
        assert [c.text for c in store.get_chunks("a", ["same#0"])] == ["apples are red"]
        assert [c.text for c in store.get_chunks("b", ["same#0"])] == ["bananas are yellow"]
        assert store.keyword_search("a", "bananas", k=5) == []
        assert _ids(store.keyword_search("b", "bananas", k=5)) == ["same#0"]
        assert [h.chunk.tenant for h in store.vector_search("a", b[2][0], k=5)] == ["a"]
        assert np.allclose(store.get_embeddings("b", ["same#0"])[0], b[2][0], atol=1e-6)
        assert set(store.embeddings_by_hash("a", ["hash:bananas are yellow"], EMBEDDER.name)) == (
            set()
        )
        assert store.stats("a").chunks == 1 and store.stats("nobody").documents == 0
        assert store.delete_document("a", "same") is True
        assert store.get_document("b", "same") is not None
        assert store.tenants() == ["b"]

    # -- keyword search ---------------------------------------------------------------

    def test_keyword_search_uses_title_and_sections(self, store: Store) -> None:
        store.upsert_document(
            *make_document(
                "handbook",
                ["Submit the form before Friday.", "Nothing relevant."],
                title="Expense Reimbursement",
                sections=[["Travel Claims"], ["Misc"]],
            )
        )
        store.upsert_document(*make_document("noise", ["Weather is mild today."]))
        assert "handbook#0" in _ids(store.keyword_search("default", "reimbursement", k=5))
        assert _ids(store.keyword_search("default", "travel claims", k=5))[0] == "handbook#0"

    def test_keyword_search_ranks_better_match_first(self, store: Store) -> None:
        store.upsert_document(
            *make_document(
                "kb",
                [
                    "The printer driver installation guide for the office printer.",
                    "A short note about the kitchen.",
                    "Printer mentioned once among many many other unrelated words here.",
                ],
                title="Notes",
            )
        )
        hits = store.keyword_search("default", "printer driver installation", k=3)
        assert _ids(hits)[0] == "kb#0"
        assert "kb#1" not in _ids(hits)
        assert all(h.score > 0 for h in hits)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)

    def test_keyword_search_stems_words(self, store: Store) -> None:
        store.upsert_document(*make_document("s", ["The engines were running smoothly."]))
        assert _ids(store.keyword_search("default", "engine runs", k=5)) == ["s#0"]

    @pytest.mark.parametrize("query", HOSTILE_QUERIES)
    def test_hostile_queries_never_raise(self, store: Store, query: str) -> None:
        store.upsert_document(*make_document("h", ["near and not or column value start end"]))
        results = store.keyword_search("default", query, k=5)
        assert isinstance(results, list)

    def test_stopword_only_query_returns_nothing(self, store: Store) -> None:
        store.upsert_document(*make_document("h", ["the and of to is"]))
        assert store.keyword_search("default", "the of and", k=5) == []
        assert store.keyword_search("default", "", k=5) == []

    def test_keyword_k_limits(self, store: Store) -> None:
        store.upsert_document(*make_document("many", [f"common word {i}" for i in range(8)]))
        assert len(store.keyword_search("default", "common", k=3)) == 3
        assert store.keyword_search("default", "common", k=0) == []

    # -- filters ----------------------------------------------------------------------

    def _filter_corpus(self, store: Store) -> None:
        rows: list[tuple[str, str, str, dict[str, Any]]] = [
            ("r1", "finance", "en", {"year": 2019, "date": "2019-05-01", "tags": ["tax", "q1"]}),
            ("r2", "finance", "es", {"year": 2021, "date": "2021-01-15", "tags": ["audit"]}),
            ("r3", "legal", "en", {"year": 2022, "date": "2022-11-30", "tags": []}),
            ("r4", "faq", "en", {"year": "2020", "date": "2020-02-29", "owner": "ann"}),
            ("r5", "faq", "de", {"year": 10, "date": "2023-07-04", "tags": ["tax"]}),
        ]
        for doc_id, doc_type, lang, md in rows:
            store.upsert_document(
                *make_document(
                    doc_id,
                    [f"report about policy {doc_id}"],
                    doc_type=doc_type,
                    language=lang,
                    metadata=md,
                )
            )

    @pytest.mark.parametrize(
        ("expr", "expected"),
        [
            ("doc_type=finance", {"r1", "r2"}),
            ("doc_type!=finance", {"r3", "r4", "r5"}),
            ("doc_type=legal|faq", {"r3", "r4", "r5"}),
            ("language=en", {"r1", "r3", "r4"}),
            ("year>2019", {"r2", "r3", "r4"}),
            ("year>=2021", {"r2", "r3"}),
            ("year<2020", {"r1", "r5"}),
            ("year<=2020", {"r1", "r4", "r5"}),
            ("year=2020", {"r4"}),
            ("date>=2021-01-01", {"r2", "r3", "r5"}),
            ("date<2020-03-01", {"r1", "r4"}),
            ("tags=tax", {"r1", "r5"}),
            ("tags!=tax", {"r2", "r3", "r4"}),
            ("tags=audit|q1", {"r1", "r2"}),
            ("owner=ann", {"r4"}),
            ("owner!=ann", {"r1", "r2", "r3", "r5"}),
            ("missing=1", set()),
            ("page=1", {"r1", "r2", "r3", "r4", "r5"}),
            ("document_id=r3", {"r3"}),
        ],
    )
    def test_filter_semantics(self, store: Store, expr: str, expected: set[str]) -> None:
        self._filter_corpus(store)
        cond = [parse_filter(expr)]
        kw = store.keyword_search("default", "report policy", k=10, filters=cond)
        assert {h.chunk.document_id for h in kw} == expected
        query = EMBEDDER.embed_query("report about policy")
        vec = store.vector_search("default", query, k=10, filters=cond)
        assert {h.chunk.document_id for h in vec} == expected

    def test_all_conditions_must_hold(self, store: Store) -> None:
        self._filter_corpus(store)
        conds = [Condition("doc_type", "eq", "finance"), Condition("language", "eq", "en")]
        hits = store.keyword_search("default", "report", k=10, filters=conds)
        assert {h.chunk.document_id for h in hits} == {"r1"}

    def test_filters_apply_before_top_k(self, store: Store) -> None:
        texts = ["banana banana banana split"] * 20
        store.upsert_document(*make_document("top", texts, doc_type="common"))
        store.upsert_document(
            *make_document(
                "low", ["banana mentioned once in a much longer text " * 5], doc_type="rare"
            )
        )
        cond = [Condition("doc_type", "eq", "rare")]
        assert _ids(store.keyword_search("default", "banana", k=3, filters=cond)) == ["low#0"]
        query = EMBEDDER.embed_query("banana banana banana split")
        assert _ids(store.vector_search("default", query, k=3, filters=cond)) == ["low#0"]

    def test_odd_filter_field_names_match_nothing_and_never_fail(self, store: Store) -> None:
        """A field name with a NUL, a quote, a backslash or nothing at all (a fuzzed
        HTTP filter) is a field no chunk has: no hits, no store error."""
        self._filter_corpus(store)
        query = EMBEDDER.embed_query("report")
        for name in ("a\x00b", 'a"b', "a\\b", "", "\x86\x00P"):
            cond = [Condition(name, "eq", "x")]
            assert store.keyword_search("default", "report", k=5, filters=cond) == []
            assert store.vector_search("default", query, k=5, filters=cond) == []

    # -- vectors ----------------------------------------------------------------------

    def test_vector_search_orders_by_cosine(self, store: Store) -> None:
        doc, chunks, vecs = make_document(
            "v", ["cats purr softly", "dogs bark loudly", "stock markets fell", "cats and dogs"]
        )
        store.upsert_document(doc, chunks, vecs)
        query = EMBEDDER.embed_query("cats purr")
        hits = store.vector_search("default", query, k=4)
        expected = np.argsort(-(vecs @ query), kind="stable")
        assert _ids(hits) == [f"v#{i}" for i in expected]
        for h in hits:
            i = int(h.chunk.id.split("#")[1])
            assert h.score == pytest.approx(float(vecs[i] @ query), abs=1e-5)
        assert len(store.vector_search("default", query, k=2)) == 2
        scaled = store.vector_search("default", query * 7.0, k=1)
        assert scaled[0].score == pytest.approx(hits[0].score, abs=1e-5)

    def test_vector_dimension_mismatch_is_an_input_error(self, store: Store) -> None:
        store.upsert_document(*make_document("v", ["text"]))
        with pytest.raises(InputError):
            store.vector_search("default", np.ones(EMBEDDER.dimension + 1, np.float32), k=1)

    # -- lookups ----------------------------------------------------------------------

    def test_get_chunks_keeps_order_and_skips_unknown(self, store: Store) -> None:
        store.upsert_document(*make_document("g", ["zero", "one", "two"]))
        got = store.get_chunks("default", ["g#2", "missing", "g#0", "g#1"])
        assert [c.id for c in got] == ["g#2", "g#0", "g#1"]
        assert store.get_chunks("default", []) == []

    def test_update_chunk_metadata_keeps_text_vectors_and_index(self, store: Store) -> None:
        doc, chunks, vectors = make_document(
            "meta", ["apples are red", "pears are green"], metadata={"v": 1}
        )
        store.upsert_document(doc, chunks, vectors)
        store.upsert_document(*make_document("meta", ["apples are red"], tenant="b"))
        v1, v2 = [parse_filter("v=1")], [parse_filter("v=2")]
        # searched before the update, so a backend that caches must notice it
        assert _ids(store.keyword_search("default", "apples", k=5, filters=v1)) == ["meta#0"]
        assert store.keyword_search("default", "apples", k=5, filters=v2) == []
        new = {"v": 2, "ragline.injection": {"v": 3, "score": 0.9, "reasons": ["a.b"]}}
        assert store.update_chunk_metadata("default", {"meta#0": new, "nope#9": {"v": 3}}) == 1
        first, second = store.get_chunks("default", ["meta#0", "meta#1"])
        assert first.metadata == new and second.metadata == {"v": 1}
        assert first.text == "apples are red" and first.content_hash == chunks[0].content_hash
        assert np.allclose(store.get_embeddings("default", ["meta#0"])[0], vectors[0], atol=1e-6)
        assert _ids(store.keyword_search("default", "apples", k=5, filters=v2)) == ["meta#0"]
        assert store.keyword_search("default", "apples", k=5, filters=v1) == []
        query = EMBEDDER.embed_query("apples are red")
        assert _ids(store.vector_search("default", query, k=5, filters=v1)) == ["meta#1"]
        assert store.document_chunks("default", "meta")[0].metadata == new
        stored = store.get_document("default", "meta")
        assert stored is not None and stored.content_hash == doc.content_hash  # not re-ingested
        assert store.get_chunks("b", ["meta#0"])[0].metadata == {}  # another tenant's
        assert store.update_chunk_metadata("nobody", {"meta#0": {}}) == 0
        assert store.update_chunk_metadata("default", {}) == 0

    def test_document_chunks_in_ordinal_order(self, store: Store) -> None:
        doc, chunks, vecs = make_document("dc", ["zero", "one", "two"])
        store.upsert_document(doc, chunks, vecs)
        store.upsert_document(*make_document("other", ["else"]))
        store.upsert_document(*make_document("dc", ["elsewhere"], tenant="t2"))
        assert store.document_chunks("default", "dc") == chunks
        assert [c.id for c in store.document_chunks("t2", "dc")] == ["dc#0"]
        assert store.document_chunks("default", "missing") == []

    def test_get_embeddings(self, store: Store) -> None:
        doc, chunks, vecs = make_document("e", ["one", "two", "three"])
        store.upsert_document(doc, chunks, vecs)
        got = store.get_embeddings("default", ["e#2", "e#0"])
        assert got.dtype == np.float32 and got.shape == (2, EMBEDDER.dimension)
        assert np.allclose(got, vecs[[2, 0]], atol=1e-6)
        with pytest.raises(RaglineError):
            store.get_embeddings("default", ["e#0", "nope"])

    def test_embeddings_by_hash_respects_embedder(self, store: Store) -> None:
        doc, chunks, vecs = make_document("h", ["alpha", "beta"])
        store.upsert_document(doc, chunks, vecs)
        store.upsert_document(*make_document("o", ["gamma"], embedder="other-model"))
        got = store.embeddings_by_hash("default", ["hash:alpha", "hash:gamma", "x"], EMBEDDER.name)
        assert set(got) == {"hash:alpha"}
        assert np.allclose(got["hash:alpha"], vecs[0], atol=1e-6)
        assert set(store.embeddings_by_hash("default", ["hash:gamma"], "other-model")) == {
            "hash:gamma"
        }
        assert store.embeddings_by_hash("default", ["hash:alpha"], "other-model") == {}

    def test_stats_and_tenants(self, store: Store) -> None:
        assert store.tenants() == []
        assert (store.stats("default").documents, store.stats("default").chunks) == (0, 0)
        store.upsert_document(*make_document("a", ["one", "two"]))
        store.upsert_document(*make_document("b", ["three"], tenant="t2"))
        store.upsert_document(*make_document("c", ["four", "five", "six"]))
        st = store.stats("default")
        assert (st.documents, st.chunks) == (2, 5)
        assert store.tenants() == ["default", "t2"]

    # -- ingest claims --------------------------------------------------------------

    def test_claims_are_exclusive_until_released(self, store: Store) -> None:
        a, b = ClaimHolder.new(), ClaimHolder.new()
        got = store.claim_documents("default", {"d1": "h1"}, holder=a, timeout_s=600)
        assert (got.claimed, got.busy, got.stored) == (["d1"], {}, {})
        got = store.claim_documents("default", {"d1": "h1", "d2": "h2"}, holder=b, timeout_s=600)
        assert got.claimed == ["d2"] and list(got.busy) == ["d1"] and not got.stored
        held = got.busy["d1"]
        assert (held.document_id, held.content_hash, held.holder) == ("d1", "h1", a.id)
        assert (held.host, held.pid) == (a.host, a.pid) and held.claimed_at > 0
        # the holder's own re-claim is granted; another holder's release changes nothing
        assert store.claim_documents("default", {"d1": "h1"}, holder=a, timeout_s=600).claimed
        store.release_documents("default", ["d1"], holder=b)
        assert "d1" in store.claim_documents("default", {"d1": "h1"}, holder=b, timeout_s=600).busy
        store.release_documents("default", ["d1"], holder=a)
        assert store.claim_documents("default", {"d1": "h1"}, holder=b, timeout_s=600).claimed == [
            "d1"
        ]
        store.release_documents("default", ["d1", "d2", "never-claimed"], holder=b)
        got = store.claim_documents("default", {"d1": "x", "d2": "y"}, holder=a, timeout_s=600)
        assert got.claimed == ["d1", "d2"]

    def test_claims_are_per_tenant(self, store: Store) -> None:
        a, b = ClaimHolder.new(), ClaimHolder.new()
        assert store.claim_documents("t1", {"d": "h"}, holder=a, timeout_s=600).claimed == ["d"]
        assert store.claim_documents("t2", {"d": "h"}, holder=b, timeout_s=600).claimed == ["d"]
        assert "d" in store.claim_documents("t1", {"d": "h"}, holder=b, timeout_s=600).busy

    def test_a_document_stored_with_that_hash_is_not_claimed(self, store: Store) -> None:
        doc, chunks, vecs = make_document("guide", ["alpha"], content_hash="v1")
        store.upsert_document(doc, chunks, vecs)
        a, b = ClaimHolder.new(), ClaimHolder.new()
        got = store.claim_documents("default", {"guide": "v1", "new": "n"}, holder=a, timeout_s=60)
        assert got.claimed == ["new"] and not got.busy
        assert list(got.stored) == ["guide"] and got.stored["guide"].chunk_count == 1
        # nothing was left claimed for it: another holder sees it stored, not busy
        got = store.claim_documents("default", {"guide": "v1"}, holder=b, timeout_s=60)
        assert list(got.stored) == ["guide"] and not got.busy and not got.claimed
        # another version of it is claimed as usual
        got = store.claim_documents("default", {"guide": "v2"}, holder=b, timeout_s=60)
        assert got.claimed == ["guide"] and not got.stored

    def test_an_old_claim_is_taken_over(self, store: Store) -> None:
        a, b, c = ClaimHolder.new(), ClaimHolder.new(), ClaimHolder.new()
        store.claim_documents("default", {"d": "h"}, holder=a, timeout_s=600)
        got = store.claim_documents("default", {"d": "h2"}, holder=b, timeout_s=0)
        assert got.claimed == ["d"] and not got.busy
        # the first holder's late release does not drop the claim that replaced it
        store.release_documents("default", ["d"], holder=a)
        busy = store.claim_documents("default", {"d": "h"}, holder=c, timeout_s=600).busy
        assert busy["d"].holder == b.id and busy["d"].content_hash == "h2"

    def test_a_claim_of_a_dead_process_is_taken_over(self, store: Store) -> None:
        live = ClaimHolder.new()
        dead = ClaimHolder("crashed-run", live.host, dead_pid())
        elsewhere = ClaimHolder("other-host-run", "another-host.invalid", dead.pid)
        store.claim_documents("default", {"d": "h"}, holder=dead, timeout_s=600)
        store.claim_documents("default", {"e": "h"}, holder=elsewhere, timeout_s=600)
        got = store.claim_documents("default", {"d": "h", "e": "h"}, holder=live, timeout_s=600)
        # on this host the process is gone; on another host it cannot be told: held
        assert got.claimed == ["d"] and list(got.busy) == ["e"]

    def test_concurrent_claims_grant_each_document_once(self, store: Store) -> None:
        ids = {f"doc-{i}": f"h{i}" for i in range(20)}
        holders = [ClaimHolder.new() for _ in range(6)]
        granted: list[list[str]] = [[] for _ in holders]
        errors: list[BaseException] = []
        start = threading.Barrier(len(holders))

        def claim(n: int) -> None:
            try:
                start.wait()
                order = dict(reversed(ids.items())) if n % 2 else ids
                got = store.claim_documents("default", order, holder=holders[n], timeout_s=600)
                granted[n] = got.claimed
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=claim, args=(n,)) for n in range(len(holders))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        everything = sorted(d for g in granted for d in g)
        assert everything == sorted(ids)
