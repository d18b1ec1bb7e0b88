"""Shared value types: documents, chunks, hits, citations and answers.

These are plain dataclasses so every layer (store, retrieval, answer, CLI, HTTP)
speaks the same language. ``to_dict`` gives a JSON-ready view.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

JSONValue = Any
Metadata = dict[str, JSONValue]

DEFAULT_TENANT = "default"


@dataclass(slots=True)
class Document:
    """One source document (a file, or one record of a JSON/JSONL file)."""

    id: str
    source: str
    title: str
    content_hash: str
    tenant: str = DEFAULT_TENANT
    doc_type: str | None = None
    language: str | None = None
    metadata: Metadata = field(default_factory=dict)
    embedder: str | None = None
    chunk_count: int = 0
    updated_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(slots=True)
class Chunk:
    """A retrievable piece of a document.

    ``text`` is the chunk's own text. ``indexed_text`` prepends the document title
    and section path: that is what gets embedded and keyword-indexed, so a chunk
    split off from its heading still says what it is about.
    """

    id: str
    document_id: str
    ordinal: int
    text: str
    title: str
    tenant: str = DEFAULT_TENANT
    section_path: list[str] = field(default_factory=list)
    page: int | None = None
    language: str | None = None
    doc_type: str | None = None
    source: str = ""
    content_hash: str = ""
    metadata: Metadata = field(default_factory=dict)

    @property
    def section(self) -> str:
        return " > ".join(self.section_path)

    @property
    def indexed_text(self) -> str:
        context = chunk_context(self.metadata, self.title)
        return indexed_text(self.title, self.section_path, self.text, context=context)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["section"] = self.section
        return d


def indexed_text(title: str, section_path: list[str], text: str, *, context: str = "") -> str:
    """The text that is embedded and indexed for a chunk: title, sections, then (when
    there is any) a line saying what the document is, then the body."""
    head = [title] if title else []
    head += [s for s in section_path if s and s != title]
    lines = [" > ".join(head)] if head else []
    if context:
        lines.append(context)
    if not lines:
        return text
    return "\n".join(lines) + "\n" + text


#: chunk metadata put into the indexed text on a line of its own (see :func:`chunk_context`):
#: the document's organisation, period, type and file name, found at ingest
CONTEXT_KEYS = ("ragline.org", "ragline.period", "ragline.doc_type", "ragline.file")
_NAME_SEPARATORS = re.compile(r"[_\-.\s]+")


def chunk_context(metadata: Metadata, title: str = "") -> str:
    """``"Apple Inc. · 2022-Q3 · 10-Q · aapl 20220924"``: the :data:`CONTEXT_KEYS` values a
    chunk has, each left out when the title already says it (a file name is written
    with its separators as spaces, without its extension, so its words are searchable)."""
    seen = title.casefold()
    parts: list[str] = []
    for key in CONTEXT_KEYS:
        value = metadata.get(key)
        if not isinstance(value, str) or not value.strip():
            continue
        if key == "ragline.file":
            stem = value.rsplit(".", 1)[0] if "." in value[1:] else value
            value = _NAME_SEPARATORS.sub(" ", stem).strip()
        if value and value.casefold() not in seen:
            parts.append(value)
            seen += " " + value.casefold()
    return " · ".join(parts)


@dataclass(slots=True)
class Hit:
    """A retrieved chunk with its fused score and each retriever's score and rank."""

    chunk: Chunk
    score: float
    scores: dict[str, float] = field(default_factory=dict)
    ranks: dict[str, int] = field(default_factory=dict)
    #: the retrieval guard flagged the chunk as carrying instructions and the policy is
    #: ``guards.injection.documents: quote``: answerers see it as untrusted quoted data
    quoted: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "document_id": self.chunk.document_id,
            "chunk_id": self.chunk.id,
            "title": self.chunk.title,
            "section": self.chunk.section,
            "source": self.chunk.source,
            "page": self.chunk.page,
            "language": self.chunk.language,
            "doc_type": self.chunk.doc_type,
            "score": self.score,
            "scores": dict(self.scores),
            "ranks": dict(self.ranks),
            "text": self.chunk.text,
            "metadata": dict(self.chunk.metadata),
            "quoted": self.quoted,
        }


@dataclass(slots=True)
class Reference:
    """An entry of an answer's references list; ``number`` is the [n] marker."""

    number: int
    chunk_id: str
    document_id: str
    title: str
    section: str
    source: str
    page: int | None = None

    @classmethod
    def for_chunk(cls, chunk: Chunk, number: int) -> Reference:
        """The reference ``[number]`` to ``chunk``."""
        return cls(
            number=number,
            chunk_id=chunk.id,
            document_id=chunk.document_id,
            title=chunk.title,
            section=chunk.section,
            source=chunk.source,
            page=chunk.page,
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(slots=True)
class AnswerSentence:
    """One sentence of an answer, the references that support it and how well."""

    text: str
    citations: list[int] = field(default_factory=list)
    support: float = 0.0
    #: False for an LLM sentence no cited passage supports (support < ``answer.min_support``)
    supported: bool = True

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(slots=True)
class GuardTrigger:
    """A guard that did more than allow: which one, at which stage, what it did, why.

    ``error`` is the type of the exception a guard raised (its ``on_error`` policy chose
    ``action``); the message, which may quote the text, is only in the trace."""

    guard: str
    stage: str
    action: str
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(slots=True)
class Answer:
    """A grounded answer: text with [n] markers, per-sentence citations, references."""

    question: str
    text: str
    sentences: list[AnswerSentence] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    abstained: bool = False
    model: str = "extractive"
    tenant: str = DEFAULT_TENANT
    support: float = 0.0
    timings_ms: dict[str, float] = field(default_factory=dict)
    #: LLM answers: token usage, cost (None when the model has no known price) and
    #: the prompt template's version; extractive answers leave them empty.
    usage: dict[str, Any] | None = None
    cost_usd: float | None = None
    prompt_version: str | None = None
    #: LLM answers: the prompt's name, and the label that chose its version (None:
    #: the prompt file as it is now, no label)
    prompt_name: str | None = None
    prompt_label: str | None = None
    #: the experiment and variant that answered (``experiments:``), else None
    experiment: str | None = None
    variant: str | None = None
    #: the id of this request's trace (``ragline traces show ID``), when traced
    trace_id: str | None = None
    #: guards that flagged, redacted or blocked; ``blocked``: the text is a refusal
    guards: list[GuardTrigger] = field(default_factory=list)
    blocked: bool = False

    @property
    def refusal_reason(self) -> str | None:
        """The machine-readable reason of a refusal (``injection.override``), else None."""
        if not self.blocked:
            return None
        for trigger in self.guards:
            if trigger.action == "block":
                return trigger.reasons[0] if trigger.reasons else f"{trigger.guard}.blocked"
        return "guard.blocked"

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "trace_id": self.trace_id,
            "usage": self.usage,
            "cost_usd": self.cost_usd,
            "prompt_version": self.prompt_version,
            "prompt_name": self.prompt_name,
            "prompt_label": self.prompt_label,
            "experiment": self.experiment,
            "variant": self.variant,
            "text": self.text,
            "abstained": self.abstained,
            "model": self.model,
            "tenant": self.tenant,
            "support": self.support,
            "sentences": [s.to_dict() for s in self.sentences],
            "references": [r.to_dict() for r in self.references],
            "hits": [h.to_dict() for h in self.hits],
            "timings_ms": dict(self.timings_ms),
            "blocked": self.blocked,
            "refusal_reason": self.refusal_reason,
            "guards": [g.to_dict() for g in self.guards],
        }
