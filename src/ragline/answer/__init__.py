"""Answering: the offline extractive answerer (cited sentences, abstention)."""

from ragline.answer._extractive import ABSTAIN_TEXT, ExtractiveAnswerer, ExtractiveTuning
from ragline.answer._sentences import Segment, segments, split_sentences

__all__ = [
    "ABSTAIN_TEXT",
    "ExtractiveAnswerer",
    "ExtractiveTuning",
    "Segment",
    "segments",
    "split_sentences",
]
