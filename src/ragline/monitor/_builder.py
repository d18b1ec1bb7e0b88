"""Turn one finished ask trace into rollup increments (one :class:`RollupRow` per metric).

Read from the spans the pipeline writes (see ``ragline traces show``), keyed by the
minute the ask started, its tenant and its route:

- ``route``: the routing rules that fired (``ragline.routing.rules_fired`` of the
  analysis span), comma-joined in rule order; ``""`` when none fired. A rule's
  ``filter: {route: NAME}`` matches every ask that rule fired on.
- rate metrics (``errors``, ``timeouts``, ``abstentions``, ``guard_triggers``,
  ``cross_language``, ``cache_hits``, ``shed``) get ``count`` 1 per ask the metric
  can be judged on and ``total`` 1 when its condition held;
- distributions (``latency`` overall and per stage — ``label`` the stage span's name
  without ``ragline.`` —, ``top1_score``, ``mean_score``) also fill the histogram;
  the score metrics have ``label ""`` for the final hits and ``keyword``/``dense``
  for each retriever's own best score;
- ``tokens``/``cost`` one row per model (``label``) that a model span names;
- ``citation_support``: ``count`` the cited answer sentences, ``total`` those whose
  support is at least ``ragline.citations.min_support`` (0.45 when not recorded);
- ``cross_language``: judged when the question's language is known
  (``ragline.question.language``) and a final hit's language is: 1 when a top-k
  hit's or a cited chunk's language differs from the question's.

Timings come from the spans' durations (monotonic), so a wall clock that jumps only
moves an ask to another minute, never makes a latency negative.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ragline.store._rollups import RollupRow, minute_of
from ragline.store._traces import SpanRecord

QUESTION_LANGUAGE = "ragline.question.language"
DEFAULT_MIN_SUPPORT = 0.45
_HIST = frozenset({"latency", "top1_score", "mean_score", "quality", "agent_steps"})


class Rows:
    """Increments of one batch, merged by key as they are added."""

    def __init__(self) -> None:
        self.by_key: dict[tuple[int, str, str, str, str], RollupRow] = {}

    def row(self, minute: int, tenant: str, route: str, metric: str, label: str) -> RollupRow:
        key = (minute, tenant, route, metric, label)
        found = self.by_key.get(key)
        if found is None:
            found = self.by_key[key] = RollupRow(minute, tenant, route, metric, label)
        return found

    def observe(
        self, minute: int, tenant: str, route: str, metric: str, value: float, label: str = ""
    ) -> None:
        self.row(minute, tenant, route, metric, label).observe(value, histogram=metric in _HIST)

    def rows(self) -> list[RollupRow]:
        return list(self.by_key.values())


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def route_of(spans: Iterable[SpanRecord]) -> str:
    for s in spans:
        fired = s.attributes.get("ragline.routing.rules_fired")
        if isinstance(fired, list):
            return ",".join(str(f) for f in fired)
    return ""


def _hits(spans: Sequence[SpanRecord]) -> list[dict[str, Any]]:
    for s in spans:
        if s.kind == "retrieval":
            hits = s.attributes.get("ragline.hits")
            if isinstance(hits, list):
                return [h for h in hits if isinstance(h, dict)]
    return []


def _guard_triggered(root: SpanRecord, spans: Sequence[SpanRecord]) -> bool:
    if root.attributes.get("ragline.guard.blocked"):
        return True
    for s in spans:
        if s.kind != "guard":
            continue
        action = s.attributes.get("ragline.guard.action")
        if isinstance(action, str) and action != "allow":
            return True
        for key in ("ragline.guard.dropped", "ragline.guard.quoted", "ragline.guard.flagged"):
            if s.attributes.get(key):
                return True
    return False


def _timed_out(root: SpanRecord) -> bool:
    if root.attributes.get("ragline.timed_out"):
        return True
    kind = root.attributes.get("error.type")
    return root.status == "error" and isinstance(kind, str) and "Timeout" in kind


def _citations(spans: Sequence[SpanRecord]) -> tuple[int, int] | None:
    """(cited sentences, supported ones) of the answer, or None when it has none."""
    threshold = DEFAULT_MIN_SUPPORT
    sentences: list[Any] | None = None
    for s in spans:
        found = _number(s.attributes.get("ragline.citations.min_support"))
        if found is not None:
            threshold = found
        if s.kind == "answer" and isinstance(s.attributes.get("ragline.sentences"), list):
            sentences = s.attributes["ragline.sentences"]
    if not sentences:
        return None
    cited = supported = 0
    for item in sentences:
        if not isinstance(item, dict) or not item.get("citations"):
            continue
        cited += 1
        support = _number(item.get("support"))
        if support is not None and support >= threshold:
            supported += 1
    return (cited, supported) if cited else None


def _cross_language(root: SpanRecord, hits: list[dict[str, Any]]) -> bool | None:
    """Whether a top-k hit (cited ones are among them) is in another language than the
    question; None when either language is unknown."""
    asked = root.attributes.get(QUESTION_LANGUAGE)
    if not isinstance(asked, str) or not asked:
        return None
    known = [lang for h in hits if isinstance(lang := h.get("language"), str) and lang]
    if not known:
        return None
    return any(lang != asked for lang in known)


def add_ask(out: Rows, root: SpanRecord, children: Sequence[SpanRecord]) -> None:
    """Add the increments of one ``ragline.ask`` trace (root span + its other spans)."""
    minute = minute_of(root.start)
    tenant = root.tenant
    route = route_of(children)
    failed = root.status == "error"

    def rate(metric: str, held: bool) -> None:
        out.observe(minute, tenant, route, metric, 1.0 if held else 0.0)

    out.observe(minute, tenant, route, "requests", 1.0)
    rate("errors", failed)
    rate("timeouts", _timed_out(root))
    rate("shed", False)
    out.observe(minute, tenant, route, "latency", max(0.0, root.duration_ms))
    for s in children:
        if s.parent_id == root.span_id:
            stage = s.name.removeprefix("ragline.")
            out.observe(minute, tenant, route, "latency", max(0.0, s.duration_ms), stage)
    rate("guard_triggers", _guard_triggered(root, children))
    generate = [s for s in children if s.name == "ragline.generate"]
    if generate:
        rate("cache_hits", any(s.attributes.get("ragline.cached") is True for s in generate))
    for s in children:
        if s.kind != "model":
            continue
        model = s.attributes.get("gen_ai.response.model") or s.attributes.get(
            "gen_ai.request.model"
        )
        label = str(model) if model else "unknown"
        tokens = [
            _number(s.attributes.get(k))
            for k in ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens")
        ]
        if any(t is not None for t in tokens):
            out.observe(minute, tenant, route, "tokens", sum(t or 0.0 for t in tokens), label)
        cost = _number(s.attributes.get("ragline.cost_usd"))
        if cost is not None:
            out.observe(minute, tenant, route, "cost", cost, label)
    if failed:
        return  # no answer: abstention, scores and citations are not judged
    abstained = root.attributes.get("ragline.abstained")
    if isinstance(abstained, bool):
        rate("abstentions", abstained)
    hits = _hits(children)
    scores = [x for h in hits if (x := _number(h.get("score"))) is not None]
    if scores:
        out.observe(minute, tenant, route, "top1_score", scores[0])
        out.observe(minute, tenant, route, "mean_score", sum(scores) / len(scores))
    for s in children:
        if s.kind == "retriever":
            top = s.attributes.get("ragline.retriever.top")
            name = s.attributes.get("ragline.retriever")
            if isinstance(top, list) and top and isinstance(top[0], dict) and name:
                best = [x for t in top if (x := _number(t.get("score"))) is not None]
                if best:
                    out.observe(minute, tenant, route, "top1_score", best[0], str(name))
                    mean = sum(best) / len(best)
                    out.observe(minute, tenant, route, "mean_score", mean, str(name))
    cross = _cross_language(root, hits)
    if cross is not None:
        rate("cross_language", cross)
    if abstained is not True:
        cited = _citations(children)
        if cited is not None:
            row = out.row(minute, tenant, route, "citation_support", "")
            row.count += cited[0]
            row.total += cited[1]
            share = cited[1] / cited[0]
            row.max = share if row.max is None else max(row.max, share)


def is_ask(span: SpanRecord) -> bool:
    return span.parent_id is None and span.kind == "ask"


__all__ = ["QUESTION_LANGUAGE", "Rows", "add_ask", "is_ask", "route_of"]
