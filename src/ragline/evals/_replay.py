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
  scores (the answer's ``support``, and, where the answer text changed,
  ``answer_relevance``: the cosine of question and
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

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ragline.errors import InputError
from ragline.evals._replay_report import (
    DocumentChange,
    RankChange,
    ReplayedAsk,
    ReplayQuery,
    ReplayReport,
    Side,
    Skipped,
    Verdict,
)
from ragline.evals._replay_traces import (
    documents_changed,
    parse_filters,
    rules_then,
    select_traces,
    then_side,
    why_not_replayable,
)
from ragline.retrieve._explain import match_rules
from ragline.store._traces import Feedback, TraceStore
from ragline.trace._feedback import root_span

if TYPE_CHECKING:
    from ragline._parts import Parts
    from ragline.config import Settings
    from ragline.evals._types import Case
    from ragline.store import Condition
    from ragline.store._traces import SpanRecord
    from ragline.types import Hit

NEGATIVE_FEEDBACK = frozenset({"hallucination", "wrong_citation", "irrelevant"})
#: settings a replay cannot change: it searches the store as it is, with its vectors
FIXED_KEYS = ("store", "embedder")


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
        if self.metrics and not retrieval_only and then.answer != now.answer:
            # scored where it can tell two answers apart: an unchanged answer scores the
            # same then and now, and an embedding call per ask would cost more than the ask
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
        from ragline.evals._metrics._answer import strip_citations
        from ragline.evals._metrics._phrases import contains_phrase

        def found(text: str | None) -> int:  # matched as the must_contain metric matches
            answer = strip_citations(text or "")
            return sum(contains_phrase(answer, s) for s in case.must_contain)

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


__all__ = [
    "FIXED_KEYS",
    "DocumentChange",
    "RankChange",
    "ReplayQuery",
    "ReplayReport",
    "ReplayedAsk",
    "Replayer",
    "Side",
    "Skipped",
    "Verdict",
    "candidate_settings",
    "parse_assignments",
    "rules_then",
    "select_traces",
]
