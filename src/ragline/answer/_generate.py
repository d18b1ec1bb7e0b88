"""LLM answers with verified citations: prompt → model → citation check → Answer.

:class:`GroundedAnswerer` numbers the retrieved chunks into a versioned prompt (cut
to a token budget, lowest-ranked chunks first), asks the model, then checks every
[n] marker with :func:`verify_citations`. ``answer`` returns a
:class:`GeneratedAnswer` (the :class:`Answer` plus usage, cost, prompt version and
the citation report); ``stream`` yields typed events (see ``_events``) and never
raises once it has started: a failing model ends the stream with an ``error`` event
whose ``partial_text`` is what was sent so far.

With no hits the answer abstains without calling the model; a reply that is the
abstain text (the prompt tells the model to use it) is an abstention too.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragline._time import elapsed_ms
from ragline.answer._answerer import Draft, citation_events, done_event
from ragline.answer._citations import (
    CitationReport,
    SentenceScorer,
    verify_citations,
)
from ragline.answer._events import DeltaEvent, ErrorEvent, Event, RetrievalEvent
from ragline.answer._extractive import ABSTAIN_TEXT
from ragline.answer._prompts import PromptTemplate, RenderedPrompt, TokenCounter

if TYPE_CHECKING:
    from ragline.prompts import ResolvedPrompt
from ragline.embed._base import Embedder
from ragline.errors import ConfigError, InputError, ProviderError
from ragline.models._base import FinishReason, Model, Usage
from ragline.models._pricing import Price, cost_usd, estimate_tokens, price_for
from ragline.trace._tracer import NoopSpan, Span, span
from ragline.types import DEFAULT_TENANT, Answer, Hit

logger = logging.getLogger("ragline.answer")


@dataclass(slots=True)
class GeneratedAnswer:
    """An LLM answer and what it took to make it."""

    answer: Answer
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = 0.0  #: None when the model has no known price
    prompt_version: str = ""
    prompt_text: str = ""
    report: CitationReport = field(default_factory=CitationReport)
    dropped_hits: list[Hit] = field(default_factory=list)  #: cut to fit the token budget
    finish_reason: FinishReason = "stop"  #: "length" means max_tokens cut the answer


def _norm(text: str) -> str:
    return " ".join(re.sub(r"\[[^\]]*\]|[^\w\s]", " ", text.lower()).split())


class GroundedAnswerer:
    """Answer from retrieved hits with a chat or completion model, citations checked."""

    name = "grounded"

    def __init__(
        self,
        model: Model,
        embedder: Embedder,
        *,
        template: str | Path | PromptTemplate = "grounded_v2",
        token_budget: int = 3000,
        max_tokens: int = 512,
        temperature: float = 0.0,
        min_support: float = 0.45,
        attribute_min: float = 0.55,
        unsupported: str = "mark",
        abstain_text: str = ABSTAIN_TEXT,
        count_tokens: TokenCounter = estimate_tokens,
        price: Price | None = None,
        scorer: SentenceScorer | None = None,
        canary: str | None = None,
        prompts: Callable[[str], ResolvedPrompt] | None = None,
    ) -> None:
        self.model = model
        #: the prompt that answers a tenant's request (its label); None: ``template``
        self.prompts = prompts
        #: appended to the system prompt; the leak guard blocks an answer repeating it
        self.canary = canary
        self.template = (
            template if isinstance(template, PromptTemplate) else PromptTemplate.load(template)
        )
        self.token_budget = token_budget
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.min_support = min_support
        self.attribute_min = attribute_min
        if unsupported not in ("mark", "drop"):
            raise ConfigError(
                f"answer.unsupported must be 'mark' or 'drop' (got {unsupported!r})",
                hint="mark keeps the sentence with supported: false; drop leaves it out",
            )
        #: a sentence below min_support: "mark" (supported=False) or "drop"
        self.unsupported = unsupported
        self.abstain_text = abstain_text
        self.count_tokens = count_tokens
        self.price = price
        if scorer is None:  # support.checker's default: the built-in fitted checker
            from ragline.answer._support_model import FactScorer

            scorer = FactScorer()
        self.scorer: SentenceScorer = scorer

    @property
    def system_prompt(self) -> str:
        """The template's system section (placeholders unfilled), without the canary:
        what the leak guard looks for verbatim in answers."""
        return self.template.sections.get("system", "") if self.template.kind == "chat" else ""

    def _shown(self, text: str) -> str:
        """``text`` as traces show it: the canary masked."""
        if not self.canary:
            return text
        from ragline.guards._leak import CANARY_MASK

        return text.replace(self.canary, CANARY_MASK)

    def _with_canary(self, rendered: RenderedPrompt) -> RenderedPrompt:
        """The canary line appended to the system message (chat templates only)."""
        messages = rendered.messages
        if not self.canary or not messages or messages[0].role != "system":
            return rendered
        from dataclasses import replace

        from ragline.guards._leak import canary_line

        first = replace(messages[0], content=f"{messages[0].content}\n{canary_line(self.canary)}")
        return replace(rendered, messages=[first, *messages[1:]])

    # -- shared steps --------------------------------------------------------------

    def _render(
        self,
        question: str,
        hits: Sequence[Hit],
        template: PromptTemplate | None = None,
        label: str | None = None,
    ) -> RenderedPrompt:
        if not question or not question.strip():
            raise InputError("the question is empty", hint="ask a question with some words in it")
        template = template or self.template
        with span("ragline.prompt", "prompt") as sp:
            rendered = template.render(
                question,
                hits,
                token_budget=self.token_budget,
                count_tokens=self.count_tokens,
                abstain_text=self.abstain_text,
            )
            rendered = self._with_canary(rendered)
            if sp.is_recording:
                sp.update(
                    {
                        "ragline.prompt.template": template.name,
                        "ragline.prompt.name": template.name,
                        "ragline.prompt.version": rendered.version,
                        "ragline.prompt.label": label,
                        "ragline.prompt.tokens": rendered.tokens,
                        "ragline.prompt.token_budget": self.token_budget,
                        "ragline.prompt": self._shown(rendered.text),
                        "ragline.prompt.included": [h.chunk.id for h in rendered.included_hits],
                        "ragline.prompt.dropped": [h.chunk.id for h in rendered.dropped_hits],
                    }
                )
        return rendered

    def _model_span(self, rendered: RenderedPrompt, *, stream: bool) -> Span | NoopSpan:
        """The span of one model call (OpenTelemetry GenAI names), not yet current."""
        sp = span("ragline.generate", "model")
        if sp.is_recording:
            system, _, model = self.model.name.partition(":")
            sp.update(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.system": system,
                    "gen_ai.request.model": model or system,
                    "gen_ai.request.max_tokens": self.max_tokens,
                    "gen_ai.request.temperature": self.temperature,
                    "ragline.stream": stream,
                    "ragline.messages": [
                        {"role": m.role, "content": self._shown(m.content)}
                        for m in rendered.messages
                    ],
                }
            )
        return sp

    def _model_done(
        self,
        sp: Span | NoopSpan,
        text: str,
        usage: Usage | None,
        finish: str | None,
        cost: float | None,
        latency_ms: float,
        *,
        cached: bool = False,
    ) -> None:
        if not sp.is_recording:
            return
        sp.update(
            {
                "gen_ai.completion": text,
                "gen_ai.response.model": self._answered_by(),
                "gen_ai.response.finish_reasons": [finish] if finish else [],
                "ragline.cost_usd": cost,
                "ragline.latency_ms": round(latency_ms, 3),
                "ragline.cached": cached,
            }
        )
        if usage is not None:
            sp.set("gen_ai.usage.input_tokens", usage.prompt_tokens)
            sp.set("gen_ai.usage.output_tokens", usage.completion_tokens)
            sp.set("ragline.usage.estimated", usage.estimated)

    def _options(self, rendered: RenderedPrompt) -> dict[str, Any]:
        options: dict[str, Any] = {"max_tokens": self.max_tokens, "temperature": self.temperature}
        if rendered.stop:
            options["stop"] = list(rendered.stop)
        return options

    def _cost(self, usage: Usage, reported: float | None = None) -> float | None:
        if reported is not None:
            return reported
        return cost_usd(usage, self.price or price_for(self.model.name))

    def _answered_by(self) -> str:
        """The model that answered: in a fallback chain, the member that did."""
        return getattr(self.model, "answered_by", None) or self.model.name

    def _is_abstention(self, text: str) -> bool:
        said, abstain = _norm(text), _norm(self.abstain_text)
        return not said or (abstain in said and len(said) <= 2 * len(abstain))

    # -- the two steps of the Answerer protocol --------------------------------------

    def draft(
        self,
        question: str,
        hits: Sequence[Hit],
        *,
        tenant: str = DEFAULT_TENANT,
        query_vector: object = None,
        stream: bool = False,
    ) -> Iterator[DeltaEvent | ErrorEvent | Draft]:
        """The model's answer: one ``complete`` call, or deltas as it streams.

        ``query_vector`` is accepted (and unused) so the pipeline can treat every
        answerer alike. Streaming, a model failure ends with an :class:`ErrorEvent`
        instead of a :class:`Draft`; in one call, it raises.
        """
        yield from self._write(self._prompted(question, hits, tenant), stream=stream)

    def cite(self, draft: Draft) -> Answer:
        """Check the citations of the draft's text and build the answer (or an abstention)."""
        start = time.perf_counter()
        answer = Answer(question=draft.question, text=self.abstain_text, hits=list(draft.hits))
        answer.model, answer.tenant, answer.abstained = draft.model, draft.tenant, True
        answer.prompt_version = draft.prompt_version
        answer.prompt_name, answer.prompt_label = draft.prompt_name or None, draft.prompt_label
        if draft.context and not self._is_abstention(draft.text):
            cited = verify_citations(
                draft.text,
                draft.context,
                self.scorer,
                min_support=self.min_support,
                attribute_min=self.attribute_min,
            )
            answer.text, answer.sentences, answer.references = (
                cited.text,
                cited.sentences,
                cited.references,
            )
            answer.support, answer.abstained, draft.report = cited.support, False, cited.report
            if self.unsupported == "drop" and not all(s.supported for s in answer.sentences):
                self._drop_unsupported(answer)
        draft.timings_ms["cite"] = elapsed_ms(start)
        answer.timings_ms = draft.timings_ms
        return answer

    def _drop_unsupported(self, answer: Answer) -> None:
        """``answer.unsupported: drop``: leave out the sentences no passage supports. The
        references stay numbered as they were (a marker left still points where it did);
        an answer with no supported sentence left is the abstention."""
        from ragline.answer._sentence_spans import sentence_spans

        spans = sentence_spans(answer.text)
        kept = [s for s in answer.sentences if s.supported]
        if not kept:
            answer.text, answer.sentences, answer.references = self.abstain_text, [], []
            answer.support, answer.abstained = 0.0, True
            return
        if len(spans) == len(answer.sentences):
            pieces = [
                answer.text[start:end]
                for (start, end, _), s in zip(spans, answer.sentences, strict=True)
                if s.supported
            ]
            answer.text = " ".join(pieces)
        else:  # the text cannot be cut sentence by sentence: rebuild it from the kept ones
            answer.text = " ".join(s.text + "".join(f" [{n}]" for n in s.citations) for s in kept)
        used = {n for s in kept for n in s.citations}
        answer.references = [r for r in answer.references if r.number in used]
        answer.sentences = kept
        answer.support = round(sum(s.support for s in kept) / len(kept), 4)

    def _prompted(self, question: str, hits: Sequence[Hit], tenant: str) -> Draft:
        """A draft with no text yet: the rendered prompt and its numbered context.

        Bad input (an empty question, a budget too small for the question) raises here.
        """
        start = time.perf_counter()
        template, label = self.template, None
        if self.prompts is not None:
            resolved = self.prompts(tenant)
            template, label = resolved.prompt.template, resolved.label
        rendered = self._render(question, hits, template, label)
        return Draft(
            question=question,
            tenant=tenant,
            hits=list(hits),
            text="",
            model=self.model.name,
            context=list(rendered.included_hits),
            usage=Usage(),
            prompt_version=rendered.version,
            prompt_name=template.name,
            prompt_label=label,
            prompt=rendered,
            timings_ms={"prompt": elapsed_ms(start)},
            attributes={
                "ragline.answerer": self.name,
                "ragline.citations.min_support": self.min_support,
            },
        )

    def _write(self, draft: Draft, *, stream: bool) -> Iterator[DeltaEvent | ErrorEvent | Draft]:
        rendered = draft.prompt
        assert rendered is not None
        if not rendered.included_hits:  # nothing to answer from: abstain, no model call
            yield draft
            return
        if stream:
            yield from self._streamed(draft, rendered)
        else:
            yield from self._completed(draft, rendered)

    def _completed(self, draft: Draft, rendered: RenderedPrompt) -> Iterator[DeltaEvent | Draft]:
        timings = draft.timings_ms
        start = time.perf_counter()
        with self._model_span(rendered, stream=False) as sp:
            completion = self.model.complete(rendered.messages, **self._options(rendered))
            timings["generate"] = elapsed_ms(start)
            cost = self._cost(completion.usage, completion.cost_usd)
            self._model_done(
                sp,
                completion.text,
                completion.usage,
                completion.finish_reason,
                cost,
                completion.latency_ms or timings["generate"],
                cached=completion.cached,
            )
        if completion.text:
            yield DeltaEvent(completion.text)
        draft.text, draft.model = completion.text, self._answered_by()
        draft.usage, draft.cost_usd = completion.usage, cost
        draft.finish_reason = completion.finish_reason
        yield draft

    def _streamed(
        self, draft: Draft, rendered: RenderedPrompt
    ) -> Iterator[DeltaEvent | ErrorEvent | Draft]:
        timings = draft.timings_ms
        parts: list[str] = []
        usage: Usage | None = None
        finish: FinishReason | None = None
        start = time.perf_counter()
        # not current across the yields below: ended explicitly, also on abandon
        sp = self._model_span(rendered, stream=True)
        try:
            for delta in self.model.stream(rendered.messages, **self._options(rendered)):
                if delta.text:
                    if not parts:
                        timings["first_token"] = elapsed_ms(start)
                        sp.set("ragline.first_token_ms", round(timings["first_token"], 3))
                    parts.append(delta.text)
                    yield DeltaEvent(delta.text)
                usage = delta.usage or usage
                finish = delta.finish_reason or finish
        except GeneratorExit:
            sp.set("ragline.stream.abandoned", True)
            self._model_done(sp, "".join(parts), usage, finish, None, elapsed_ms(start))
            sp.end()
            raise
        except Exception as exc:
            sp.record_exception(exc)
            self._model_done(sp, "".join(parts), usage, finish, None, elapsed_ms(start))
            sp.end()
            yield self._error(exc, "".join(parts))
            return
        text = "".join(parts)
        timings["generate"] = elapsed_ms(start)
        cost = self._cost(usage) if usage is not None else None
        self._model_done(sp, text, usage, finish, cost, timings["generate"])
        if finish is None:
            sp.set_status("error", "the model stream ended without a finish signal")
            sp.end()
            yield self._error(None, text)
            return
        sp.end()
        usage = usage or Usage(
            sum(estimate_tokens(m.content) for m in rendered.messages),
            estimate_tokens(text),
            estimated=True,
        )
        draft.text, draft.model, draft.finish_reason = text, self._answered_by(), finish
        draft.usage, draft.cost_usd = usage, self._cost(usage)
        yield draft

    # -- on its own: the answer, or its events -----------------------------------------

    def answer(
        self, question: str, hits: Sequence[Hit], *, tenant: str = DEFAULT_TENANT
    ) -> GeneratedAnswer:
        """Ask the model (one ``complete`` call) and check its citations."""
        draft = next(d for d in self.draft(question, hits, tenant=tenant) if isinstance(d, Draft))
        return self._generated(draft, self.cite(draft))

    def stream(
        self, question: str, hits: Sequence[Hit], *, tenant: str = DEFAULT_TENANT
    ) -> Iterator[Event]:
        """Events: retrieval, deltas, one citation per sentence, then done (or error).

        Bad input (an empty question, a budget too small for the question) raises
        here, before any event; after that the iterator never raises.
        """
        return self._events(self._prompted(question, hits, tenant))

    def _events(self, prompted: Draft) -> Iterator[Event]:
        yield RetrievalEvent(list(prompted.hits))
        draft: Draft | None = None
        for item in self._write(prompted, stream=True):
            if isinstance(item, Draft):
                draft = item
                continue
            yield item
            if isinstance(item, ErrorEvent):
                return
        assert draft is not None
        try:
            answer = self.cite(draft)
        except Exception as exc:
            yield self._error(exc, draft.text, stage="checking its citations")
            return
        yield from citation_events(answer)
        yield done_event(answer, draft)

    def _generated(self, draft: Draft, answer: Answer) -> GeneratedAnswer:
        prompt = draft.prompt
        return GeneratedAnswer(
            answer,
            usage=draft.usage or Usage(),
            cost_usd=draft.cost_usd,
            prompt_version=draft.prompt_version,
            prompt_text=self._shown(prompt.text) if prompt is not None else "",
            report=draft.report or CitationReport(),
            dropped_hits=list(prompt.dropped_hits) if prompt is not None else [],
            finish_reason=draft.finish_reason,
        )

    def _error(
        self, exc: BaseException | None, partial: str, *, stage: str = "answering"
    ) -> ErrorEvent:
        if exc is None:
            reason = "the model stream ended without a finish signal"
            retryable = True
        elif isinstance(exc, ProviderError):
            reason, retryable = str(exc), bool(getattr(exc, "retryable", False))
        else:
            logger.exception("%s failed while %s", self.model.name, stage)
            reason, retryable = f"{type(exc).__name__}: {exc}", False
        if stage != "answering":
            tail = "; the answer text is complete but its citations were not checked"
        elif partial:
            tail = "; the text so far is partial"
        else:
            tail = "; no answer text was produced"
        message = f"{self.model.name} failed while {stage}: {reason}{tail}"
        return ErrorEvent(message, partial, retryable)


__all__ = ["GeneratedAnswer", "GroundedAnswerer"]
