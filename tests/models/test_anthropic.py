"""AnthropicModel against recorded Messages API exchanges (httpx.MockTransport)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from ragline.config import ModelSettings
from ragline.errors import ConfigError
from ragline.models import (
    AnthropicModel,
    MalformedResponse,
    Message,
    ProviderUnavailable,
    RateLimitError,
    RealRequestsBlocked,
    RequestRejected,
    StreamInterrupted,
    StreamStalled,
    ToolCall,
    ToolSpec,
)

from .conftest import fixture_text
from .test_openai import streaming

BASE = "http://claude.test"
Handler = Callable[[httpx.Request], httpx.Response]
SEARCH = ToolSpec(
    "search", "Search the knowledge base", {"type": "object", "properties": {"query": {}}}
)
ASK = [Message("system", "Cite sources."), Message("user", "Capital of France?")]


def model(handler: Handler, name: str = "claude-3-5-haiku-20241022", **kw: Any) -> AnthropicModel:
    kw.setdefault("base_url", BASE)
    return AnthropicModel(
        name, settings=ModelSettings(**kw), transport=httpx.MockTransport(handler)
    )


def reply(body: str, status: int = 200, kind: str = "application/json", **headers: str) -> Handler:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, text=body, headers={"content-type": kind, **headers})

    handle.seen = seen  # type: ignore[attr-defined]
    return handle


def events(name: str) -> Handler:
    return reply(fixture_text(name), kind="text/event-stream")


@pytest.fixture(autouse=True)
def _no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)


def test_complete_sends_system_separately_and_parses_usage() -> None:
    handler = reply(fixture_text("anthropic_message.json"))
    c = model(handler).complete(ASK, stop=["\n\n"], anthropic_top_k=5, openai_seed=1)
    request = handler.seen[0]  # type: ignore[attr-defined]
    sent = json.loads(request.content)
    assert str(request.url) == f"{BASE}/v1/messages"
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert sent["system"] == "Cite sources."
    assert sent["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Capital of France?"}]}
    ]
    assert sent["max_tokens"] == 512 and sent["stop_sequences"] == ["\n\n"]
    assert sent["top_k"] == 5 and "seed" not in sent
    assert c.text == "Paris is the capital of France [1]."
    assert c.finish_reason == "stop" and c.model == "claude-3-5-haiku-20241022"
    assert (c.usage.prompt_tokens, c.usage.completion_tokens, c.usage.estimated) == (21, 12, False)
    assert c.cost_usd == pytest.approx((21 * 0.80 + 12 * 4.00) / 1e6)


def test_tool_use_round_trip() -> None:
    handler = reply(fixture_text("anthropic_tool_use.json"))
    history = [
        Message("user", "Refund policy?"),
        Message("assistant", "Searching.", tool_calls=(ToolCall("toolu_1", "search", {"q": 1}),)),
        Message("tool", "30 days", tool_call_id="toolu_1"),
        Message("tool", "no receipts", tool_call_id="toolu_2"),
    ]
    c = model(handler, "claude-3-5-sonnet-20241022").complete(history, tools=[SEARCH])
    sent = json.loads(handler.seen[0].content)  # type: ignore[attr-defined]
    assert sent["tools"] == [
        {"name": "search", "description": SEARCH.description, "input_schema": SEARCH.parameters}
    ]
    assert sent["messages"][1] == {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Searching."},
            {"type": "tool_use", "id": "toolu_1", "name": "search", "input": {"q": 1}},
        ],
    }
    assert sent["messages"][2] == {  # both results in one user message
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "30 days"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": "no receipts"},
        ],
    }
    assert c.finish_reason == "tool_calls"
    assert c.tool_calls == [
        ToolCall("toolu_01A09q90qw90lq917835lq9", "search", {"query": "refund policy", "k": 3})
    ]


def test_stream_text_ping_and_usage() -> None:
    deltas = list(model(events("anthropic_stream.sse")).stream(ASK))
    assert [d.text for d in deltas[:-1]] == ["Paris", " is the capital [1]."]
    final = deltas[-1]
    assert final.finish_reason == "stop" and final.usage is not None
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == (25, 15)


def test_stream_tool_use_with_input_json_delta() -> None:
    deltas = list(model(events("anthropic_stream_tool_use.sse")).stream(ASK, tools=[SEARCH]))
    assert "".join(d.text for d in deltas) == "Okay, let me search for that."
    calls = [d.tool_call for d in deltas if d.tool_call]
    assert calls == [
        ToolCall("toolu_01T1x1fJ34qAmk2tNTrN7Up6", "search", {"query": "refund policy", "k": 3})
    ]
    assert deltas[-1].finish_reason == "tool_calls"
    assert deltas[-1].usage is not None and deltas[-1].usage.completion_tokens == 89


def test_stream_error_event_is_typed_and_partial() -> None:
    got: list[str] = []
    with pytest.raises(ProviderUnavailable, match=r"Overloaded.*is partial") as info:
        got.extend(d.text for d in model(events("anthropic_stream_error.sse")).stream(ASK))
    assert got == ["Paris is"] and info.value.partial_text == "Paris is"
    assert info.value.retryable


def test_events_after_message_stop_are_discarded(caplog: pytest.LogCaptureFixture) -> None:
    late = (
        'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
        '"delta":{"type":"text_delta","text":"LATE"}}\n\n'
    )
    text = fixture_text("anthropic_stream.sse") + late
    with caplog.at_level(logging.WARNING, logger="ragline.models"):
        deltas = list(model(reply(text, kind="text/event-stream")).stream(ASK))
    assert "LATE" not in "".join(d.text for d in deltas)
    assert any("after message_stop" in r.message for r in caplog.records)


def test_stream_without_message_stop_is_partial() -> None:
    text = fixture_text("anthropic_stream.sse").split("event: content_block_stop")[0]
    with pytest.raises(StreamInterrupted, match=r"ended early \(no message_stop\).*partial"):
        list(model(reply(text, kind="text/event-stream")).stream(ASK))
    with pytest.raises(StreamInterrupted, match="empty stream"):
        list(model(reply("", kind="text/event-stream")).stream(ASK))


def test_stream_stall() -> None:
    start = b'event: message_start\ndata: {"type":"message_start","message":{"usage":{}}}\n\n'
    with pytest.raises(StreamStalled, match="stalled"):
        list(model(streaming([start], httpx.ReadTimeout("idle"))).stream(ASK))


def test_http_errors_carry_the_anthropic_message() -> None:
    with pytest.raises(ProviderUnavailable, match=r"HTTP 529: Overloaded \(overloaded_error\)"):
        model(reply(fixture_text("anthropic_error_overloaded.json"), 529)).complete(ASK)
    with pytest.raises(RequestRejected, match="invalid x-api-key") as info:
        model(reply(fixture_text("anthropic_error_auth.json"), 401)).complete(ASK)
    assert not info.value.retryable and "ANTHROPIC_API_KEY" in str(info.value)
    body = '{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}'
    limited = model(reply(body, 429, **{"retry-after": "12"}))
    with pytest.raises(RateLimitError, match="slow down") as rl:
        list(limited.stream(ASK))
    assert rl.value.retry_after_s == 12.0


def test_malformed_responses() -> None:
    with pytest.raises(MalformedResponse, match="malformed JSON"):
        model(reply("{nope")).complete(ASK)
    with pytest.raises(MalformedResponse, match="without a content list"):
        model(reply('{"type": "message"}')).complete(ASK)
    with pytest.raises(MalformedResponse, match="not JSON"):
        list(
            model(reply("event: message_start\ndata: {oops\n\n", kind="text/event-stream")).stream(
                ASK
            )
        )


def test_key_header_and_missing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY is not set"):
        AnthropicModel("claude-3-5-haiku-latest")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    handler = reply(fixture_text("anthropic_message.json"))
    AnthropicModel("claude-3-5-haiku-latest", transport=httpx.MockTransport(handler)).complete(ASK)
    request = handler.seen[0]  # type: ignore[attr-defined]
    assert request.headers["x-api-key"] == "sk-ant-test"
    assert str(request.url) == "https://api.anthropic.com/v1/messages"


def test_base_url_with_v1_suffix_and_blocking() -> None:
    m = AnthropicModel("claude-x", settings=ModelSettings(base_url="http://proxy.test/v1/"))
    assert m.url == "http://proxy.test/v1/messages"
    with pytest.raises(RealRequestsBlocked):
        m.complete(ASK)
    with pytest.raises(ConfigError, match="not an http"):
        AnthropicModel("claude-x", settings=ModelSettings(base_url="api.anthropic.com"))


def test_json_schema_is_accepted_and_left_to_the_prompt() -> None:
    """The Messages API has no response schema: the option is not an error and not sent."""
    handler = reply(fixture_text("anthropic_message.json"))
    model(handler).complete(ASK, json_schema={"type": "object"})
    sent = json.loads(handler.seen[0].content)  # type: ignore[attr-defined]
    assert "json_schema" not in sent and "response_format" not in sent
