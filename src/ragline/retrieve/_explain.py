"""Explain routing: which rules match a query, on which words, and what they did to the
ranking.

>>> explanation = explain_routing(retriever, "Shipping on an order over EUR 100?",  # doctest: +SKIP
...                               tenant="default")
>>> [(m.rule, m.matched) for m in explanation.matches if m.fired]              # doctest: +SKIP
[('currency', 'EUR')]

:func:`match_rules` evaluates every rule against the query and says, for each, whether
it fired and on which span of the query (the first match of its regex, as the
retriever sees it). :func:`explain_routing` searches twice through the same
:class:`~ragline.retrieve.Retriever`: once with the routing rules that fired and once
without them (the request's filters and the tenant's languages still apply), and lines
up the two rankings. A hit's ``rules`` are the boosts that multiplied its score; a hit
only the unrouted search found and that a routing filter excludes lists that filter's
rule in ``filtered_by``. Document metadata the question names (organisation, period,
document type; see :mod:`ragline.retrieve._metadata_match`) shows as rules named
``metadata:KEY`` and counts as routing here. Nothing is traced: explaining a query is
not an ask.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ragline.config import RoutingRule
from ragline.retrieve._retriever import QueryPlan, Retriever
from ragline.retrieve._routing import RoutingPlan, _compiled, conditions_from
from ragline.store import Condition, matches
from ragline.trace._tracer import NOOP_SPAN, activate
from ragline.types import Hit


@dataclass(frozen=True, slots=True)
class RuleMatch:
    """One routing rule judged against one query."""

    rule: str
    pattern: str
    fired: bool
    matched: str | None = None  #: the query text the pattern matched (its first match)
    start: int | None = None  #: where in the query the match starts (character offset)
    end: int | None = None
    action: str = ""  #: what the rule does: ``boost doc_type=finance x1.5``, ``filter …``

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "pattern": self.pattern,
            "fired": self.fired,
            "matched": self.matched,
            "start": self.start,
            "end": self.end,
            "action": self.action,
        }


def describe_action(rule: RoutingRule) -> str:
    """``boost doc_type=finance x1.5; filter doc_type in [legal, policy]``."""
    parts: list[str] = []
    if rule.boost is not None:
        fields = " ".join(f"{k}={_value(v)}" for k, v in rule.boost.fields().items())
        parts.append(f"boost {fields} x{rule.boost.factor:g}")
    if rule.filter:
        fields = " ".join(f"{k}={_value(v)}" for k, v in rule.filter.items())
        parts.append(f"filter {fields}")
    return "; ".join(parts)


def _value(v: Any) -> str:
    if isinstance(v, (list, tuple, set, frozenset)):
        return "|".join(str(x) for x in v)
    return str(v)


def match_rules(query: str, rules: Sequence[RoutingRule]) -> list[RuleMatch]:
    """Every rule, in order, with whether it fires on ``query`` and on which words."""
    out: list[RuleMatch] = []
    for rule in rules:
        pattern = rule.when.query_matches
        found = _compiled(pattern).search(query)
        action = describe_action(rule)
        if found is None:
            out.append(RuleMatch(rule.name, pattern, False, action=action))
        else:
            out.append(
                RuleMatch(
                    rule.name,
                    pattern,
                    True,
                    matched=found.group(0),
                    start=found.start(),
                    end=found.end(),
                    action=action,
                )
            )
    return out


def metadata_rule_matches(plan: QueryPlan) -> list[RuleMatch]:
    """The metadata values the question named, as rules that fired (``metadata:KEY``)."""
    out: list[RuleMatch] = []
    meta = plan.metadata
    for m in meta.matches:
        values = "|".join(m.values)
        if any(c.field == m.key for c in meta.filters):
            action = f"filter {m.key}={values}"
        else:
            factor = next((b.factor for b in meta.boosts if b.rule == f"metadata:{m.key}"), 1.0)
            action = f"boost {m.key}={values} x{factor:g}"
        out.append(
            RuleMatch(f"metadata:{m.key}", "(document metadata)", True, m.words, action=action)
        )
    return out


@dataclass(frozen=True, slots=True)
class RankedHit:
    """One chunk in the routed and/or the unrouted ranking (ranks from 1; None: not in
    that top k)."""

    chunk_id: str
    document_id: str
    title: str
    doc_type: str | None
    before: int | None  #: rank without routing
    after: int | None  #: rank with the rules that fired
    boost: float = 1.0  #: the factor its score was multiplied by (factors compound)
    rules: tuple[str, ...] = ()  #: the boosting rules that matched this chunk
    filtered_by: tuple[str, ...] = ()  #: routing filters that exclude it

    @property
    def moved(self) -> int | None:
        """Places gained (positive) or lost; None when it is in only one ranking."""
        if self.before is None or self.after is None:
            return None
        return self.before - self.after

    def to_dict(self) -> dict[str, Any]:
        return {
            "chunk_id": self.chunk_id,
            "document_id": self.document_id,
            "title": self.title,
            "doc_type": self.doc_type,
            "before": self.before,
            "after": self.after,
            "boost": self.boost,
            "rules": list(self.rules),
            "filtered_by": list(self.filtered_by),
        }


@dataclass(slots=True)
class RoutingExplanation:
    """What ``ragline routing test`` prints."""

    query: str
    tenant: str
    k: int
    matches: list[RuleMatch]
    hits: list[RankedHit] = field(default_factory=list)

    @property
    def fired(self) -> list[str]:
        return [m.rule for m in self.matches if m.fired]

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "tenant": self.tenant,
            "k": self.k,
            "rules": [m.to_dict() for m in self.matches],
            "fired": self.fired,
            "hits": [h.to_dict() for h in self.hits],
        }


def explain_routing(
    retriever: Retriever,
    query: str,
    *,
    tenant: str,
    k: int | None = None,
    filters: Sequence[Condition] = (),
) -> RoutingExplanation:
    """The rules that match ``query`` and the top ``k`` hits with and without them."""
    rules = retriever.settings.routing
    found = match_rules(query, rules)
    plan = retriever.analyze(query, tenant=tenant, filters=filters)
    found += metadata_rule_matches(plan)
    routed_filters = [*plan.routing.filters, *plan.metadata.filters]
    unrouted = QueryPlan(
        [c for c in plan.conditions if c not in routed_filters],
        RoutingPlan(),
        plan.languages,
        plan.language_conditions,
    )
    with activate(NOOP_SPAN):  # explaining is not an ask: nothing is traced
        after = retriever.fetch(query, tenant=tenant, plan=plan, k=k)
        before = retriever.fetch(query, tenant=tenant, plan=unrouted, k=k)
    by_rule = {r.name: r for r in rules}
    filters_of = {
        name: conditions_from(by_rule[name].filter or {})
        for name in plan.routing.fired
        if by_rule[name].filter
    }
    for cond in plan.metadata.filters:
        filters_of[f"metadata:{cond.field}"] = [cond]
    hits = _line_up(before.hits, after.hits, plan, filters_of)
    return RoutingExplanation(query, tenant, after.k, found, hits)


def _line_up(
    before: Sequence[Hit],
    after: Sequence[Hit],
    plan: QueryPlan,
    filters_of: dict[str, list[Condition]],
) -> list[RankedHit]:
    """The routed ranking first, then what only the unrouted one had."""
    rank_before = {h.chunk.id: i + 1 for i, h in enumerate(before)}
    rank_after = {h.chunk.id: i + 1 for i, h in enumerate(after)}
    out: list[RankedHit] = []
    for hit in [*after, *(h for h in before if h.chunk.id not in rank_after)]:
        chunk = hit.chunk
        boosting = tuple(b.rule for b in plan.boosts if matches(chunk, b.conditions))
        factor = 1.0
        for b in plan.boosts:
            if matches(chunk, b.conditions):
                factor *= b.factor
        excluded = tuple(name for name, conds in filters_of.items() if not matches(chunk, conds))
        out.append(
            RankedHit(
                chunk_id=chunk.id,
                document_id=chunk.document_id,
                title=chunk.title,
                doc_type=chunk.doc_type,
                before=rank_before.get(chunk.id),
                after=rank_after.get(chunk.id),
                boost=factor,
                rules=boosting,
                filtered_by=excluded,
            )
        )
    return out


__all__ = [
    "RankedHit",
    "RoutingExplanation",
    "RuleMatch",
    "describe_action",
    "explain_routing",
    "match_rules",
]
