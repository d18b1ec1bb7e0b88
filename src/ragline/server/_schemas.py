"""Request and response bodies of the HTTP API (they make the OpenAPI schema).

Responses are built from ``to_dict()`` of the library's types and sent as-is (no
second validation pass on the hot path); these models describe them for clients.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

FilterValue = str | int | float | bool | list[str | int | float | bool]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AskRequest(_In):
    question: str = Field(min_length=1, description="the question (server.max_question_chars)")
    k: int | None = Field(None, ge=1, description="hits to answer from (≤ server.max_k)")
    filters: dict[str, FilterValue] | None = Field(
        None, description="metadata the hits must have, e.g. {'doc_type': 'finance'}"
    )
    stream: bool = Field(False, description="answer as server-sent events")
    user: str | None = Field(
        None,
        max_length=256,
        description="the end user's id: an experiment (key: user) keeps a user in one variant",
    )


class HitOut(BaseModel):
    document_id: str
    chunk_id: str
    title: str
    section: str
    source: str
    page: int | None = None
    language: str | None = None
    doc_type: str | None = None
    score: float
    scores: dict[str, float] = {}
    ranks: dict[str, int] = {}
    text: str
    metadata: dict[str, Any] = {}
    #: kept by ``guards.injection.documents: quote``: shown to the answerer as untrusted data
    quoted: bool = False


class SentenceOut(BaseModel):
    text: str
    citations: list[int]
    support: float
    #: false for an LLM sentence no cited passage supports (``answer.min_support``)
    supported: bool = True


class ReferenceOut(BaseModel):
    number: int
    chunk_id: str
    document_id: str
    title: str
    section: str
    source: str
    page: int | None = None


class GuardTriggerOut(BaseModel):
    """A guard that flagged, redacted or blocked (never the text it objected to)."""

    guard: str = Field(description="the guard: injection, pii …")
    stage: str = Field(description="input (the question), retrieval or output (the answer)")
    action: str = Field(description="flag, redact or block")
    score: float = Field(description="the guard's confidence, 0–1")
    reasons: list[str] = Field(description="reason codes, e.g. injection.override, pii.email")
    error: str | None = Field(
        None,
        description="the exception type of a guard that raised (its on_error policy chose"
        " the action)",
    )


class AnswerOut(BaseModel):
    question: str
    text: str = Field(description="the answer with [n] citation markers")
    abstained: bool
    model: str
    tenant: str
    support: float
    sentences: list[SentenceOut]
    references: list[ReferenceOut]
    hits: list[HitOut]
    timings_ms: dict[str, float]
    trace_id: str | None = None
    usage: dict[str, Any] | None = None
    cost_usd: float | None = None
    prompt_version: str | None = None
    prompt_name: str | None = Field(None, description="LLM answers: the prompt's name")
    prompt_label: str | None = Field(
        None, description="the prompt label that chose its version (production…), else null"
    )
    experiment: str | None = Field(None, description="the experiment that answered, if any")
    variant: str | None = Field(None, description="its variant that answered")
    blocked: bool = Field(
        False,
        description="a guard blocked the ask: text is a refusal (the status is still 200)",
    )
    refusal_reason: str | None = Field(
        None, description="why it was blocked: a reason code (injection.override …), else null"
    )
    guards: list[GuardTriggerOut] = Field(
        [], description="the guards that flagged, redacted or blocked"
    )


class SearchOut(BaseModel):
    query: str
    tenant: str
    mode: str
    hits: list[HitOut]
    rules_fired: list[str]
    timings_ms: dict[str, float]


class ErrorDetail(BaseModel):
    type: str
    message: str
    hint: str | None = None


class ErrorOut(BaseModel):
    error: ErrorDetail


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for the JSON error shape.

    An operation that can answer 401 can answer 403 too (a key without the scope, or a
    tenant header from a key that is not an admin key).
    """
    if 401 in codes and 403 not in codes:
        codes = (*codes, 403)
    return {code: {"model": ErrorOut} for code in sorted(codes)}
