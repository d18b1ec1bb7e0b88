"""Retrieval: keyword ∥ dense search, fusion (RRF / weighted), routing rules, MMR."""

from ragline.retrieve._explain import (
    RankedHit,
    RoutingExplanation,
    RuleMatch,
    explain_routing,
    match_rules,
)
from ragline.retrieve._fusion import min_max, rrf_fuse, single_leg, weighted_fuse
from ragline.retrieve._mmr import mmr_select
from ragline.retrieve._retriever import MODES, Mode, Retriever, SearchResult
from ragline.retrieve._routing import Boost, RoutingPlan, apply_boosts, plan_routing

__all__ = [
    "MODES",
    "Boost",
    "Mode",
    "RankedHit",
    "Retriever",
    "RoutingExplanation",
    "RoutingPlan",
    "RuleMatch",
    "SearchResult",
    "apply_boosts",
    "explain_routing",
    "match_rules",
    "min_max",
    "mmr_select",
    "plan_routing",
    "rrf_fuse",
    "single_leg",
    "weighted_fuse",
]
