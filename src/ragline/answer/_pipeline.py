"""The answer pipeline: one ordered list of named stages, the only implementation of an ask.

:meth:`Pipeline.stream` runs the stages (see :mod:`._stages`) and yields the answer's
events: ``retrieval`` (after the retrieval stages), the ``delta``\\ s, one
``citation`` per sentence, then ``done`` — or an ``error`` that ends the stream when
the model fails part-way. :meth:`Pipeline.ask` drains it; :meth:`Pipeline.search`
runs only the retrieval stages. ``Project.ask``, ``Project.ask_stream``, chat (CLI and
HTTP) and the OpenAI-compatible route all come here.

Tracing is done here, once: the request is one root span (``ragline.ask``, or
``ragline.search``) and each stage one child span that the pipeline opens, fills
with what the stage put in ``ask.trace``, and ends — also when the consumer stops
early (``ragline.stream.abandoned``) or a stage fails (status ``error``). Timings: the
retrieval phase (``retrieval``), the answer phase (``answer``) and ``total``, next to
the sub-steps the retriever and answerer measure.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ragline._time import elapsed_ms
from ragline.answer._answerer import done_event
from ragline.answer._events import DoneEvent, ErrorEvent, Event, RetrievalEvent
from ragline.answer._request import AskRequest, check_question
from ragline.answer._stages import Ask, Stage
from ragline.embed._memo import Memo, ask_vectors
from ragline.errors import ProviderError
from ragline.retrieve import SearchResult
from ragline.trace import _attrs
from ragline.trace._tracer import NoopSpan, Span, Tracer, activate, iterate_in
from ragline.types import Answer

AnySpan = Span | NoopSpan


class Pipeline:
    """``retrieval`` stages then ``answering`` stages, traced by ``tracer()``.

    ``attributes`` are recorded on every root span (e.g. the model asked); ``warmup``
    loads models once and returns the milliseconds it took (reported as
    ``load_model``, outside ``total``).
    """

    def __init__(
        self,
        retrieval: Sequence[Stage],
        answering: Sequence[Stage],
        *,
        tracer: Callable[[], Tracer],
        max_question_chars: int,
        default_k: int,
        attributes: Mapping[str, Any] | None = None,
        warmup: Callable[[], float] | None = None,
        watch: Callable[[Ask, Iterator[Event]], Iterator[Event]] | None = None,
        answered: Callable[[AskRequest, Answer], object] | None = None,
    ) -> None:
        self.retrieval = list(retrieval)
        self.answering = list(answering)
        self._tracer = tracer
        self.max_question_chars = max_question_chars
        self.default_k = default_k
        self.attributes = dict(attributes or {})
        self._warmup = warmup
        #: filters a streamed answer's events (the output guard's held-back window)
        self.watch = watch
        #: told of each answered request before its ``done`` event (shadow variants);
        #: must not block or raise
        self.answered = answered

    @property
    def stages(self) -> list[Stage]:
        return [*self.retrieval, *self.answering]

    # -- entry points -------------------------------------------------------------------

    def ask(self, request: AskRequest) -> Answer:
        """The answer (the model asked in one call); failures raise."""
        for event in self.stream(replace(request, stream=False) if request.stream else request):
            if isinstance(event, DoneEvent):
                return event.answer
            if isinstance(event, ErrorEvent):
                raise ProviderError(event.message)
        raise AssertionError("the pipeline ended without an answer")  # pragma: no cover

    def search(self, request: AskRequest) -> SearchResult:
        """Only the retrieval stages: the hits, with timings and the rules that fired."""
        ask, root, load_ms = self._begin(request, "ragline.search", "search")
        try:
            root.update({"ragline.query": request.question, "ragline.tenant": request.tenant})
            # guards judge what reaches a model or a reader: a search reaches neither
            stages = [s for s in self.retrieval if s.kind != "guard"]
            for _ in self._run(stages, ask, root):
                pass
            assert ask.result is not None, "a retrieval stage fills in the result"
            result = replace(ask.result, hits=list(ask.hits))
            if load_ms:
                result.timings_ms["load_model"] = load_ms
            return result
        except BaseException as e:
            root.record_exception(e)
            raise
        finally:
            root.end()

    def stream(self, request: AskRequest) -> Iterator[Event]:
        """The answer's events (see the module docstring); the trace ends with the stream.

        The last event (``done`` or ``error``) is sent after the trace has ended, so a
        consumer that stops once it has it has not abandoned anything.
        """
        shadow = request.shadow_of is not None  # a shadow run has a root of its own name
        name, kind = ("ragline.shadow", "shadow") if shadow else ("ragline.ask", "ask")
        ask, root, load_ms = self._begin(request, name, kind)
        last: Event | None = None
        try:
            root.update(self._request_attributes(request))
            start = time.perf_counter()
            yield from self._run(self.retrieval, ask, root)
            retrieval_ms = elapsed_ms(start)
            if ask.stopped:  # an input guard blocked: the refusal, nothing retrieved
                last = self._refused(ask, root, start)
            else:
                if ask.question != request.question:  # a follow-up, asked with its context
                    root.update(
                        {"ragline.question": ask.question, "ragline.message": request.question}
                    )
                yield RetrievalEvent(list(ask.hits))
                answer_start = time.perf_counter()
                events = self._run(self.answering, ask, root)
                if request.stream and self.watch is not None:
                    events = self.watch(ask, events)
                for event in events:
                    if isinstance(event, ErrorEvent):  # the last event: _run stops after it
                        root.set_status("error", event.message)
                        root.set("ragline.answer.partial", event.partial_text)
                        last = event
                    else:
                        yield event
                if last is None and ask.stopped:  # the output guard blocked
                    last = self._refused(ask, root, start)
                if last is None:
                    answer, draft = ask.answer, ask.draft
                    assert answer is not None and draft is not None, "generate and cite ran"
                    timings = {**(ask.result.timings_ms if ask.result else {}), **answer.timings_ms}
                    timings["retrieval"] = retrieval_ms
                    timings["answer"] = elapsed_ms(answer_start)
                    timings["total"] = elapsed_ms(start)
                    if load_ms:
                        timings["load_model"] = load_ms  # once per process, not part of total
                    answer.timings_ms = timings
                    if request.assignment is not None:
                        answer.experiment = request.assignment.experiment
                        answer.variant = request.assignment.variant
                    if root.is_recording:
                        root.update(answer_attributes(answer))
                        answer.trace_id = root.trace_id
                    last = done_event(answer, draft)
        except BaseException as e:
            _ended_early(root, e)
            raise
        finally:
            root.end()
        assert last is not None
        if self.answered is not None and isinstance(last, DoneEvent) and not last.answer.blocked:
            self.answered(request, last.answer)
        yield last

    def _refused(self, ask: Ask, root: AnySpan, start: float) -> DoneEvent:
        """The ``done`` event of a blocked ask: its refusal, traced like an answer."""
        answer = ask.answer
        assert answer is not None and answer.blocked, "a guard stopped the ask with a refusal"
        answer.timings_ms = {"total": elapsed_ms(start)}
        if root.is_recording:
            root.update(answer_attributes(answer))
            root.set("ragline.guard.blocked", answer.refusal_reason)
            answer.trace_id = root.trace_id
        return DoneEvent(answer, timings_ms=dict(answer.timings_ms), finish_reason="content_filter")

    # -- plumbing -----------------------------------------------------------------------

    def _begin(self, request: AskRequest, name: str, kind: str) -> tuple[Ask, AnySpan, float]:
        check_question(request.question, max_chars=self.max_question_chars)
        load_ms = self._warmup() if self._warmup is not None else 0.0
        root = self._tracer().start_span(name, kind, tenant=request.tenant)
        if request.stream:
            root.set("ragline.stream", True)
        return Ask(request, request.question), root, load_ms

    def _run(self, stages: Sequence[Stage], ask: Ask, root: AnySpan) -> Iterator[Event]:
        """Each stage in its own span (current while the stage runs, ended after it); an
        untraced stage (``span`` None) runs in the root span."""
        tracer = self._tracer()
        for stage in stages:
            span = tracer.start_span(stage.span, stage.kind, parent=root) if stage.span else root
            ask.trace = []
            try:
                # the ask's stages embed each text once (ragline.embed._memo)
                with activate(span), ask_vectors(ask.vectors):
                    produced = stage.run(ask)  # a stage that yields nothing works here
                if isinstance(produced, Iterator):  # a generator: each step in the span
                    produced = iterate_in(span, _with_vectors(ask.vectors, produced))
                for event in produced:
                    if isinstance(event, ErrorEvent):  # the stream ends here
                        span.set_status("error", event.message)
                        yield event
                        return
                    yield event
                if ask.stopped:  # a guard blocked: no further stage runs
                    return
            except BaseException as e:
                if span is not root:  # the root records it once, as the stream ends
                    _ended_early(span, e)
                raise
            finally:
                if ask.trace and span.is_recording:
                    for attributes, args in ask.trace:
                        span.update(attributes(*args))
                if span is not root:
                    span.end()

    def _request_attributes(self, request: AskRequest) -> dict[str, Any]:
        return {
            **self.attributes,
            "ragline.question": request.question,
            "ragline.tenant": request.tenant,
            "ragline.retrieval.k": request.k if request.k is not None else self.default_k,
            "ragline.filters": [_attrs.condition(c) for c in request.filters],
            **_assignment_attributes(request),
        }


def _assignment_attributes(request: AskRequest) -> dict[str, Any]:
    """The experiment variant that answers (``experiments:``), when one does."""
    a = request.assignment
    if a is None:
        return {}
    return {
        "ragline.experiment": a.experiment,
        "ragline.variant": a.variant,
        "ragline.variant.key": a.key,
        **({"ragline.shadows": list(a.shadows)} if a.shadows else {}),
        **({"ragline.shadow.of": request.shadow_of} if request.shadow_of is not None else {}),
    }


def _ended_early(span: AnySpan, error: BaseException) -> None:
    """Record why a stream ended before its last event: the consumer stopped reading
    (``GeneratorExit``: the span is marked abandoned), or an error."""
    if isinstance(error, GeneratorExit):
        span.set("ragline.stream.abandoned", True)
    else:
        span.record_exception(error)


def answer_attributes(answer: Answer) -> dict[str, Any]:
    """What the root span of an ask records about its answer."""
    attrs: dict[str, Any] = {
        "ragline.answer": answer.text,
        "ragline.abstained": answer.abstained,
        "ragline.support": round(answer.support, 6),
        "ragline.answer.model": answer.model,
        "ragline.retrieved.chunk_ids": [h.chunk.id for h in answer.hits],
        "ragline.retrieved.document_ids": [h.chunk.document_id for h in answer.hits],
        "ragline.references": [r.chunk_id for r in answer.references],
        "ragline.timings_ms": {k: round(v, 3) for k, v in answer.timings_ms.items()},
    }
    if answer.usage:
        attrs["gen_ai.usage.input_tokens"] = answer.usage.get("prompt_tokens")
        attrs["gen_ai.usage.output_tokens"] = answer.usage.get("completion_tokens")
    if answer.cost_usd is not None:
        attrs["ragline.cost_usd"] = answer.cost_usd
    if answer.prompt_version:
        attrs["ragline.prompt.version"] = answer.prompt_version
        attrs["ragline.prompt.name"] = answer.prompt_name
        attrs["ragline.prompt.label"] = answer.prompt_label
    return attrs


def _with_vectors(memo: Memo, events: Iterator[Event]) -> Iterator[Event]:
    with ask_vectors(memo):
        yield from events


__all__ = ["Pipeline", "answer_attributes"]
