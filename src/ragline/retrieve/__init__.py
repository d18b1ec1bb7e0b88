"""Retrieval: keyword ∥ dense search, fusion (RRF / weighted), routing rules, MMR."""

from ragline.retrieve._fusion import min_max, rrf_fuse, single_leg, weighted_fuse
from ragline.retrieve._mmr import mmr_select
from ragline.retrieve._retriever import MODES, Mode, Retriever, SearchResult
from ragline.retrieve._routing import Boost, RoutingPlan, apply_boosts, plan_routing

__all__ = [
    "MODES",
    "Boost",
    "Mode",
    "Retriever",
    "RoutingPlan",
    "SearchResult",
    "apply_boosts",
    "min_max",
    "mmr_select",
    "plan_routing",
    "rrf_fuse",
    "single_leg",
    "weighted_fuse",
]
