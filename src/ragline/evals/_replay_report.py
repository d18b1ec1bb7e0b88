"""What a replay reports: which asks to replay, each ask then and now, and the counts.

Plain records (see :mod:`ragline.evals._replay` for how they are filled in); every one
has ``to_dict()`` for ``ragline replay --json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ragline.retrieve._explain import RuleMatch

Verdict = Literal["improved", "worsened", "unresolved"]


@dataclass(slots=True)
class ReplayQuery:
    """Which traced asks to replay (every filter optional; all given must hold)."""

    since: float | None = None
    until: float | None = None
    tenant: str | None = None
    feedback: str | None = None  #: only traces with feedback of this kind
    rule: str | None = None  #: only asks on which this routing rule fired then or fires now
    text: str | None = None  #: text in the question or the answer
    trace_ids: Sequence[str] = ()  #: these traces (full ids or unique prefixes)
    sample: int | None = None  #: a random sample of this many (seeded)
    seed: int = 0
    limit: int = 1_000_000


@dataclass(frozen=True, slots=True)
class Skipped:
    """A trace replay could not re-run, and why."""

    trace_id: str
    question: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"trace_id": self.trace_id, "question": self.question, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class DocumentChange:
    """A chunk the trace retrieved that is not the same in the store now."""

    chunk_id: str
    document_id: str
    change: Literal["deleted", "changed"]

    def to_dict(self) -> dict[str, Any]:
        return {"chunk_id": self.chunk_id, "document_id": self.document_id, "change": self.change}


@dataclass(slots=True)
class Side:
    """One run of an ask: as the trace recorded it (``then``) or replayed (``now``)."""

    rules: list[str] = field(default_factory=list)
    chunk_ids: list[str] = field(default_factory=list)  #: retrieved, in rank order
    document_ids: list[str] = field(default_factory=list)  #: of those, first-seen order
    answer: str | None = None
    citations: list[str] = field(default_factory=list)  #: cited chunk ids
    abstained: bool | None = None
    support: float | None = None
    relevance: float | None = None  #: cosine of question and answer (reference-free)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rules": list(self.rules),
            "chunk_ids": list(self.chunk_ids),
            "document_ids": list(self.document_ids),
            "answer": self.answer,
            "citations": list(self.citations),
            "abstained": self.abstained,
            "support": self.support,
            "answer_relevance": self.relevance,
        }


@dataclass(frozen=True, slots=True)
class RankChange:
    """A document in both top-k lists at different ranks (its best-ranked chunk)."""

    document_id: str
    before: int
    after: int

    def to_dict(self) -> dict[str, Any]:
        return {"document_id": self.document_id, "before": self.before, "after": self.after}


@dataclass(slots=True)
class ReplayedAsk:
    """One past ask, then and now, and what differs."""

    trace_id: str
    tenant: str
    question: str
    started: float
    then: Side
    now: Side
    rule_matches: list[RuleMatch] = field(default_factory=list)  #: now: every rule that fired
    feedback: list[str] = field(default_factory=list)
    documents_changed: list[DocumentChange] = field(default_factory=list)
    verdict: Verdict | None = None
    verdict_reason: str | None = None
    retrieval_only: bool = False

    @property
    def rules_changed(self) -> bool:
        return self.then.rules != self.now.rules

    @property
    def retrieval_changed(self) -> bool:
        return self.then.chunk_ids != self.now.chunk_ids

    @property
    def gained(self) -> list[str]:
        """Documents in the top k now that were not then."""
        return [d for d in self.now.document_ids if d not in self.then.document_ids]

    @property
    def lost(self) -> list[str]:
        return [d for d in self.then.document_ids if d not in self.now.document_ids]

    @property
    def rank_changes(self) -> list[RankChange]:
        before = {d: i + 1 for i, d in enumerate(self.then.document_ids)}
        out = []
        for i, d in enumerate(self.now.document_ids):
            if d in before and before[d] != i + 1:
                out.append(RankChange(d, before[d], i + 1))
        return out

    @property
    def answer_changed(self) -> bool:
        return not self.retrieval_only and self.then.answer != self.now.answer

    @property
    def citations_changed(self) -> bool:
        return not self.retrieval_only and self.then.citations != self.now.citations

    @property
    def abstention_changed(self) -> bool:
        return not self.retrieval_only and self.then.abstained != self.now.abstained

    @property
    def changed(self) -> bool:
        """What the user would notice: the hits, the answer, its citations or whether it
        abstained (a rule that fires but moves nothing is shown, not counted)."""
        return (
            self.retrieval_changed
            or self.answer_changed
            or self.citations_changed
            or self.abstention_changed
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "trace_id": self.trace_id,
            "tenant": self.tenant,
            "question": self.question,
            "started": self.started,
            "changed": self.changed,
            "changes": {
                "rules": self.rules_changed,
                "retrieval": self.retrieval_changed,
                "answer": self.answer_changed,
                "citations": self.citations_changed,
                "abstention": self.abstention_changed,
            },
            "documents_gained": self.gained,
            "documents_lost": self.lost,
            "rank_changes": [r.to_dict() for r in self.rank_changes],
            "rule_matches": [m.to_dict() for m in self.rule_matches],
            "then": self.then.to_dict(),
            "now": self.now.to_dict(),
            "feedback": list(self.feedback),
            "documents_changed": [d.to_dict() for d in self.documents_changed],
            "verdict": self.verdict,
            "verdict_reason": self.verdict_reason,
        }


@dataclass(slots=True)
class ReplayReport:
    """Every replayed ask, what could not be replayed, and the configuration used."""

    config: dict[str, Any]  #: the candidate: ``overrides`` and ``config_file``
    retrieval_only: bool
    asks: list[ReplayedAsk] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def changed(self) -> list[ReplayedAsk]:
        return [a for a in self.asks if a.changed]

    def counts(self) -> dict[str, int]:
        verdicts = [a.verdict for a in self.asks]
        return {
            "replayed": len(self.asks),
            "changed": sum(a.changed for a in self.asks),
            "unchanged": sum(not a.changed for a in self.asks),
            "rules_changed": sum(a.rules_changed for a in self.asks),
            "retrieval_changed": sum(a.retrieval_changed for a in self.asks),
            "answer_changed": sum(a.answer_changed for a in self.asks),
            "improved": verdicts.count("improved"),
            "worsened": verdicts.count("worsened"),
            "unresolved": verdicts.count("unresolved"),
            "documents_changed": sum(bool(a.documents_changed) for a in self.asks),
            "skipped": len(self.skipped),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "retrieval_only": self.retrieval_only,
            "counts": self.counts(),
            "asks": [a.to_dict() for a in self.asks],
            "skipped": [s.to_dict() for s in self.skipped],
        }


__all__ = [
    "DocumentChange",
    "RankChange",
    "ReplayQuery",
    "ReplayReport",
    "ReplayedAsk",
    "Side",
    "Skipped",
    "Verdict",
]
