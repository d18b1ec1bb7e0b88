"""Hybrid retrieval: keyword (BM25) ∥ dense, filters, fusion, routing rules, MMR."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from ragline._time import elapsed_ms
from ragline.config import Settings
from ragline.embed._base import Embedder
from ragline.embed._query_cache import QUERY_CACHE_SIZE, QueryVectorCache
from ragline.errors import InputError
from ragline.ingest._enrich import DOC_LANGUAGE_KEY, MIXED_LANGUAGES_KEY
from ragline.retrieve._fusion import rrf_fuse, single_leg, weighted_fuse
from ragline.retrieve._metadata_match import (
    MetadataIndex,
    MetadataPlan,
    match_metadata,
    plan_metadata,
)
from ragline.retrieve._mmr import mmr_select
from ragline.retrieve._routing import Boost, RoutingPlan, apply_boosts, plan_routing
from ragline.store import Condition, ScoredChunk, Store, Vector, parse_filter
from ragline.store._filters import condition_matches, field_value
from ragline.store._plan import collect_plan
from ragline.trace import _attrs
from ragline.trace._tracer import NoopSpan, Span, span
from ragline.types import Hit

Mode = Literal["hybrid", "keyword", "dense"]
MODES: tuple[str, ...] = get_args(Mode)

#: how many fused hits MMR chooses from, as a multiple of k (at least 20)
MMR_POOL_FACTOR = 4


@dataclass(slots=True)
class SearchResult:
    """The hits for a query and how they were found (for tracing and debugging)."""

    query: str
    tenant: str
    mode: Mode
    hits: list[Hit]
    timings_ms: dict[str, float] = field(default_factory=dict)
    rules_fired: list[str] = field(default_factory=list)
    filters: list[Condition] = field(default_factory=list)
    query_vector: Vector | None = None
    k: int = 0  #: how many hits were asked for


@dataclass(slots=True)
class QueryPlan:
    """What analysis decided for a query: every condition the hits must meet (the
    request's filters, the tenant's languages, routing filters) and the routing plan
    (rules fired, boosts)."""

    conditions: list[Condition]
    routing: RoutingPlan
    languages: list[str] = field(default_factory=list)
    language_conditions: list[Condition] = field(default_factory=list)
    #: the tenant's metadata values the question names, and the boosts/filters they add
    metadata: MetadataPlan = field(default_factory=MetadataPlan)

    @property
    def boosts(self) -> list[Boost]:
        """Every boost to apply to the fused hits: routing rules', then metadata's."""
        return [*self.routing.boosts, *self.metadata.boosts]


def language_filter(
    allowed: Sequence[str], detected: Sequence[str], *, scope: str = "document"
) -> list[Condition]:
    """The conditions a tenant's ``languages`` add: the chunk's language is allowed and,
    at document scope, neither its document's language nor any language it has
    substantial (mixed) text in is one of the other languages the detector knows.

    Written as ``!=`` conditions so chunks ingested before documents had a language
    (no ``ragline.doc_language``) still pass on their own language; every store
    evaluates them (pushed into SQL where it can), before top-k.
    """
    if not allowed:
        return []
    out = [Condition("language", "in", tuple(allowed))]
    if scope == "document":
        ok = {a.lower() for a in allowed}
        for code in sorted({d.strip().lower() for d in detected} - ok):
            out.append(Condition(DOC_LANGUAGE_KEY, "ne", code))
            out.append(Condition(MIXED_LANGUAGES_KEY, "ne", code))
    return out


def language_exclusions(
    chunks: Sequence[ScoredChunk], conditions: Sequence[Condition]
) -> dict[str, int]:
    """How many of ``chunks`` the language ``conditions`` exclude, by the first reason:
    the chunk's own language, its document's, or its mixed text."""
    out = {"chunk": 0, "doc": 0, "mixed": 0}
    reasons = {"language": "chunk", DOC_LANGUAGE_KEY: "doc", MIXED_LANGUAGES_KEY: "mixed"}
    for sc in chunks:
        for cond in conditions:
            if not condition_matches(field_value(sc.chunk, cond.field), cond):
                out[reasons.get(cond.field, "chunk")] += 1
                break
    return out


class Retriever:
    """Search a store for a query, per tenant, as ``settings.retrieval`` says.

    >>> retriever = Retriever(store, embedder, settings)        # doctest: +SKIP
    >>> result = retriever.search("warranty period", tenant="acme")  # doctest: +SKIP
    >>> result.hits[0].scores                                  # doctest: +SKIP
    {'keyword': 7.2, 'dense': 0.61}

    Query vectors are cached per tenant (an LRU of ``query_cache_size`` entries, 0 turns
    it off), so a question asked again skips the embedder; the ``ragline.embed_query``
    span says whether it was cached.
    """

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        settings: Settings,
        *,
        query_cache_size: int = QUERY_CACHE_SIZE,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self.query_cache = QueryVectorCache(query_cache_size)
        self.metadata_index = MetadataIndex(store)

    def search(
        self,
        query: str,
        *,
        tenant: str,
        k: int | None = None,
        filters: Sequence[Condition | str] = (),
        mode: str | None = None,
    ) -> SearchResult:
        """Top ``k`` hits for ``query`` in ``tenant``'s chunks: :meth:`analyze`, then
        :meth:`fetch`, traced as one ``ragline.retrieve`` span.

        ``filters`` are :class:`Condition` objects or expressions such as
        ``"doc_type=finance"``; all must hold. Raises :class:`InputError` for a blank
        query, an unknown mode or a bad filter.
        """
        conditions = [parse_filter(f) if isinstance(f, str) else f for f in filters]
        with span("ragline.retrieve", "retrieval") as sp:
            with span("ragline.query_analysis", "analysis") as analysis:
                plan = self.analyze(query, tenant=tenant, filters=conditions)
                if analysis.is_recording:
                    analysis.update(analysis_attributes(plan))
            result = self.fetch(query, tenant=tenant, k=k, mode=mode, plan=plan)
            if sp.is_recording:
                sp.update(retrieval_attributes(result))
                if plan.language_conditions:
                    sp.update(self._language_probe(query, tenant, plan))
        return result

    def analyze(self, query: str, *, tenant: str, filters: Sequence[Condition] = ()) -> QueryPlan:
        """The conditions and boosts for ``query``: the request's filters, the tenant's
        languages, and what the routing rules that match it ask for."""
        conditions = list(filters)
        settings = self.settings.tenant(tenant)
        languages = list(settings.languages or [])
        language_conditions = language_filter(
            languages, self.settings.ingest.languages, scope=settings.language_scope
        )
        conditions.extend(language_conditions)
        routing = plan_routing(query, self.settings.routing)
        conditions.extend(routing.filters)
        metadata = self._metadata_plan(query, tenant)
        conditions.extend(metadata.filters)
        return QueryPlan(conditions, routing, languages, language_conditions, metadata)

    def _metadata_plan(self, query: str, tenant: str) -> MetadataPlan:
        rs = self.settings.retrieval
        if rs.metadata_match == "off":
            return MetadataPlan()
        found = match_metadata(query, self.metadata_index.values(tenant))
        return plan_metadata(found, mode=rs.metadata_match, factor=rs.metadata_boost)

    def _language_probe(self, query: str, tenant: str, plan: QueryPlan) -> dict[str, Any]:
        """For the trace: the keyword candidates without the language conditions, and how
        many of them those conditions excluded and why (one extra keyword search)."""
        others = [c for c in plan.conditions if c not in plan.language_conditions]
        n = max(self.settings.retrieval.candidates, self.settings.retrieval.k)
        probed = self.store.keyword_search(tenant, query, k=n, filters=others)
        excluded = language_exclusions(probed, plan.language_conditions)
        attrs: dict[str, Any] = {"ragline.language.probed": len(probed)}
        attrs.update({f"ragline.language.excluded.{r}": v for r, v in excluded.items()})
        return attrs

    def fetch(
        self,
        query: str,
        *,
        tenant: str,
        plan: QueryPlan,
        k: int | None = None,
        mode: str | None = None,
    ) -> SearchResult:
        """Keyword ∥ dense legs under ``plan``'s conditions, fused and boosted (then MMR)."""
        rs = self.settings.retrieval
        if not query or not query.strip():
            raise InputError("the query is empty", hint="ask a question with some words in it")
        chosen = mode or rs.mode
        if chosen not in MODES:
            raise InputError(
                f"unknown retrieval mode {chosen!r}", hint=f"use one of: {', '.join(MODES)}"
            )
        run_mode: Mode = chosen  # type: ignore[assignment]
        top_k = rs.k if k is None else k
        if top_k < 1:
            raise InputError(f"k must be at least 1 (got {top_k})")
        conditions = plan.conditions
        boosts = plan.boosts

        timings: dict[str, float] = {}
        n_candidates = max(rs.candidates, top_k)
        query_vector: Vector | None = None
        if run_mode != "keyword" or rs.mmr:
            start = time.perf_counter()
            with span("ragline.embed_query", "embedding") as sp:
                query_vector, cached = self.query_cache.embed_query(
                    self.embedder, query, scope=tenant
                )
                if sp.is_recording:
                    sp.update({"ragline.embedder": self.embedder.name, "ragline.cached": cached})
            timings["embed_query"] = elapsed_ms(start)

        legs: dict[str, list[ScoredChunk]] = {}

        def leg(name: str, search: Callable[..., list[ScoredChunk]], needle: object) -> None:
            """One retriever's candidates, found in its own span and timed."""
            start = time.perf_counter()
            with span(f"ragline.retriever.{name}", "retriever") as sp, collect_plan() as plan:
                legs[name] = search(tenant, needle, k=n_candidates, filters=conditions)
                if sp.is_recording:
                    _leg_attrs(sp, name, n_candidates, legs[name])
                    sp.update(plan)  # how the store searched (exact or ANN), if it says
            timings[name] = elapsed_ms(start)

        if run_mode in ("hybrid", "keyword"):
            leg("keyword", self.store.keyword_search, query)
        if run_mode in ("hybrid", "dense"):
            assert query_vector is not None
            leg("dense", self.store.vector_search, query_vector)

        start = time.perf_counter()
        with span("ragline.fusion", "fusion") as sp:
            if run_mode == "hybrid":
                if rs.fusion == "weighted":
                    weights = {"keyword": rs.keyword_weight, "dense": rs.dense_weight}
                    hits = weighted_fuse(legs, weights)
                else:
                    hits = rrf_fuse(legs, k=rs.rrf_k)
                method: str = rs.fusion
            else:
                ((leg_name, results),) = legs.items()
                hits = single_leg(leg_name, results)
                method = "single"
            hits = apply_boosts(hits, boosts)
            if sp.is_recording:
                sp.update(
                    {
                        "ragline.fusion.method": method,
                        "ragline.fusion.boosts": len(boosts),
                        "ragline.hits.count": len(hits),
                        "ragline.fusion.top": _attrs.hits(hits),
                    }
                )
        timings["fusion"] = elapsed_ms(start)

        if rs.mmr and len(hits) > 1:
            start = time.perf_counter()
            with span("ragline.mmr", "rerank") as sp:
                pool = hits[: max(top_k * MMR_POOL_FACTOR, 20)]
                vectors = self.store.get_embeddings(tenant, [h.chunk.id for h in pool])
                hits = mmr_select(pool, vectors, k=top_k, lambda_=rs.mmr_lambda)
                if sp.is_recording:
                    sp.update(
                        {
                            "ragline.mmr.lambda": rs.mmr_lambda,
                            "ragline.mmr.pool": len(pool),
                            "ragline.mmr.selected": _attrs.hits(hits),
                        }
                    )
            timings["mmr"] = elapsed_ms(start)
        else:
            hits = hits[:top_k]

        return SearchResult(
            query=query,
            tenant=tenant,
            mode=run_mode,
            hits=hits,
            timings_ms=timings,
            rules_fired=list(plan.routing.fired),
            filters=list(conditions),
            query_vector=query_vector,
            k=top_k,
        )


def analysis_attributes(plan: QueryPlan) -> dict[str, Any]:
    """What the ``ragline.query_analysis`` span records about a plan."""
    routing = plan.routing
    return {
        "ragline.query.languages": list(plan.languages),
        "ragline.routing.rules_fired": list(routing.fired),
        "ragline.routing.filters": [_attrs.condition(c) for c in routing.filters],
        "ragline.routing.boosts": [f"{b.rule} x{b.factor}" for b in routing.boosts],
        "ragline.metadata.mode": plan.metadata.mode,
        "ragline.metadata.matches": [m.describe() for m in plan.metadata.matches],
        "ragline.metadata.filters": [_attrs.condition(c) for c in plan.metadata.filters],
        "ragline.metadata.boosts": [
            " and ".join(_attrs.condition(c) for c in b.conditions) + f" x{b.factor}"
            for b in plan.metadata.boosts
        ],
    }


def retrieval_attributes(result: SearchResult) -> dict[str, Any]:
    """What the ``ragline.retrieve`` span records about a search."""
    return {
        "ragline.query": result.query,
        "ragline.retrieval.mode": result.mode,
        "ragline.retrieval.k": result.k,
        "ragline.retrieval.filters": [_attrs.condition(c) for c in result.filters],
        "ragline.routing.rules_fired": list(result.rules_fired),
        "ragline.hits": _attrs.hits(result.hits, text=True),
        "ragline.hits.count": len(result.hits),
    }


def _leg_attrs(sp: Span | NoopSpan, leg: str, candidates: int, results: list[ScoredChunk]) -> None:
    sp.update(
        {
            "ragline.retriever": leg,
            "ragline.retriever.candidates": candidates,
            "ragline.hits.count": len(results),
            "ragline.retriever.top": _attrs.scored_chunks(results),
        }
    )
