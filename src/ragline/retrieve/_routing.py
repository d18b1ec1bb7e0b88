"""Routing rules: a regular expression on the query boosts or filters hits.

A rule from ``ragline.yaml``::

    routing:
      - name: finance-boost
        when: {query_matches: '(\\$|€|£)\\s?\\d|\\bUSD\\b'}
        boost: {doc_type: finance, factor: 1.5}
      - name: legal-only
        when: {query_matches: '\\bcontract\\b'}
        filter: {doc_type: [legal, policy]}

The regex is searched case-insensitively. ``boost`` multiplies the fused score of
hits whose fields all match (built-in chunk fields such as ``doc_type`` or
``language``, else metadata) and re-sorts; ``filter`` adds conditions to the search
itself (a list value means "any of"). :func:`plan_routing` says which rules fired so
the trace can record them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ragline.config import RoutingRule
from ragline.store import Condition, matches
from ragline.types import Hit


@dataclass(frozen=True, slots=True)
class Boost:
    """Multiply the score of hits matching every condition by ``factor``."""

    rule: str
    conditions: tuple[Condition, ...]
    factor: float


@dataclass(slots=True)
class RoutingPlan:
    """What the rules that matched a query ask for."""

    fired: list[str] = field(default_factory=list)
    filters: list[Condition] = field(default_factory=list)
    boosts: list[Boost] = field(default_factory=list)


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def conditions_from(fields: Mapping[str, Any]) -> list[Condition]:
    """``{doc_type: finance, lang: [en, es]}`` → ``doc_type = finance``, ``lang in (en, es)``."""
    out: list[Condition] = []
    for name, value in fields.items():
        if isinstance(value, (list, tuple, set, frozenset)):
            out.append(Condition(name, "in", tuple(value)))
        else:
            out.append(Condition(name, "eq", value))
    return out


def rule_fires(rule: RoutingRule, query: str) -> bool:
    return _compiled(rule.when.query_matches).search(query) is not None


def plan_routing(query: str, rules: Sequence[RoutingRule]) -> RoutingPlan:
    """Evaluate every rule against the query, in order; collect filters and boosts."""
    plan = RoutingPlan()
    for rule in rules:
        if not rule_fires(rule, query):
            continue
        plan.fired.append(rule.name)
        if rule.filter:
            plan.filters.extend(conditions_from(rule.filter))
        if rule.boost is not None:
            plan.boosts.append(
                Boost(rule.name, tuple(conditions_from(rule.boost.fields())), rule.boost.factor)
            )
    return plan


def apply_boosts(hits: Sequence[Hit], boosts: Sequence[Boost]) -> list[Hit]:
    """Multiply matching hits' fused scores (factors compound) and re-sort, best first.

    The sort is stable, so hits with equal scores keep their fused order.
    """
    if not boosts:
        return list(hits)
    out: list[Hit] = []
    for hit in hits:
        factor = 1.0
        for boost in boosts:
            if matches(hit.chunk, boost.conditions):
                factor *= boost.factor
        if factor != 1.0:
            hit = Hit(
                chunk=hit.chunk,
                score=hit.score * factor,
                scores={**hit.scores, "boost": factor},
                ranks=dict(hit.ranks),
            )
        out.append(hit)
    out.sort(key=lambda h: -h.score)
    return out
