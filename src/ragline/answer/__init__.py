"""Answering: the offline extractive answerer (cited sentences, abstention) and
LLM answers from versioned prompts with verified citations, whole or streamed."""

from ragline.answer._citations import (
    CitationReport,
    CitedText,
    SupportScorer,
    marker_numbers,
    verify_citations,
)
from ragline.answer._events import (
    CitationEvent,
    DeltaEvent,
    DoneEvent,
    ErrorEvent,
    Event,
    RetrievalEvent,
)
from ragline.answer._extractive import ABSTAIN_TEXT, ExtractiveAnswerer, ExtractiveTuning
from ragline.answer._generate import GeneratedAnswer, GroundedAnswerer
from ragline.answer._prompts import PromptTemplate, RenderedPrompt, format_chunk
from ragline.answer._sentences import Segment, segments, split_sentences

__all__ = [
    "ABSTAIN_TEXT",
    "CitationEvent",
    "CitationReport",
    "CitedText",
    "DeltaEvent",
    "DoneEvent",
    "ErrorEvent",
    "Event",
    "ExtractiveAnswerer",
    "ExtractiveTuning",
    "GeneratedAnswer",
    "GroundedAnswerer",
    "PromptTemplate",
    "RenderedPrompt",
    "RetrievalEvent",
    "Segment",
    "SupportScorer",
    "format_chunk",
    "marker_numbers",
    "segments",
    "split_sentences",
    "verify_citations",
]
