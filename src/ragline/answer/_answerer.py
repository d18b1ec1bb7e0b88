"""The ``Answerer`` protocol: write an answer from the hits, then cite it.

Every answerer — the offline extractive one, an LLM through a grounded prompt — works
in the same two steps, which are two stages of the pipeline:

- :meth:`Answerer.draft` writes the text: it yields :class:`DeltaEvent`\\ s as the text
  is written and ends with one :class:`Draft` (or, when streaming, an
  :class:`ErrorEvent` if the model failed part-way). With ``stream=False`` a model is
  asked in one call and a failure raises.
- :meth:`Answerer.cite` turns the draft into the :class:`~ragline.types.Answer`: every
  sentence cited, unsupported citations dropped or flagged — or an abstention.

So the pipeline never asks which answerer it runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ragline.answer._events import CitationEvent, DeltaEvent, DoneEvent, ErrorEvent
from ragline.models._base import FinishReason, Usage
from ragline.types import Answer, Hit

if TYPE_CHECKING:
    from ragline.answer._citations import CitationReport
    from ragline.answer._prompts import RenderedPrompt
    from ragline.store._base import Vector


@dataclass(slots=True)
class Draft:
    """An answer as written, before its citations are checked."""

    question: str
    tenant: str
    hits: list[Hit]
    text: str
    model: str
    #: the hits the text's ``[n]`` markers number (the prompt's context)
    context: list[Hit] = field(default_factory=list)
    #: an answer that is cited as it is written (the extractive answerer's)
    cited: Answer | None = None
    usage: Usage | None = None  #: None: nothing was asked of a language model
    cost_usd: float | None = 0.0
    finish_reason: FinishReason = "stop"
    prompt_version: str = ""
    prompt_name: str = ""
    #: the label that chose the prompt version (``production``…); None: the current file
    prompt_label: str | None = None
    #: the prompt the model was sent, when there was one
    prompt: RenderedPrompt | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    #: what the answerer adds to the ``ragline.answer`` span (small, known values)
    attributes: dict[str, Any] = field(default_factory=dict)
    #: what :meth:`Answerer.cite` found (markers dropped, weak support…), when it checks
    report: CitationReport | None = None


@runtime_checkable
class Answerer(Protocol):
    """Writes cited answers from retrieved hits (see the module docstring)."""

    name: str

    def draft(
        self,
        question: str,
        hits: Sequence[Hit],
        *,
        tenant: str,
        query_vector: Vector | None = None,
        stream: bool = False,
    ) -> Iterator[DeltaEvent | ErrorEvent | Draft]: ...

    def cite(self, draft: Draft) -> Answer: ...


def citation_events(answer: Answer) -> Iterator[CitationEvent]:
    """One event per answer sentence: its reference numbers and support."""
    for i, s in enumerate(answer.sentences):
        yield CitationEvent(i, list(s.citations), s.support, s.text, s.supported)


def done_event(answer: Answer, draft: Draft) -> DoneEvent:
    """The stream's last event for ``answer`` (usage estimated or reported by the model)."""
    return DoneEvent(
        answer,
        draft.usage or Usage(),
        draft.cost_usd,
        dict(answer.timings_ms),
        draft.finish_reason,
    )


__all__ = ["Answerer", "Draft", "citation_events", "done_event"]
