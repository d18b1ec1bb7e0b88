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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragline.answer._citations import CitationReport, SupportScorer, verify_citations
from ragline.answer._events import (
    CitationEvent,
    DeltaEvent,
    DoneEvent,
    ErrorEvent,
    Event,
    RetrievalEvent,
)
from ragline.answer._extractive import ABSTAIN_TEXT
from ragline.answer._prompts import PromptTemplate, RenderedPrompt, TokenCounter
from ragline.embed._base import Embedder
from ragline.errors import InputError, ProviderError
from ragline.models._base import FinishReason, Model, Usage
from ragline.models._pricing import Price, cost_usd, estimate_tokens, price_for
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


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


def _norm(text: str) -> str:
    return " ".join(re.sub(r"\[[^\]]*\]|[^\w\s]", " ", text.lower()).split())


class GroundedAnswerer:
    """Answer from retrieved hits with a chat or completion model, citations checked."""

    def __init__(
        self,
        model: Model,
        embedder: Embedder,
        *,
        template: str | Path | PromptTemplate = "grounded_v1",
        token_budget: int = 3000,
        max_tokens: int = 512,
        temperature: float = 0.0,
        min_support: float = 0.45,
        attribute_min: float = 0.55,
        abstain_text: str = ABSTAIN_TEXT,
        count_tokens: TokenCounter = estimate_tokens,
        price: Price | None = None,
        scorer: SupportScorer | None = None,
    ) -> None:
        self.model = model
        self.template = (
            template if isinstance(template, PromptTemplate) else PromptTemplate.load(template)
        )
        self.token_budget = token_budget
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.min_support = min_support
        self.attribute_min = attribute_min
        self.abstain_text = abstain_text
        self.count_tokens = count_tokens
        self.price = price
        self.scorer = scorer or SupportScorer(embedder)

    # -- shared steps --------------------------------------------------------------

    def _render(self, question: str, hits: Sequence[Hit]) -> RenderedPrompt:
        if not question or not question.strip():
            raise InputError("the question is empty", hint="ask a question with some words in it")
        return self.template.render(
            question,
            hits,
            token_budget=self.token_budget,
            count_tokens=self.count_tokens,
            abstain_text=self.abstain_text,
        )

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

    def _finish(
        self,
        question: str,
        hits: Sequence[Hit],
        rendered: RenderedPrompt | None,
        text: str,
        tenant: str,
        timings: dict[str, float],
    ) -> GeneratedAnswer:
        """Check the citations of ``text`` and build the answer (or an abstention)."""
        start = time.perf_counter()
        answer = Answer(question=question, text=self.abstain_text, hits=list(hits))
        answer.model, answer.tenant, answer.abstained = self.model.name, tenant, True
        result = GeneratedAnswer(answer)
        if rendered is not None:
            result.prompt_version, result.prompt_text = rendered.version, rendered.text
            result.dropped_hits = list(rendered.dropped_hits)
        if rendered is not None and rendered.included_hits and not self._is_abstention(text):
            cited = verify_citations(
                text,
                rendered.included_hits,
                self.scorer,
                min_support=self.min_support,
                attribute_min=self.attribute_min,
            )
            answer.text, answer.sentences, answer.references = (
                cited.text,
                cited.sentences,
                cited.references,
            )
            answer.support, answer.abstained, result.report = cited.support, False, cited.report
        timings["cite"] = _ms(start)
        answer.timings_ms = timings
        return result

    # -- answering -----------------------------------------------------------------

    def answer(
        self,
        question: str,
        hits: Sequence[Hit],
        *,
        tenant: str = DEFAULT_TENANT,
        query_vector: object = None,
    ) -> GeneratedAnswer:
        """Ask the model (one ``complete`` call) and check its citations.

        ``query_vector`` is accepted (and unused) so callers can treat this and
        :class:`ExtractiveAnswerer` alike.
        """
        timings: dict[str, float] = {}
        start = time.perf_counter()
        rendered = self._render(question, hits)
        timings["prompt"] = _ms(start)
        if not rendered.included_hits:
            return self._finish(question, hits, rendered, "", tenant, timings)
        start = time.perf_counter()
        completion = self.model.complete(rendered.messages, **self._options(rendered))
        timings["generate"] = _ms(start)
        result = self._finish(question, hits, rendered, completion.text, tenant, timings)
        result.answer.model = self._answered_by()
        result.usage, result.finish_reason = completion.usage, completion.finish_reason
        result.cost_usd = self._cost(completion.usage, completion.cost_usd)
        return result

    def stream(
        self, question: str, hits: Sequence[Hit], *, tenant: str = DEFAULT_TENANT
    ) -> Iterator[Event]:
        """Events: retrieval, deltas, one citation per sentence, then done (or error).

        Bad input (an empty question, a budget too small for the question) raises
        here, before any event; after that the iterator never raises.
        """
        start = time.perf_counter()
        rendered = self._render(question, hits)
        timings = {"prompt": _ms(start)}
        return self._events(question, hits, rendered, tenant, timings)

    def _events(
        self,
        question: str,
        hits: Sequence[Hit],
        rendered: RenderedPrompt,
        tenant: str,
        timings: dict[str, float],
    ) -> Iterator[Event]:
        yield RetrievalEvent(list(hits))
        parts: list[str] = []
        usage: Usage | None = None
        finish: FinishReason | None = None
        if rendered.included_hits:
            start = time.perf_counter()
            try:
                for delta in self.model.stream(rendered.messages, **self._options(rendered)):
                    if delta.text:
                        if not parts:
                            timings["first_token"] = _ms(start)
                        parts.append(delta.text)
                        yield DeltaEvent(delta.text)
                    usage = delta.usage or usage
                    finish = delta.finish_reason or finish
            except Exception as exc:
                yield self._error(exc, "".join(parts))
                return
            timings["generate"] = _ms(start)
            if finish is None:
                yield self._error(None, "".join(parts))
                return
        text = "".join(parts)
        try:
            result = self._finish(question, hits, rendered, text, tenant, timings)
        except Exception as exc:
            yield self._error(exc, text, stage="checking its citations")
            return
        if rendered.included_hits:
            result.answer.model = self._answered_by()
            usage = usage or Usage(
                sum(estimate_tokens(m.content) for m in rendered.messages),
                estimate_tokens(text),
                estimated=True,
            )
            result.usage, result.cost_usd = usage, self._cost(usage)
        for i, s in enumerate(result.answer.sentences):
            yield CitationEvent(i, list(s.citations), s.support, s.text)
        yield DoneEvent(
            result.answer, result.usage, result.cost_usd, dict(timings), finish or "stop"
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
