"""Answering: the pipeline of named stages every ask runs through, the ``Answerer``
protocol with its two answerers — the offline extractive one (cited sentences,
abstention) and LLM answers from versioned prompts with verified citations — and the
events of a streamed answer."""

from ragline.answer._answerer import Answerer, Draft
from ragline.answer._chat import Chat, ChatReply
from ragline.answer._citations import (
    CitationReport,
    CitedText,
    SupportScorer,
    marker_numbers,
    verify_citations,
)
from ragline.answer._events import (
    CitationEvent,
    ConversationEvent,
    DeltaEvent,
    DoneEvent,
    ErrorEvent,
    Event,
    RetrievalEvent,
)
from ragline.answer._extractive import ABSTAIN_TEXT, ExtractiveAnswerer, ExtractiveTuning
from ragline.answer._extractive_model import ExtractiveModel
from ragline.answer._generate import GeneratedAnswer, GroundedAnswerer
from ragline.answer._pipeline import Pipeline
from ragline.answer._prompts import PromptTemplate, RenderedPrompt, format_chunk
from ragline.answer._request import AskOptions, AskRequest, SearchOptions, check_question
from ragline.answer._sentences import Segment, segments, split_sentences
from ragline.answer._stages import Ask, Stage
from ragline.answer._support_model import FactScorer

__all__ = [
    "ABSTAIN_TEXT",
    "Answerer",
    "Ask",
    "AskOptions",
    "AskRequest",
    "Chat",
    "ChatReply",
    "CitationEvent",
    "CitationReport",
    "CitedText",
    "ConversationEvent",
    "DeltaEvent",
    "DoneEvent",
    "Draft",
    "ErrorEvent",
    "Event",
    "ExtractiveAnswerer",
    "ExtractiveModel",
    "ExtractiveTuning",
    "FactScorer",
    "GeneratedAnswer",
    "GroundedAnswerer",
    "Pipeline",
    "PromptTemplate",
    "RenderedPrompt",
    "RetrievalEvent",
    "SearchOptions",
    "Segment",
    "Stage",
    "SupportScorer",
    "check_question",
    "format_chunk",
    "marker_numbers",
    "segments",
    "split_sentences",
    "verify_citations",
]


def _register_extractive_model() -> None:
    from ragline.answer._extractive_model import build_extractive
    from ragline.models._factory import BUILTINS

    BUILTINS.setdefault("extractive", build_extractive)


_register_extractive_model()
