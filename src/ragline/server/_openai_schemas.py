"""Bodies of the OpenAI-compatible endpoints (``/v1/models``, ``/v1/chat/completions``).

The request accepts what OpenAI's Chat Completions API accepts, so any OpenAI client
works unchanged; parameters that mean nothing for a cited answer from documents
(temperature, penalties, seed, tools, …) are validated and ignored. A field OpenAI
does not know either is refused (422), so a typo is not silently dropped.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ragline.server._schemas import FilterValue, GuardTriggerOut

MAX_TOKENS = 1_000_000


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    # name, tool_calls, tool_call_id, refusal, audio … are accepted and ignored
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")
    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(description="'ragline' or 'ragline:<doc_type>' (see GET /v1/models)")
    messages: list[ChatMessage] = Field(
        min_length=1, description="the question is the last user message"
    )
    stream: bool | None = Field(False, description="chat.completion.chunk server-sent events")
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS)
    max_completion_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS)
    n: int | None = Field(None, ge=1, le=1, description="only one choice is produced")
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    presence_penalty: float | None = Field(None, ge=-2, le=2)
    frequency_penalty: float | None = Field(None, ge=-2, le=2)
    stop: str | list[str] | None = None
    seed: int | None = None
    user: str | None = None
    logit_bias: dict[str, float] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(None, ge=0, le=20)
    response_format: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    functions: list[dict[str, Any]] | None = None
    function_call: str | dict[str, Any] | None = None
    metadata: dict[str, str] | None = None
    store: bool | None = None
    service_tier: str | None = None
    reasoning_effort: str | None = None
    modalities: list[str] | None = None
    # ragline's own options
    k: int | None = Field(None, ge=1, description="ragline: hits to answer from")
    filters: dict[str, FilterValue] | None = Field(
        None, description="ragline: metadata the hits must have"
    )


class ModelOut(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "ragline"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelOut]


class CitationOut(BaseModel):
    number: int
    title: str
    source: str
    chunk_id: str
    document_id: str
    section: str = ""
    page: int | None = None


class MessageOut(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str = Field(description="the answer with [n] citation markers")
    refusal: str | None = Field(None, description="the refusal, when a guard blocked the ask")
    citations: list[CitationOut] = []


class ChoiceOut(BaseModel):
    index: int
    message: MessageOut
    finish_reason: str = Field(description="stop, length, or content_filter (a guard blocked)")
    logprobs: None = None


class UsageOut(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    estimated: bool = Field(False, description="counted as ~4 characters per token")


class RaglineInfo(BaseModel):
    trace_id: str | None = None
    abstained: bool
    question: str = Field(description="what was asked (with follow-up context)")
    support: float
    blocked: bool = Field(False, description="a guard blocked the ask: the content is a refusal")
    refusal_reason: str | None = Field(None, description="the block's reason code, else null")
    guards: list[GuardTriggerOut] = Field(
        [], description="the guards that flagged, redacted or blocked"
    )


class ChatCompletionOut(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChoiceOut]
    usage: UsageOut
    citations: list[CitationOut]
    ragline: RaglineInfo
    system_fingerprint: str | None = None


class OpenAIErrorDetail(BaseModel):
    message: str
    type: str
    code: str | None = None
    param: str | None = None
    hint: str | None = None


class OpenAIErrorOut(BaseModel):
    error: OpenAIErrorDetail


def openai_error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": OpenAIErrorOut} for code in codes}


def sse_response(description: str) -> dict[str, Any]:
    """The ``text/event-stream`` content of a 200: the schema describes one event."""
    event = {
        "type": "object",
        "description": description,
        "properties": {"event": {"type": "string"}, "data": {"type": "string"}},
        "required": ["data"],
    }
    return {"content": {"application/json": {}, "text/event-stream": {"schema": event}}}
