"""The Retriever end to end on a MemoryStore with the hash embedder."""

from __future__ import annotations

import pytest

import ragline.retrieve
from ragline.errors import InputError
from ragline.store import Condition

from .helpers import add, make_retriever, make_store


def test_hybrid_hits_carry_both_legs_scores_and_ranks_and_timings() -> None:
    store, emb = make_store()
    result = make_retriever(store, emb).search(
        "How much do plans cost in dollars?", tenant="default"
    )
    top = result.hits[0]
    assert top.chunk.id == "faq-pricing"
    assert set(top.scores) == {"keyword", "dense"}
    assert set(top.ranks) == {"keyword", "dense"}
    assert top.score == pytest.approx(
        1 / (60 + top.ranks["keyword"]) + 1 / (60 + top.ranks["dense"])
    )
    assert {"embed_query", "keyword", "dense", "fusion"} <= set(result.timings_ms)
    assert "mmr" not in result.timings_ms
    assert result.query_vector is not None and result.query_vector.shape == (emb.dimension,)
    assert result.mode == "hybrid" and result.rules_fired == []
    assert len(result.hits) == 5  # settings.retrieval.k


def test_hybrid_finds_what_only_one_leg_finds() -> None:
    store, emb = make_store()
    retriever = make_retriever(store, emb)
    query = "money back for error XJ9000"
    keyword_ids = {
        h.chunk.id for h in retriever.search(query, tenant="default", mode="keyword").hits
    }
    assert keyword_ids == {"support-code"}  # no keyword of the query is in the refund chunk
    hybrid = {h.chunk.id: h for h in retriever.search(query, tenant="default", k=3).hits}
    assert "support-code" in hybrid
    assert "support-reimburse" in hybrid  # only the dense leg ("semantic" match) found it
    assert set(hybrid["support-reimburse"].ranks) == {"dense"}
    assert set(hybrid["support-code"].ranks) == {"keyword", "dense"}


def test_single_leg_modes() -> None:
    store, emb = make_store()
    retriever = make_retriever(store, emb)
    kw = retriever.search("pricing 100 dollars", tenant="default", mode="keyword")
    assert kw.mode == "keyword" and "dense" not in kw.timings_ms and kw.query_vector is None
    assert all(set(h.scores) == {"keyword"} for h in kw.hits)
    dense = retriever.search("pricing 100 dollars", tenant="default", mode="dense", k=2)
    assert len(dense.hits) == 2 and all(set(h.scores) == {"dense"} for h in dense.hits)
    assert dense.hits[0].score == dense.hits[0].scores["dense"]


def test_weighted_fusion_from_settings() -> None:
    store, emb = make_store()
    retriever = make_retriever(store, emb, retrieval={"fusion": "weighted"})
    hits = retriever.search("How much do plans cost in dollars?", tenant="default").hits
    assert hits[0].chunk.id == "faq-pricing"
    assert hits[0].score == pytest.approx(1.0)  # best in both legs: 0.5·1 + 0.5·1


def test_filters_are_applied_to_both_legs() -> None:
    store, emb = make_store()
    retriever = make_retriever(store, emb)
    for filters in (["doc_type=finance"], [Condition("doc_type", "eq", "finance")]):
        hits = retriever.search("pricing 100 dollars", tenant="default", filters=filters).hits
        assert [h.chunk.id for h in hits] == ["finance-q3"]
    hits = retriever.search("plans", tenant="default", filters=["team=sales|support"]).hits
    assert {h.chunk.id for h in hits} <= {"faq-pricing", "support-reimburse", "support-code"}
    assert hits


def test_tenant_languages_filter_retrieval() -> None:
    store, emb = make_store(tenant="acme")
    open_settings = make_retriever(store, emb)
    ids = [h.chunk.id for h in open_settings.search("pricing plans month", tenant="acme").hits]
    assert "es-pricing" in ids
    mono = make_retriever(store, emb, tenants={"acme": {"languages": ["en"]}})
    result = mono.search("pricing plans month", tenant="acme")
    assert result.hits and all(h.chunk.language == "en" for h in result.hits)
    assert Condition("language", "in", ("en",)) in result.filters
    # other tenants are not affected, and never see acme's chunks
    assert mono.search("pricing plans month", tenant="other").hits == []


def test_routing_boost_reorders_and_reports_the_rule() -> None:
    store, emb = make_store()
    query = "Is it $100 per month?"
    plain = make_retriever(store, emb).search(query, tenant="default")
    assert plain.hits[0].chunk.id != "finance-q3"
    rule = {
        "name": "finance-boost",
        "when": {"query_matches": r"(\$|€|£)\s?\d|\bUSD\b"},
        "boost": {"doc_type": "finance", "factor": 3.0},
    }
    retriever = make_retriever(store, emb, routing=[rule])
    boosted = retriever.search(query, tenant="default")
    assert boosted.rules_fired == ["finance-boost"]
    assert boosted.hits[0].chunk.id == "finance-q3"
    assert boosted.hits[0].scores["boost"] == 3.0
    scores = [h.score for h in boosted.hits]
    assert scores == sorted(scores, reverse=True)
    # a query the regex does not match fires nothing and changes nothing
    other = retriever.search("what does error xj9000 mean", tenant="default")
    assert other.rules_fired == []
    assert all("boost" not in h.scores for h in other.hits)


def test_routing_regex_is_case_insensitive_and_boosts_metadata() -> None:
    store, emb = make_store()
    rule = {"name": "support", "when": {"query_matches": "ERROR"}, "boost": {"team": "support"}}
    result = make_retriever(store, emb, routing=[rule]).search("error plans", tenant="default")
    assert result.rules_fired == ["support"]
    assert all(
        h.scores.get("boost") == 1.5
        for h in result.hits
        if h.chunk.metadata.get("team") == "support"
    )


def test_routing_filter_restricts_the_search() -> None:
    store, emb = make_store()
    rules = [
        {
            "name": "legal-only",
            "when": {"query_matches": r"\bcontract\b"},
            "filter": {"doc_type": ["legal"]},
        },
        {"name": "never", "when": {"query_matches": "zzz"}, "filter": {"doc_type": "faq"}},
    ]
    result = make_retriever(store, emb, routing=rules).search(
        "contract pricing dollars", tenant="default"
    )
    assert result.rules_fired == ["legal-only"]
    assert [h.chunk.id for h in result.hits] == ["legal-terms"]


def test_mmr_reduces_near_duplicates() -> None:
    store, emb = make_store()
    text = "The warranty covers parts and labour for two years from purchase."
    for i in range(3):
        add(store, emb, f"dup-{i}", "Warranty", text + " " * i, doc_type="faq")
    add(store, emb, "other", "Warranty claims", "Warranty claims need the purchase receipt.")
    query = "warranty parts labour two years purchase"
    plain = make_retriever(store, emb).search(query, tenant="default", k=2)
    assert [h.chunk.id[:3] for h in plain.hits] == ["dup", "dup"]
    diverse = make_retriever(store, emb, retrieval={"mmr": True, "mmr_lambda": 0.5}).search(
        query, tenant="default", k=2
    )
    assert diverse.hits[0].chunk.id.startswith("dup")
    assert diverse.hits[1].chunk.id == "other"
    assert "mmr" in diverse.timings_ms and "mmr" in diverse.hits[0].scores


def test_mmr_with_lambda_one_keeps_the_fused_order() -> None:
    store, emb = make_store()
    query = "pricing 100 dollars month"
    plain = make_retriever(store, emb).search(query, tenant="default", k=3)
    same = make_retriever(store, emb, retrieval={"mmr": True, "mmr_lambda": 1.0}).search(
        query, tenant="default", k=3
    )
    assert [h.chunk.id for h in same.hits] == [h.chunk.id for h in plain.hits]


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_blank_query_is_an_input_error(query: str) -> None:
    store, emb = make_store()
    with pytest.raises(InputError, match="empty"):
        make_retriever(store, emb).search(query, tenant="default")


def test_bad_mode_k_or_filter_is_an_input_error() -> None:
    store, emb = make_store()
    retriever = make_retriever(store, emb)
    with pytest.raises(InputError, match="mode"):
        retriever.search("plans", tenant="default", mode="semantic")
    with pytest.raises(InputError):
        retriever.search("plans", tenant="default", k=0)
    with pytest.raises(InputError):
        retriever.search("plans", tenant="default", filters=["no operator here"])


def test_query_without_keywords_still_searches_densely() -> None:
    store, emb = make_store()
    result = make_retriever(store, emb).search("what is the", tenant="default", k=2)
    assert len(result.hits) == 2 and all(set(h.ranks) == {"dense"} for h in result.hits)


def test_public_names() -> None:
    assert set(ragline.retrieve.__all__) >= {
        "Retriever",
        "SearchResult",
        "rrf_fuse",
        "weighted_fuse",
        "mmr_select",
        "plan_routing",
        "apply_boosts",
    }
    for name in ragline.retrieve.__all__:
        assert hasattr(ragline.retrieve, name)
