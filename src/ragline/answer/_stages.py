"""The stages of the answer pipeline, in order, and the state they pass along.

``guard_in → analyze → retrieve → rerank │ generate → cite → guard_out``

A stage is a small object with one method, :meth:`Stage.run`, that reads and fills
in the :class:`Ask` and yields the events its work produces (deltas, citations). It
says what is worth tracing with :meth:`Ask.record` (computed only when the trace
records); the pipeline, not the stage, opens the stage's span, records that, and
times it. A stage knows nothing of the provider,
the store backend or the interface it serves. The guards and the reranker are
pass-through stages for now: later work replaces them with real ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ragline.answer._answerer import Answerer, Draft, citation_events
from ragline.answer._events import ErrorEvent, Event
from ragline.answer._request import AskRequest
from ragline.retrieve._followup import contextual_question
from ragline.retrieve._retriever import analysis_attributes, retrieval_attributes
from ragline.trace import _attrs
from ragline.types import Answer, Hit

if TYPE_CHECKING:
    from ragline.retrieve import Retriever, SearchResult
    from ragline.retrieve._retriever import QueryPlan


@dataclass(slots=True)
class Ask:
    """One ask as it moves through the stages."""

    request: AskRequest
    question: str  #: what is asked: the request's question, with a follow-up's context
    plan: QueryPlan | None = None  #: analyze: conditions, boosts, routing rules fired
    result: SearchResult | None = None  #: retrieve: the hits and how they were found
    hits: list[Hit] = field(default_factory=list)  #: what the answer is written from
    draft: Draft | None = None  #: generate
    answer: Answer | None = None  #: cite
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


class GuardIn(_PassThrough):
    """Checks the question before anything is searched (pass-through until guards land)."""

    name, kind = "guard_in", "guard"


class Analyze:
    """Gives a follow-up its context, then plans the search: filters, languages, routing."""

    name, span, kind = "analyze", "ragline.query_analysis", "analysis"

    def __init__(self, retriever: Retriever, *, max_question_chars: int) -> None:
        self.retriever = retriever
        self.max_question_chars = max_question_chars

    def run(self, ask: Ask) -> Iterable[Event]:
        request = ask.request
        if request.history:
            ask.question = contextual_question(
                request.question, request.history, max_chars=self.max_question_chars
            )
        ask.plan = self.retriever.analyze(
            ask.question, tenant=request.tenant, filters=request.filters
        )
        ask.record(analysis_attributes, ask.plan)
        return ()


class Retrieve:
    """Keyword ∥ dense search under the plan, fused (see :class:`Retriever`)."""

    name, span, kind = "retrieve", "ragline.retrieve", "retrieval"

    def __init__(self, retriever: Retriever) -> None:
        self.retriever = retriever

    def run(self, ask: Ask) -> Iterable[Event]:
        assert ask.plan is not None, "analyze runs before retrieve"
        request = ask.request
        ask.result = self.retriever.fetch(
            ask.question, tenant=request.tenant, plan=ask.plan, k=request.k, mode=request.mode
        )
        ask.hits = list(ask.result.hits)
        ask.record(retrieval_attributes, ask.result)
        return ()


class Rerank(_PassThrough):
    """Orders the retrieved hits for answering (pass-through until a reranker lands)."""

    name, kind = "rerank", "rerank"


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


class GuardOut(_PassThrough):
    """Checks the answer before it is sent (pass-through until guards land)."""

    name, kind = "guard_out", "guard"


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
            }
        )
    return out


__all__ = [
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
