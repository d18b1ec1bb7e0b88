"""Replay past asks from their traces under another configuration, and say what changed.

>>> report = project.replay(feedback="hallucination",                     # doctest: +SKIP
...                         overrides={"routing": [currency_rule]})
>>> report.counts()["changed"], [a.question for a in report.changed()]   # doctest: +SKIP

How it works, and what it promises:

- **Which asks.** Root ``ragline.ask`` spans chosen by :class:`ReplayQuery` (time
  range, tenant, feedback kind, a routing rule that fired then or fires now, text in
  the question or answer, explicit trace ids, a seeded sample). Explicit ids that do
  not exist (for the tenant, when given) raise :class:`InputError` before anything runs.
- **What it compares.** Each ask is run again, with the request's ``k`` when it
  differed from the default then, under the candidate settings (the project's, with
  ``overrides`` or another config file), and compared with what its **trace recorded**:
  routing rules fired, the retrieved chunks (documents gained and lost in the top k,
  rank changes), the answer text, citations and abstention, and two reference-free
  scores (the answer's ``support`` and ``answer_relevance``, the cosine of question and
  answer). ``retrieval_only`` runs only the retrieval stages.
- **Read-only.** Replay searches the current store and writes nothing: no documents,
  no traces (the candidate's tracer is off), no feedback. Store and embedder cannot be
  changed by the candidate (the vectors in the store belong to the embedder).
- **Drift is named.** A chunk the trace retrieved that is gone now (its document
  deleted or re-chunked) or whose text or content hash differs is listed per ask in
  ``documents_changed``, so a change caused by new documents is not mistaken for the
  effect of the configuration.
- **What cannot be re-run is listed, not guessed.** A trace recorded with content
  tracing ``off`` kept no question; one recorded with ``redact`` whose question holds a
  redaction marker (``[email]``…) lost part of it. Those are in ``skipped`` with the
  reason; the rest run. (A redacted trace's answer is compared with the new answer
  redacted the same way.)
- **Verdicts.** ``improved``/``worsened`` only where something gives one: a case of
  ``cases`` made from the trace (gold documents found in the top k, ``must_contain``
  strings in the answer), else feedback (negative feedback and the ask now differs:
  ``improved``; still the same: ``unresolved``; marked ``good`` and now differs:
  ``worsened``).
"""

from __future__ import annotations

import ast
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ragline.errors import InputError
from ragline.evals._cases import final_hits, trace_facts
from ragline.retrieve._explain import RuleMatch, match_rules
from ragline.store._traces import Feedback, SpanRecord, TraceStore, search_text
from ragline.trace._feedback import resolve_trace_id, root_span

if TYPE_CHECKING:
    from ragline._parts import Parts
    from ragline.config import Settings
    from ragline.evals._types import Case
    from ragline.store import Condition, Store
    from ragline.types import Hit

Verdict = Literal["improved", "worsened", "unresolved"]
NEGATIVE_FEEDBACK = frozenset({"hallucination", "wrong_citation", "irrelevant"})
#: settings a replay cannot change: it searches the store as it is, with its vectors
FIXED_KEYS = ("store", "embedder")
_MARKER = re.compile(r"\[(email|phone|card|iban|ip|ssn|nino|dni|nie)\]")
_OFF = "[redacted: content tracing off"
_FILTER = re.compile(r"^(\S+) (eq|ne|in|gt|gte|lt|lte) (.+)$", re.S)


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


# ------------------------------------------------------------------ selecting traces


def select_traces(
    store: TraceStore, query: ReplayQuery, rules_now: Callable[[str, str], list[str]]
) -> list[list[SpanRecord]]:
    """The traces ``query`` names, oldest first (``rules_now(question, tenant)`` says
    which rules fire under the candidate, for ``query.rule``)."""
    if query.trace_ids:
        ids = list(
            dict.fromkeys(resolve_trace_id(store, t, tenant=query.tenant) for t in query.trace_ids)
        )
    else:
        found = store.list_traces(
            tenant=query.tenant,
            since=query.since,
            until=query.until,
            text=query.text or None,
            limit=1_000_000_000,
        )
        ids = [t.trace_id for t in found if t.name == "ragline.ask"]
    wanted = None
    if query.feedback is not None:
        from ragline.trace._feedback import check_kind

        kind = check_kind(query.feedback)
        wanted = {f.trace_id for f in store.list_feedback(tenant=query.tenant, kind=kind)}
    traces: list[list[SpanRecord]] = []
    for trace_id in ids:
        if wanted is not None and trace_id not in wanted:
            continue
        spans = store.get_trace(trace_id, tenant=query.tenant)
        if not spans:
            continue
        if query.trace_ids:  # explicit ids: the time and text filters still narrow
            root = root_span(spans)
            if query.since is not None and root.start < query.since:
                continue
            if query.until is not None and root.start > query.until:
                continue
            if query.text and query.text.lower() not in (search_text(root) or ""):
                continue
        if query.rule is not None:
            facts = trace_facts(spans)
            then = _rules_then(spans)
            now = rules_now(facts.question, facts.tenant) if facts.question else []
            if query.rule not in then and query.rule not in now:
                continue
        traces.append(spans)
    traces.sort(key=lambda spans: root_span(spans).start)
    if query.sample is not None and query.sample < len(traces):
        picked = sorted(random.Random(query.seed).sample(range(len(traces)), query.sample))
        traces = [traces[i] for i in picked]
    return traces[: query.limit]


def _rules_then(spans: Sequence[SpanRecord]) -> list[str]:
    for s in spans:
        value = s.attributes.get("ragline.routing.rules_fired")
        if isinstance(value, list):
            return [str(v) for v in value]
    return []


def _attribute(spans: Sequence[SpanRecord], key: str) -> Any:
    root = root_span(list(spans))
    if key in root.attributes:
        return root.attributes[key]
    for s in spans:
        if key in s.attributes:
            return s.attributes[key]
    return None


def why_not_replayable(spans: Sequence[SpanRecord]) -> str | None:
    """Why a trace cannot be re-run (None when it can)."""
    root = root_span(list(spans))
    if root.name != "ragline.ask":
        return f"it is a {root.name!r} trace, not an ask"
    question = root.attributes.get("ragline.question")
    mode = root.attributes.get("ragline.content")
    if mode == "off" or (isinstance(question, str) and question.startswith(_OFF)):
        return "recorded with content tracing off: the question was not kept"
    if not isinstance(question, str) or not question.strip():
        return "the trace has no question"
    if mode == "redact" and _MARKER.search(question):
        return "recorded with content tracing redact: part of the question was masked"
    if root.attributes.get("ragline.message") is not None:
        return "a chat turn: it depends on the conversation before it"
    return None


def parse_filters(values: Any) -> list[Condition]:
    """The request's filters as the trace wrote them (``doc_type eq 'finance'``)."""
    from ragline.store import Condition

    out: list[Condition] = []
    for text in values or []:
        m = _FILTER.match(str(text))
        if m is None:
            raise ValueError(text)
        out.append(Condition(m.group(1), m.group(2), ast.literal_eval(m.group(3))))  # type: ignore[arg-type]
    return out


# ------------------------------------------------------------------------- replaying


def then_side(spans: Sequence[SpanRecord], *, retrieval_only: bool = False) -> Side:
    """What the trace recorded. The hits compared are those the replay produces too: the
    retrieval stage's (``retrieval_only``, as a search returns them), else those the
    answer was written from (after the retrieval guard, recorded on the root span)."""
    facts = trace_facts(spans)
    root = root_span(list(spans))
    support = _attribute(spans, "ragline.support")
    abstained = _attribute(spans, "ragline.abstained")
    references = _attribute(spans, "ragline.references")
    answered = root.attributes.get("ragline.retrieved.chunk_ids")
    if not retrieval_only and isinstance(answered, list):
        chunk_ids = [str(c) for c in answered]
        docs = list(
            dict.fromkeys(str(d) for d in root.attributes.get("ragline.retrieved.document_ids", []))
        )
    else:
        chunk_ids = list(facts.chunk_ids)
        docs = list(facts.document_ids)
    return Side(
        rules=_rules_then(spans),
        chunk_ids=chunk_ids,
        document_ids=docs,
        answer=facts.answer,
        citations=[str(r) for r in references or []],
        abstained=bool(abstained) if abstained is not None else None,
        support=float(support) if isinstance(support, (int, float)) else None,
    )


def documents_changed(
    store: Store, tenant: str, spans: Sequence[SpanRecord]
) -> list[DocumentChange]:
    """Chunks the trace retrieved that are gone or different in the store now."""
    hits = final_hits(spans)
    if not hits:
        return []
    now = {c.id: c for c in store.get_chunks(tenant, [str(h["chunk_id"]) for h in hits])}
    out: list[DocumentChange] = []
    for h in hits:
        chunk_id = str(h["chunk_id"])
        doc = str(h.get("document_id", chunk_id.split("#")[0]))
        chunk = now.get(chunk_id)
        if chunk is None:
            out.append(DocumentChange(chunk_id, doc, "deleted"))
            continue
        recorded_hash = h.get("content_hash")
        text = h.get("text")
        if isinstance(recorded_hash, str) and recorded_hash and chunk.content_hash:
            if recorded_hash != chunk.content_hash:
                out.append(DocumentChange(chunk_id, doc, "changed"))
        elif (
            isinstance(text, str)
            and not text.startswith("[redacted")  # content off: no text to compare
            and "[truncated:" not in text
            and text != chunk.text
        ):
            out.append(DocumentChange(chunk_id, doc, "changed"))
    return out


def _docs(hits: Sequence[Hit]) -> list[str]:
    return list(dict.fromkeys(h.chunk.document_id for h in hits))


class Replayer:
    """Runs the selected asks through a candidate's pipeline (see the module docstring).

    ``candidate`` shares the project's backend and embedder; its tracer is off.
    """

    def __init__(
        self,
        candidate: Parts,
        *,
        base_settings: Settings,
        traces: TraceStore,
        metrics: bool = True,
    ) -> None:
        self.candidate = candidate
        self.base_settings = base_settings
        self.traces = traces
        self.metrics = metrics

    def rules_now(self, question: str, tenant: str) -> list[str]:
        rules = self.candidate.settings.for_tenant(tenant).routing
        return [m.rule for m in match_rules(question, rules) if m.fired]

    def run(
        self,
        query: ReplayQuery,
        *,
        retrieval_only: bool = False,
        cases: Sequence[Case] = (),
        config: Mapping[str, Any] | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> ReplayReport:
        report = ReplayReport(dict(config or {}), retrieval_only)
        selected = select_traces(self.traces, query, self.rules_now)
        feedback: dict[str, list[Feedback]] = {}
        for f in self.traces.list_feedback(tenant=query.tenant):  # one read, not one per ask
            feedback.setdefault(f.trace_id, []).append(f)
        by_trace = {c.source_trace_id: c for c in cases if c.source_trace_id}
        for n, spans in enumerate(selected, 1):
            root = root_span(spans)
            reason = why_not_replayable(spans)
            question = root.attributes.get("ragline.question")
            shown = question if isinstance(question, str) and reason is None else None
            if reason is None:
                try:
                    filters = parse_filters(root.attributes.get("ragline.filters"))
                except (ValueError, SyntaxError):
                    reason = "its filters cannot be read back from the trace"
            if reason is not None:
                report.skipped.append(Skipped(root.trace_id, shown, reason))
            else:
                assert isinstance(question, str)
                ask = self._one(spans, root, question, filters, retrieval_only)
                ask.feedback = [f.kind for f in feedback.get(root.trace_id, [])]
                _judge(ask, by_trace.get(root.trace_id))
                report.asks.append(ask)
            if on_progress is not None:
                on_progress(n, len(selected))
        return report

    def _one(
        self,
        spans: Sequence[SpanRecord],
        root: SpanRecord,
        question: str,
        filters: list[Condition],
        retrieval_only: bool,
    ) -> ReplayedAsk:
        from ragline.answer import AskRequest

        tenant = root.tenant
        k = root.attributes.get("ragline.retrieval.k")
        base_k = self.base_settings.for_tenant(tenant).retrieval.k
        request = AskRequest(
            question,
            tenant,
            k=int(k) if isinstance(k, int) and k != base_k else None,
            filters=tuple(filters),
        )
        view = self.candidate.view(tenant)
        then = then_side(spans, retrieval_only=retrieval_only)
        matched = [m for m in match_rules(question, view.settings.routing) if m.fired]
        now = Side(rules=[m.rule for m in matched])
        if retrieval_only:
            hits = view.pipeline.search(request).hits
        else:
            answer = view.pipeline.ask(request)
            hits = answer.hits
            now.answer = answer.text
            now.citations = [r.chunk_id for r in answer.references]
            now.abstained = answer.abstained
            now.support = round(answer.support, 6)
            if root.attributes.get("ragline.content") == "redact":
                from ragline.trace._redact import redact_pii

                now.answer = redact_pii(answer.text)
        now.chunk_ids = [h.chunk.id for h in hits]
        now.document_ids = _docs(hits)
        if self.metrics and not retrieval_only:
            self._relevance(question, then, now)
        return ReplayedAsk(
            trace_id=root.trace_id,
            tenant=tenant,
            question=question,
            started=root.start,
            then=then,
            now=now,
            rule_matches=matched,
            documents_changed=documents_changed(self.candidate.backend.documents, tenant, spans),
            retrieval_only=retrieval_only,
        )

    def _relevance(self, question: str, then: Side, now: Side) -> None:
        """``answer_relevance`` of both answers (one embedding call): cosine of question
        and answer, floored at 0; None for an abstention or an answer not recorded."""
        from ragline.evals._metrics._answer import strip_citations

        sides = [
            s
            for s in (then, now)
            if s.answer and not s.abstained and not s.answer.startswith("[redacted")
        ]
        if not sides:
            return
        answers = list(dict.fromkeys(strip_citations(s.answer or "").strip() for s in sides))
        vectors = self.candidate.embedder.embed_documents([question, *answers])
        for side in sides:
            i = answers.index(strip_citations(side.answer or "").strip()) + 1
            side.relevance = round(min(max(float(vectors[0] @ vectors[i]), 0.0), 1.0), 6)


def _judge(ask: ReplayedAsk, case: Case | None) -> None:
    """Set the verdict from the trace's case, else its feedback (module docstring)."""
    k = max(len(ask.then.chunk_ids), len(ask.now.chunk_ids))
    if case is not None and case.gold_doc_ids:
        gold = set(case.gold_doc_ids)
        before = len(gold & set(ask.then.document_ids[:k]))
        after = len(gold & set(ask.now.document_ids[:k]))
        if after != before:
            ask.verdict = "improved" if after > before else "worsened"
            ask.verdict_reason = f"gold documents in the top k: {before} → {after}"
            return
    if case is not None and case.must_contain and not ask.retrieval_only:

        def found(text: str | None) -> int:
            folded = (text or "").casefold()
            return sum(s.casefold() in folded for s in case.must_contain)

        before, after = found(ask.then.answer), found(ask.now.answer)
        if after != before:
            ask.verdict = "improved" if after > before else "worsened"
            ask.verdict_reason = f"required phrases in the answer: {before} → {after}"
            return
    negative = [f for f in ask.feedback if f in NEGATIVE_FEEDBACK]
    if negative:
        if ask.changed:
            ask.verdict = "improved"
            ask.verdict_reason = f"reported as {negative[0]}; the ask now differs"
        else:
            ask.verdict = "unresolved"
            ask.verdict_reason = f"reported as {negative[0]}; the ask is unchanged"
    elif "good" in ask.feedback and ask.changed:
        ask.verdict = "worsened"
        ask.verdict_reason = "marked good; the ask now differs"


__all__ = [
    "DocumentChange",
    "RankChange",
    "ReplayQuery",
    "ReplayReport",
    "ReplayedAsk",
    "Replayer",
    "Side",
    "Skipped",
    "select_traces",
]


# ----------------------------------------------------------------- the candidate


def parse_assignments(items: Sequence[str]) -> dict[str, Any]:
    """``["retrieval.k=8", "routing=[{...}]"]`` → ``{"retrieval.k": 8, "routing": [...]}``
    (values are YAML, as in ``RAGLINE_*`` variables). Raises :class:`InputError` for an
    item without ``=`` or a value that is not valid YAML."""
    import yaml

    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InputError(f"--set {item!r} is not key=value", hint="e.g. --set retrieval.k=8")
        try:
            out[key] = yaml.safe_load(raw) if raw.strip() else raw
        except yaml.YAMLError as e:
            problem = getattr(e, "problem", None) or str(e).splitlines()[0]
            raise InputError(
                f"--set {key}: the value is not valid YAML ({problem})",
                hint="quote the whole option, e.g. --set 'routing=[{name: r, ...}]'",
            ) from None
    return out


def candidate_settings(
    project_dir: Any,
    base: Settings,
    *,
    overrides: Mapping[str, Any] | None,
    config_file: Any,
    base_overrides: Mapping[str, Any],
    base_config_file: Any,
) -> Settings:
    """The settings asks are replayed under: the project's (its config file and
    overrides), or ``config_file`` instead of its file, then ``overrides`` — validated
    like any settings (:class:`ConfigError` naming an unknown key or a bad value), with
    tracing off. Store and embedder must stay the project's."""
    from pathlib import Path

    from ragline.config import load_settings
    from ragline.errors import ConfigError

    if config_file is not None and not Path(config_file).is_file():
        raise ConfigError(
            f"config file {str(config_file)!r} not found",
            hint="give the path of a ragline.yaml to replay under",
        )
    if overrides or config_file is not None:
        merged = {**base_overrides, **(overrides or {})}
        settings = load_settings(
            project_dir,
            overrides=merged,
            config_file=config_file if config_file is not None else base_config_file,
        )
    else:
        settings = base
    for key in FIXED_KEYS:
        if getattr(settings, key) != getattr(base, key):
            raise InputError(
                f"replay cannot change {key} (the project has {getattr(base, key)!r}, "
                f"the replay config {getattr(settings, key)!r})",
                hint="replay searches the current store with the embedder its vectors came "
                "from; compare another store with `ragline eval run` instead",
            )
    tracing = settings.tracing.model_copy(update={"enabled": False})
    return settings.model_copy(update={"tracing": tracing})
