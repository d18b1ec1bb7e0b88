"""The stages of the answer pipeline, in order, and the state they pass along.

``guard_in → analyze → retrieve → rerank │ generate → cite → guard_out``

A stage is a small object with one method, :meth:`Stage.run`, that reads and fills
in the :class:`Ask` and yields the events its work produces (deltas, citations). It
says what is worth tracing with :meth:`Ask.record` (computed only when the trace
records); the pipeline, not the stage, opens the stage's span, records that, and
times it. A stage knows nothing of the provider,
the store backend or the interface it serves. Without a reranker
(``retrieval.reranker: none``) the rerank stage is a pass-through.

The guard stages run the tenant's :class:`~ragline.guards._policy.GuardSet`. A
blocked question sets ``ask.answer`` to a refusal and the pipeline stops: nothing is
retrieved or generated. At the output, a redaction rewrites the answer's text and
sentences, a block replaces the answer with the refusal. When the answer streams,
:meth:`GuardOut.watch` holds back the last :data:`HOLD_BACK_CHARS` characters: a
delta is sent only once the text after it is long enough that no PII the detector
knows (an IBAN is at most 42 characters with spaces, an email rarely above 64) can
still straddle the cut, so a hit is redacted before any of it leaves.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ragline.answer._answerer import Answerer, Draft, citation_events
from ragline.answer._events import CitationEvent, DeltaEvent, ErrorEvent, Event, GuardEvent
from ragline.answer._request import AskRequest
from ragline.embed._memo import Memo
from ragline.guards._base import SEVERITY
from ragline.retrieve._followup import Rewrite, rewrite_follow_up
from ragline.retrieve._retriever import analysis_attributes, retrieval_attributes
from ragline.trace import _attrs
from ragline.types import Answer, GuardTrigger, Hit

if TYPE_CHECKING:
    from ragline.guards._policy import GuardResult, GuardSet
    from ragline.rerank import Reranker
    from ragline.retrieve import Retriever, SearchResult
    from ragline.retrieve._retriever import QueryPlan
    from ragline.retrieve._rewrite import FollowUpRewriter


@dataclass(slots=True)
class Ask:
    """One ask as it moves through the stages."""

    request: AskRequest
    question: str  #: what is asked: the request's question, with a follow-up's context
    plan: QueryPlan | None = None  #: analyze: conditions, boosts, routing rules fired
    result: SearchResult | None = None  #: retrieve: the hits and how they were found
    hits: list[Hit] = field(default_factory=list)  #: what the answer is written from
    draft: Draft | None = None  #: generate
    answer: Answer | None = None  #: cite (or a guard's refusal)
    #: guards that flagged, redacted or blocked so far
    triggers: list[GuardTrigger] = field(default_factory=list)
    #: a guard blocked: ``answer`` is the refusal and no further stage runs
    stopped: bool = False
    #: the texts this ask's stages embedded, and their vectors (ragline.embed._memo)
    vectors: Memo = field(default_factory=dict)
    #: what the running stage records on its span (the pipeline empties it per stage)
    trace: list[tuple[Callable[..., Mapping[str, Any]], tuple[Any, ...]]] = field(
        default_factory=list
    )

    def record(self, attributes: Callable[..., Mapping[str, Any]], *args: Any) -> None:
        """Record ``attributes(*args)`` on the running stage's span — called only when the
        trace records, so a stage costs nothing extra when tracing is off."""
        self.trace.append((attributes, args))


@runtime_checkable
class Stage(Protocol):
    """One step of the pipeline. ``span`` and ``kind`` name its span in the trace;
    ``span = None``: the stage is not traced (a pass-through: its span would record
    nothing, and cost every trace a row)."""

    name: str
    kind: str

    @property
    def span(self) -> str | None: ...

    def run(self, ask: Ask) -> Iterable[Event]: ...


class _PassThrough:
    """A stage still to come: it changes nothing, and is not traced until it does."""

    name: str
    span: str | None = None
    kind: str

    def run(self, ask: Ask) -> Iterable[Event]:
        return ()


#: characters of a streamed answer held back for the output guard (see module doc)
HOLD_BACK_CHARS = 64


def refusal(ask: Ask, triggers: list[GuardTrigger]) -> Answer:
    """The answer of a blocked ask: abstained, the refusal text, the guards that acted."""
    from ragline.guards._policy import REFUSAL_TEXT

    request = ask.request
    return Answer(
        question=request.question,
        text=REFUSAL_TEXT,
        abstained=True,
        model="guard",
        tenant=request.tenant,
        guards=list(triggers),
        blocked=True,
    )


def guard_attributes(result: GuardResult) -> dict[str, Any]:
    """What a guard stage's span records: the combined action and each verdict."""
    return {
        "ragline.guard.stage": result.stage,
        "ragline.guard.action": result.action,
        "ragline.guard.verdicts": [
            {
                "guard": v.guard,
                "action": v.action,
                "score": round(v.score, 6),
                "reasons": list(v.reasons),
            }
            for v in result.verdicts
        ],
        "ragline.guard.errors": list(result.errors),
    }


def guard_event(result: GuardResult) -> GuardEvent:
    triggered = [v for v in result.verdicts if v.triggered]
    return GuardEvent(
        result.stage,
        result.action,
        [v.guard for v in triggered],
        sorted({r for v in triggered for r in v.reasons}),
    )


class _GuardStage:
    kind = "guard"
    stage: str

    def __init__(self, guards: GuardSet) -> None:
        self.guards = guards

    @property
    def span(self) -> str | None:
        """Traced only when a guard checks this stage."""
        return f"ragline.{self.name}" if self.guards.at(self.stage) else None  # type: ignore[arg-type, attr-defined]


class GuardIn(_GuardStage):
    """Checks the question (with the conversation's last user turns) before anything is
    searched; a block stops the ask with a refusal."""

    name, stage = "guard_in", "input"

    def run(self, ask: Ask) -> Iterable[Event]:
        from ragline.guards import GuardContext

        if not self.guards.at("input"):
            return ()
        request = ask.request
        context = GuardContext(stage="input", tenant=request.tenant, history=tuple(request.history))
        result = self.guards.run(ask.question, context)
        ask.record(guard_attributes, result)
        ask.triggers.extend(result.triggers())
        if result.action == "allow":
            return ()
        if result.blocked:
            ask.answer = refusal(ask, ask.triggers)
            ask.stopped = True
        elif result.text != ask.question:
            ask.question = result.text
        return (guard_event(result),)


class Analyze:
    """Gives a follow-up its context, then plans the search: filters, languages, routing.

    A message with earlier user turns is rewritten only when it cannot stand alone
    (:mod:`ragline.retrieve._followup`); the span records the rewrite, its kind and why.
    """

    name, span, kind = "analyze", "ragline.query_analysis", "analysis"

    def __init__(
        self,
        retriever: Retriever,
        *,
        max_question_chars: int,
        rewriter: FollowUpRewriter | None = None,
    ) -> None:
        self.retriever = retriever
        self.max_question_chars = max_question_chars
        #: ``chat.rewrite``: the rule (default), a model with the rule as fallback, or off
        self.rewriter = rewriter

    def run(self, ask: Ask) -> Iterable[Event]:
        request = ask.request
        if request.history:
            if self.rewriter is not None:
                rewrite = self.rewriter.rewrite(
                    ask.question, request.history, max_chars=self.max_question_chars
                )
            else:
                rewrite = rewrite_follow_up(
                    ask.question, request.history, max_chars=self.max_question_chars
                )
            ask.question = rewrite.question
            ask.record(rewrite_attributes, rewrite, request.question)
        ask.plan = self.retriever.analyze(
            ask.question, tenant=request.tenant, filters=request.filters
        )
        ask.record(analysis_attributes, ask.plan)
        return ()


def rewrite_attributes(rewrite: Rewrite, message: str) -> dict[str, Any]:
    """What the analysis span records about a follow-up: the message, what was asked,
    how (``rule``/``llm``/``off``), the kind of rewrite and why, and a model's failure."""
    out: dict[str, Any] = {
        "ragline.message": message,
        "ragline.question": rewrite.question,
        "ragline.rewrite.method": rewrite.method,
        "ragline.rewrite.kind": rewrite.kind,
        "ragline.rewrite.reason": rewrite.reason,
    }
    if rewrite.fallback is not None:
        out["ragline.rewrite.fallback"] = rewrite.fallback
    return out


class Retrieve:
    """Keyword ∥ dense search under the plan, fused (see :class:`Retriever`)."""

    name, span, kind = "retrieve", "ragline.retrieve", "retrieval"

    def __init__(self, retriever: Retriever, *, candidates: int = 0) -> None:
        self.retriever = retriever
        #: hits to fetch at least (a reranker's candidates; the rerank stage keeps ``k``)
        self.candidates = candidates

    def run(self, ask: Ask) -> Iterable[Event]:
        assert ask.plan is not None, "analyze runs before retrieve"
        request = ask.request
        k = request.k
        if self.candidates:
            k = max(k or self.retriever.settings.retrieval.k, self.candidates)
        ask.result = self.retriever.fetch(
            ask.question, tenant=request.tenant, plan=ask.plan, k=k, mode=request.mode
        )
        ask.hits = list(ask.result.hits)
        ask.record(retrieval_attributes, ask.result)
        return ()


class Rerank:
    """Orders the retrieved hits for answering with the tenant's reranker
    (``retrieval.reranker``; with none, a pass-through that is not traced).

    The reranker scores the top ``candidates`` fused hits (the Retrieve stage fetched
    at least that many); the ask keeps the best ``k``. When the reranker fails — times
    out, answers fewer scores than documents, errs — the fused order is kept, the
    reason is recorded on the span and counted in :attr:`fallbacks`, and the ask goes
    on; with ``on_error="fail"`` the error is raised instead. The span records the
    reranker, the candidates, the chunks that moved, the time and any fallback reason.
    """

    name, kind = "rerank", "rerank"

    def __init__(
        self,
        reranker: Reranker | None = None,
        *,
        candidates: int = 20,
        default_k: int = 5,
        on_error: str = "fallback",
    ) -> None:
        self.reranker = reranker
        self.candidates = candidates
        self.default_k = default_k
        self.on_error = on_error
        #: fallbacks so far, by reason (``rerank.error``, ``rerank.timeout``)
        self.fallbacks: dict[str, int] = {}

    @property
    def span(self) -> str | None:
        return "ragline.rerank" if self.reranker is not None else None

    def run(self, ask: Ask) -> Iterable[Event]:
        import time

        from ragline._time import elapsed_ms

        reranker = self.reranker
        k = ask.request.k or self.default_k
        if reranker is None or not ask.hits:
            ask.hits = ask.hits[:k] if reranker is not None else ask.hits
            return ()
        head, tail = ask.hits[: self.candidates], ask.hits[self.candidates :]
        start = time.perf_counter()
        reason: str | None = None
        error: str | None = None
        try:
            ranked = reranker.rerank(ask.question, head)
            if sorted(h.chunk.id for h in ranked) != sorted(h.chunk.id for h in head):
                from ragline.errors import RerankerError

                raise RerankerError(f"reranker {reranker.name} did not return the hits it got")
        except Exception as e:
            if self.on_error == "fail":
                raise
            reason = str(getattr(e, "reason", "rerank.error"))
            error = str(e) or type(e).__name__
            self.fallbacks[reason] = self.fallbacks.get(reason, 0) + 1
            ranked = list(head)
        ms = elapsed_ms(start)
        if ask.result is not None:
            ask.result.timings_ms["rerank"] = ms
        before = [h.chunk.id for h in head]
        ask.hits = [*ranked, *tail][:k]
        ask.record(_rerank_attributes, reranker.name, before, ranked, ms, reason, error)
        return ()


def _rerank_attributes(
    name: str,
    before: list[str],
    ranked: list[Hit],
    ms: float,
    reason: str | None,
    error: str | None,
) -> dict[str, Any]:
    position = {cid: i for i, cid in enumerate(before)}
    moved = [
        {"chunk_id": h.chunk.id, "from": position[h.chunk.id] + 1, "to": i + 1}
        for i, h in enumerate(ranked)
        if position.get(h.chunk.id, i) != i
    ]
    out: dict[str, Any] = {
        "ragline.rerank.reranker": name,
        "ragline.rerank.candidates": len(before),
        "ragline.rerank.moved": moved,
        "ragline.rerank.ms": round(ms, 3),
        "ragline.rerank.fallback": reason is not None,
    }
    if reason is not None:
        out["ragline.rerank.fallback_reason"] = reason
        out["ragline.rerank.error"] = error
    return out


class GuardDocuments(_GuardStage):
    """Checks each retrieved chunk before the answer is written from it: a chunk a
    guard blocks (an instruction planted in a document) is dropped, a redacted one is
    passed on redacted, a flagged one is kept and recorded. The injection guard reads
    the score ingest stored with the chunk, so this costs a lookup per hit.

    Which of those a chunk the injection guard flags gets is the tenant's
    ``guards.injection.documents``: ``drop``, ``quote`` (kept, marked
    :attr:`Hit.quoted`: the prompt shows it as untrusted quoted data) or ``flag``. The
    span lists the chunks dropped, quoted and flagged."""

    name, stage = "guard_docs", "retrieval"

    def run(self, ask: Ask) -> Iterable[Event]:
        from ragline.guards import GuardContext

        if not ask.hits or not self.guards.at("retrieval"):
            return ()
        context = GuardContext(stage="retrieval", tenant=ask.request.tenant, question=ask.question)
        kept: list[Hit] = []
        acted: list[tuple[str, GuardResult]] = []
        for hit in ask.hits:
            result = self.guards.run(hit.chunk.text, context, chunk=hit.chunk)
            if result.action != "allow":
                acted.append((hit.chunk.id, result))
                ask.triggers.extend(result.triggers())
            if result.blocked:
                continue
            if result.text != hit.chunk.text:
                hit = replace(hit, chunk=replace(hit.chunk, text=result.text))
            if self.guards.documents == "quote" and _injection_flagged(result):
                hit = replace(hit, quoted=True)
            kept.append(hit)
        ask.record(_documents_attributes, len(ask.hits), acted, kept)
        ask.hits = kept
        if not acted:
            return ()
        worst = max((r for _, r in acted), key=lambda r: SEVERITY[r.action])
        return (guard_event(worst),)


def _injection_flagged(result: GuardResult) -> bool:
    return any(v.guard == "injection" and v.action == "flag" for v in result.verdicts)


def _documents_attributes(
    checked: int, acted: list[tuple[str, GuardResult]], kept: Sequence[Hit] = ()
) -> dict[str, Any]:
    quoted = [h.chunk.id for h in kept if h.quoted]
    return {
        "ragline.guard.stage": "retrieval",
        "ragline.guard.checked": checked,
        "ragline.guard.dropped": [chunk for chunk, r in acted if r.blocked],
        "ragline.guard.quoted": quoted,
        "ragline.guard.flagged": [
            chunk for chunk, r in acted if r.action == "flag" and chunk not in quoted
        ],
        "ragline.guard.chunks": [
            {
                "chunk_id": chunk,
                "action": r.action,
                "verdicts": [
                    {"guard": v.guard, "action": v.action, "score": round(v.score, 6)}
                    for v in r.verdicts
                    if v.triggered
                ],
                "reasons": sorted({x for v in r.verdicts for x in v.reasons}),
            }
            for chunk, r in acted
        ],
    }


class Generate:
    """Writes the answer text from the hits: the answerer's deltas, then its draft."""

    name, span, kind = "generate", "ragline.answer", "answer"

    def __init__(self, answerer: Answerer) -> None:
        self.answerer = answerer

    def run(self, ask: Ask) -> Iterator[Event]:
        request = ask.request
        vector = ask.result.query_vector if ask.result is not None else None
        for item in self.answerer.draft(
            ask.question,
            ask.hits,
            tenant=request.tenant,
            query_vector=vector,
            stream=request.stream,
        ):
            if isinstance(item, Draft):
                ask.draft = item
                ask.record(draft_attributes, item)
            else:
                yield item


class Cite:
    """Checks the draft's citations: the answer, every sentence cited, or an abstention."""

    name, span, kind = "cite", "ragline.citations", "citations"

    def __init__(self, answerer: Answerer) -> None:
        self.answerer = answerer

    def run(self, ask: Ask) -> Iterator[Event]:
        draft = ask.draft
        assert draft is not None, "generate runs before cite"
        try:
            answer = self.answerer.cite(draft)
        except Exception as exc:
            if not ask.request.stream:
                raise
            reason = f"{type(exc).__name__}: {exc}"
            yield ErrorEvent(
                f"{draft.model} failed while checking its citations: {reason}; "
                "the answer text is complete but its citations were not checked",
                draft.text,
            )
            return
        if draft.usage is not None:  # a language model was asked
            answer.usage = asdict(draft.usage)
            answer.cost_usd = draft.cost_usd
        ask.answer = answer
        ask.record(citation_attributes, answer, draft)
        yield from citation_events(answer)


class GuardOut(_GuardStage):
    """Checks the answer before it is sent: redacts its text and sentences, or replaces
    it with the refusal (see the module docstring, and :meth:`watch` for streams)."""

    name, stage = "guard_out", "output"

    def __init__(
        self, guards: GuardSet, *, languages: Callable[[str], Iterable[str]] | None = None
    ) -> None:
        super().__init__(guards)
        #: the tenant's answer languages (the language guard's), by tenant name
        self.languages = languages

    def _context(self, ask: Ask, passages: tuple[str, ...] = (), **metadata: Any) -> Any:
        """What the output guards know: the tenant's languages, the ``passages`` the
        answer is grounded on (``GuardContext.passages``), and in ``metadata`` the
        answer's judgement (``sentence_count``, ``sentence_spans``, ``unsupported``,
        ``abstained``), ``sentence`` (one sentence of a redacted answer) or, while
        streaming, ``window`` (and the window's ``offset``): a guard that judges whole
        answers (length, language, citations, schema) lets windows and single sentences
        through and judges the complete answer."""
        from ragline.guards import GuardContext

        tenant = ask.request.tenant
        languages = tuple(self.languages(tenant)) if self.languages is not None else ()
        return GuardContext(
            stage="output",
            tenant=tenant,
            question=ask.question,
            languages=languages,
            passages=passages,
            metadata=metadata,
        )

    def _answer_context(self, ask: Ask, answer: Answer) -> Any:
        draft, sentences = ask.draft, answer.sentences
        report = draft.report if draft is not None else None
        if report is not None:  # an LLM answer: what the cite stage found
            unsupported = sorted({*report.unsupported, *report.weak_sentences})
        else:  # cited as written (extractive): a sentence without a citation
            unsupported = [i for i, sentence in enumerate(sentences) if not sentence.citations]
        from ragline.answer._sentence_spans import sentence_spans

        cited = {r.chunk_id for r in answer.references}
        return self._context(
            ask,
            tuple(h.chunk.text for h in ask.hits if h.chunk.id in cited),
            sentence_count=len(sentences),
            sentence_spans=sentence_spans(answer.text) if sentences and self._spans else None,
            unsupported=unsupported,
            abstained=answer.abstained,
        )

    @property
    def _spans(self) -> bool:
        """A guard reads where each sentence is (``uses_sentence_spans``)."""
        return any(getattr(g.guard, "uses_sentence_spans", False) for g in self.guards.at("output"))

    def _drops_sentences(self, result: GuardResult) -> bool:
        droppers = {g.guard.name for g in self.guards.at("output") if _drops(g.guard)}
        return any(v.action == "redact" and v.guard in droppers for v in result.verdicts)

    def run(self, ask: Ask) -> Iterable[Event]:
        answer = ask.answer
        if answer is None or not self.guards.at("output"):
            return ()
        context = self._answer_context(ask, answer)
        result = self.guards.run(answer.text, context)
        ask.record(guard_attributes, result)
        ask.triggers.extend(result.triggers())
        answer.guards = list(ask.triggers)
        if result.action == "allow":
            return ()
        if result.blocked:
            ask.answer = refusal(ask, ask.triggers)
            ask.stopped = True
            return (guard_event(result),)
        if result.text != answer.text:
            answer.text = result.text
            one = replace(context, metadata={"sentence": True})
            for sentence in answer.sentences:
                sentence.text = self.guards.run(sentence.text, one).text
            if self._drops_sentences(result):  # sentences cut or dropped: keep the rest
                _keep_sentences(answer)
        return () if ask.request.stream else (guard_event(result),)

    def watch(self, ask: Ask, events: Iterator[Event]) -> Iterator[Event]:
        """The answering stages' events with the streamed text checked as it goes:
        :data:`HOLD_BACK_CHARS` held back, PII in it redacted before it is sent, a
        block ending the stream with a ``guard`` event (the pipeline then sends the
        refusal's ``done``)."""
        if not self.guards.at("output"):
            yield from events
            return
        # the citations come after the text: a window is grounded on every passage given
        context = self._context(ask, tuple(h.chunk.text for h in ask.hits), window=True)
        seen, sent = "", 0
        for event in events:
            if isinstance(event, DeltaEvent):
                seen += event.text
                if len(seen) - sent <= HOLD_BACK_CHARS:
                    continue
                out = self._release(ask, seen, sent, len(seen) - HOLD_BACK_CHARS, context)
            elif isinstance(event, CitationEvent | ErrorEvent):
                out = self._release(ask, seen, sent, len(seen), context) if seen else (0, "")
                if out is not None and isinstance(event, CitationEvent):
                    text = self.guards.run(event.text, context).text
                    event = CitationEvent(
                        event.sentence_index, event.citations, event.support, text, event.supported
                    )
                elif out is not None and isinstance(event, ErrorEvent):
                    partial = self.guards.run(event.partial_text, context).text
                    event = ErrorEvent(event.message, partial, event.retryable)
            else:
                yield event
                continue
            if out is None:  # blocked: say so, the pipeline sends the refusal
                yield _blocked_event(ask)
                return
            cut, text = out
            if text:
                yield DeltaEvent(text)
            sent = max(sent, cut)
            if not isinstance(event, DeltaEvent):
                yield event
        if len(seen) > sent:
            out = self._release(ask, seen, sent, len(seen), context)
            if out is None:
                yield _blocked_event(ask)
            elif out[1]:
                yield DeltaEvent(out[1])

    def _release(
        self, ask: Ask, seen: str, sent: int, cut: int, context: Any
    ) -> tuple[int, str] | None:
        """``(new sent, text to send)`` for ``seen[sent:cut]`` redacted, or None when a
        guard blocks (the refusal is then set on ``ask``)."""
        base = max(0, sent - HOLD_BACK_CHARS)  # look back, bounded, for what straddles
        context = replace(context, metadata={**context.metadata, "offset": base})
        result = self.guards.run(seen[base:], context)
        if result.blocked:
            ask.triggers.extend(result.triggers())
            ask.answer = refusal(ask, ask.triggers)
            ask.stopped = True
            return None
        findings = sorted(
            (f for v in result.verdicts if v.action == "redact" for f in v.findings),
            key=lambda f: f.start,
        )
        parts, pos = [], sent
        for f in findings:
            start, end = f.start + base, f.end + base
            if end <= sent:
                continue
            if start >= cut:
                break
            if end > cut and cut < len(seen):  # straddles the cut: wait for all of it
                cut = max(start, sent)
                break
            parts.append(seen[pos : max(start, pos)])
            parts.append(f"[{f.label}]")
            pos = end
        if pos < cut:
            parts.append(seen[pos:cut])
        return max(cut, pos), "".join(parts)


def _drops(guard: object) -> bool:
    """A guard whose redaction removes whole sentences (``drops_sentences``)."""
    return bool(getattr(guard, "drops_sentences", False))


_MARKERS = re.compile(r"\[\s*\d+(?:\s*(?:[,;–-]|and)\s*\d+)*\s*\]|\s+")


def _keep_sentences(answer: Answer) -> None:
    """After a guard dropped or cut sentences of ``answer.text``: keep the sentences
    still in it, in order (compared without markers and spaces), and their mean support.
    The references stay as they are, so every marker left points where it did."""
    text = _MARKERS.sub("", answer.text)
    kept, cursor = [], 0
    for sentence in answer.sentences:
        body = _MARKERS.sub("", sentence.text)
        at = text.find(body, cursor) if body else -1
        if at >= 0:
            kept.append(sentence)
            cursor = at + len(body)
    if len(kept) != len(answer.sentences):
        answer.sentences = kept
        answer.support = round(sum(s.support for s in kept) / len(kept), 4) if kept else 0.0


def _blocked_event(ask: Ask) -> GuardEvent:
    blocking = [t for t in ask.triggers if t.action == "block" and t.stage == "output"]
    return GuardEvent(
        "output",
        "block",
        [t.guard for t in blocking],
        sorted({r for t in blocking for r in t.reasons}),
    )


def draft_attributes(draft: Draft) -> dict[str, Any]:
    """What the ``ragline.answer`` span records: the text as written, and — for an
    answer cited as it is written — its sentences and support."""
    out: dict[str, Any] = {**draft.attributes, "ragline.answer": draft.text}
    cited = draft.cited
    if cited is not None:
        out["ragline.abstained"] = cited.abstained
        out["ragline.support"] = round(cited.support, 6)
        out["ragline.sentences"] = _attrs.sentences(cited.sentences)
    return out


def citation_attributes(answer: Answer, draft: Draft) -> dict[str, Any]:
    """What the ``ragline.citations`` span records: each sentence's citations and support."""
    out: dict[str, Any] = {
        "ragline.support": round(answer.support, 6),
        "ragline.abstained": answer.abstained,
        "ragline.references": [ref.chunk_id for ref in answer.references],
    }
    if draft.cited is None:  # a cited draft's sentences are on the ragline.answer span
        out["ragline.sentences"] = _attrs.sentences(answer.sentences)
    report = draft.report
    if report is not None:
        out.update(
            {
                "ragline.citations.dropped_markers": list(report.dropped_markers),
                "ragline.citations.attributed": list(report.attributed),
                "ragline.citations.unsupported": list(report.unsupported),
                "ragline.citations.weak_sentences": list(report.weak_sentences),
                "ragline.citations.weak": [list(w) for w in report.weak_citations],
                "ragline.citations.skipped": list(report.skipped),
                "ragline.citations.reasons": [[i, code] for i, code in report.reasons.items()],
            }
        )
    return out


__all__ = [
    "HOLD_BACK_CHARS",
    "Analyze",
    "Ask",
    "Cite",
    "Generate",
    "GuardIn",
    "GuardOut",
    "Rerank",
    "Retrieve",
    "Stage",
    "citation_attributes",
    "draft_attributes",
]
