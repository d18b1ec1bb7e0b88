"""OpenAIModel against recorded exchanges served by httpx.MockTransport."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from ragline.config import ModelSettings
from ragline.errors import ConfigError, InputError
from ragline.models import (
    MalformedResponse,
    Message,
    OpenAIModel,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimitError,
    RealRequestsBlocked,
    RequestRejected,
    StreamInterrupted,
    StreamStalled,
    ToolCall,
    ToolSpec,
)
from ragline.models._base import Delta
from ragline.testing._models import block_real_requests

from .conftest import fixture_text

BASE = "http://llm.test/v1"
Handler = Callable[[httpx.Request], httpx.Response]
ASK = [Message("system", "Answer briefly."), Message("user", "Capital of France?")]
SEARCH = ToolSpec("search", "Search the knowledge base", {"type": "object", "properties": {}})


def model(handler: Handler, name: str = "gpt-4o-mini", **settings: Any) -> OpenAIModel:
    settings.setdefault("base_url", BASE)
    return OpenAIModel(
        name, settings=ModelSettings(**settings), transport=httpx.MockTransport(handler)
    )


def reply(body: Any, status: int = 200, **kw: Any) -> Handler:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if isinstance(body, str):
            return httpx.Response(status, text=body, **kw)
        return httpx.Response(status, json=body, **kw)

    handle.seen = seen  # type: ignore[attr-defined]
    return handle


def sse(text: str) -> Handler:
    return reply(text, headers={"content-type": "text/event-stream"})


class Chunks(httpx.SyncByteStream):
    """A body that yields chunks, then optionally raises (a stall or a dropped socket)."""

    def __init__(self, chunks: list[bytes], error: Exception | None = None) -> None:
        self.chunks, self.error = chunks, error

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        if self.error is not None:
            raise self.error


def streaming(chunks: list[bytes], error: Exception | None = None) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=Chunks(chunks, error)
        )

    return handle


@pytest.fixture(autouse=True)
def _no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def test_complete_parses_text_usage_finish_and_cost() -> None:
    handler = reply(json.loads(fixture_text("openai_chat.json")))
    c = model(handler).complete(ASK, temperature=0.2)
    assert c.text == "Paris is the capital of France [1]."
    assert c.model == "gpt-4o-mini-2024-07-18"
    assert c.finish_reason == "stop"
    assert (c.usage.prompt_tokens, c.usage.completion_tokens, c.usage.estimated) == (19, 10, False)
    assert c.cost_usd == pytest.approx((19 * 0.15 + 10 * 0.60) / 1e6)
    assert c.latency_ms >= 0
    sent = json.loads(handler.seen[0].content)  # type: ignore[attr-defined]
    assert handler.seen[0].url == f"{BASE}/chat/completions"  # type: ignore[attr-defined]
    assert sent["model"] == "gpt-4o-mini"
    assert sent["messages"][0] == {"role": "system", "content": "Answer briefly."}
    assert sent["temperature"] == 0.2 and sent["max_tokens"] == 512
    assert "authorization" not in handler.seen[0].headers  # type: ignore[attr-defined]


def test_tool_messages_and_tools_are_sent_in_openai_form() -> None:
    handler = reply(json.loads(fixture_text("openai_tool_call.json")))
    history = [
        Message("user", "What is the refund policy?"),
        Message("assistant", "", tool_calls=(ToolCall("call_1", "search", {"query": "x"}),)),
        Message("tool", "30 days", tool_call_id="call_1"),
    ]
    c = model(handler).complete(history, tools=[SEARCH], openai_top_logprobs=2, anthropic_top_k=3)
    sent = json.loads(handler.seen[0].content)  # type: ignore[attr-defined]
    assert sent["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "search",
                "description": SEARCH.description,
                "parameters": SEARCH.parameters,
            },
        }
    ]
    assert sent["messages"][1]["tool_calls"][0]["function"] == {
        "name": "search",
        "arguments": '{"query": "x"}',
    }
    assert sent["messages"][2] == {"role": "tool", "tool_call_id": "call_1", "content": "30 days"}
    assert sent["top_logprobs"] == 2 and "top_k" not in sent  # prefixed options
    assert c.finish_reason == "tool_calls"
    assert c.tool_calls == [
        ToolCall("call_abc123", "search", {"query": "refund policy", "k": 3}),
        ToolCall("call_def456", "get_time", {}),
    ]


def test_unknown_option_and_bad_tool_message_are_clear_errors() -> None:
    m = model(reply({}))
    with pytest.raises(ConfigError, match=r"unknown model option 'top_kk'.*openai_top_kk"):
        m.complete(ASK, top_kk=3)
    with pytest.raises(InputError, match="tool_call_id"):
        m.complete([Message("tool", "x")])


def test_invalid_tool_arguments_are_a_provider_error() -> None:
    body = json.loads(fixture_text("openai_tool_call.json"))
    body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = '{"query": '
    with pytest.raises(MalformedResponse, match="'search' with arguments that are not a JSON"):
        model(reply(body)).complete(ASK)


def test_missing_usage_is_estimated() -> None:
    body = json.loads(fixture_text("openai_chat.json"))
    del body["usage"]
    c = model(reply(body)).complete(ASK)
    assert c.usage.estimated and c.usage.prompt_tokens > 0 and c.usage.completion_tokens > 0


def test_stream_yields_text_then_final_delta_with_usage() -> None:
    deltas = list(model(sse(fixture_text("openai_stream.sse"))).stream(ASK))
    assert "".join(d.text for d in deltas) == "Paris is the capital [1]."
    assert [d.text for d in deltas[:-1]] == ["Paris", " is the capital", " [1]."]
    final = deltas[-1]
    assert final.finish_reason == "stop" and final.usage is not None
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == (19, 7)


def test_stream_sends_stream_options() -> None:
    handler = sse(fixture_text("openai_stream.sse"))
    list(model(handler).stream(ASK))
    sent = json.loads(handler.seen[0].content)  # type: ignore[attr-defined]
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}


def test_stream_assembles_tool_call_fragments_by_index() -> None:
    deltas = list(model(sse(fixture_text("openai_stream_tools.sse"))).stream(ASK, tools=[SEARCH]))
    calls = [d.tool_call for d in deltas if d.tool_call]
    assert calls == [
        ToolCall("call_abc", "search", {"query": "refund policy", "k": 3}),
        ToolCall("call_def", "get_time", {}),
    ]
    assert deltas[-1].finish_reason == "tool_calls"


def test_fragments_after_the_stream_closed_are_discarded(caplog: pytest.LogCaptureFixture) -> None:
    late = (
        'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"x",'
        '"function":{"name":"late","arguments":"{}"}}]}}]}\n\n'
    )
    # one late fragment after finish_reason (before [DONE]), one after [DONE]
    text = fixture_text("openai_stream.sse").replace(
        "data: [DONE]\n\n", late + "data: [DONE]\n\n" + late
    )
    with caplog.at_level(logging.WARNING, logger="ragline.models"):
        deltas = list(model(sse(text)).stream(ASK))
    assert not [d for d in deltas if d.tool_call]
    assert "".join(d.text for d in deltas) == "Paris is the capital [1]."
    assert sum("discarding" in r.message for r in caplog.records) == 2


def test_stream_without_done_but_with_finish_reason_is_complete() -> None:
    text = fixture_text("openai_stream.sse").replace("data: [DONE]\n\n", "")
    deltas = list(model(sse(text)).stream(ASK))
    assert deltas[-1].finish_reason == "stop"


def test_stream_that_ends_early_raises_with_partial_text() -> None:
    text = fixture_text("openai_stream.sse")
    cut = text[: text.index('"finish_reason":"stop"') - 120]
    cut = cut[: cut.rindex("\n\n") + 2]
    got: list[Delta] = []
    with pytest.raises(StreamInterrupted, match=r"ended early.*partial") as info:
        got.extend(model(sse(cut)).stream(ASK))
    assert info.value.partial_text == "".join(d.text for d in got) != ""
    assert info.value.retryable


def test_empty_stream_is_a_clear_error() -> None:
    with pytest.raises(StreamInterrupted, match="empty stream"):
        list(model(sse("")).stream(ASK))


def test_stalled_stream_says_the_text_is_partial() -> None:
    first = b'data: {"choices":[{"index":0,"delta":{"content":"Par"}}]}\n\n'
    m = model(streaming([first], httpx.ReadTimeout("timed out")), read_timeout_s=0.5)
    got: list[str] = []
    with pytest.raises(
        StreamStalled, match=r"stalled: no data for 0.5s.*3 characters\) is partial"
    ):
        got.extend(d.text for d in m.stream(ASK))
    assert got == ["Par"]


def test_dropped_connection_mid_stream() -> None:
    first = b'data: {"choices":[{"index":0,"delta":{"content":"Par"}}]}\n\n'
    m = model(streaming([first], httpx.RemoteProtocolError("peer closed connection")))
    with pytest.raises(StreamInterrupted, match=r"broke.*partial") as info:
        list(m.stream(ASK))
    assert info.value.partial_text == "Par"


def test_server_that_ignores_stream_true_still_streams() -> None:
    deltas = list(model(reply(json.loads(fixture_text("openai_chat.json")))).stream(ASK))
    assert "".join(d.text for d in deltas) == "Paris is the capital of France [1]."
    assert deltas[-1].finish_reason == "stop"


@pytest.mark.parametrize(
    ("status", "cls", "retryable"),
    [
        (400, RequestRejected, False),
        (401, RequestRejected, False),
        (404, RequestRejected, False),
        (408, ProviderTimeout, True),
        (429, RateLimitError, True),
        (500, ProviderUnavailable, True),
        (503, ProviderUnavailable, True),
    ],
)
def test_http_errors_are_typed_and_carry_the_provider_message(
    status: int, cls: type[Exception], retryable: bool
) -> None:
    body = {"error": {"message": "You exceeded your quota", "type": "insufficient_quota"}}
    handler = reply(body, status, headers={"retry-after": "7"})
    for call in (lambda m: m.complete(ASK), lambda m: list(m.stream(ASK))):
        with pytest.raises(cls, match="You exceeded your quota") as info:
            call(model(handler))
        err: Any = info.value
        assert err.status_code == status and err.retryable is retryable
        assert err.provider == "openai"
        if status == 429:
            assert err.retry_after_s == 7.0 and "retry after 7s" in str(err)


def test_retry_after_ms_and_http_date() -> None:
    with pytest.raises(RateLimitError) as info:
        model(reply({}, 429, headers={"retry-after-ms": "1500"})).complete(ASK)
    assert info.value.retry_after_s == 1.5
    with pytest.raises(RateLimitError) as info:
        model(reply({}, 429, headers={"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})).complete(
            ASK
        )
    assert info.value.retry_after_s == 0.0


def test_malformed_json_and_html_pages() -> None:
    with pytest.raises(MalformedResponse, match="malformed JSON") as info:
        model(reply('{"choices": [')).complete(ASK)
    assert not info.value.retryable
    page = "<!DOCTYPE html><html><head><title>Sign in</title></head><body>x</body></html>"
    with pytest.raises(MalformedResponse, match="HTML page titled 'Sign in' instead of JSON"):
        model(reply(page, headers={"content-type": "text/html"})).complete(ASK)
    with pytest.raises(MalformedResponse, match="HTML page"):
        list(model(reply(page, headers={"content-type": "text/html"})).stream(ASK))
    with pytest.raises(ProviderUnavailable, match="HTTP 502: an HTML page titled '502 Bad"):
        model(reply("<html><title>502 Bad Gateway</title></html>", 502)).complete(ASK)
    with pytest.raises(MalformedResponse, match="without choices"):
        model(reply({"object": "list"})).complete(ASK)


def test_connection_errors_and_timeouts_are_typed() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out")

    with pytest.raises(ProviderUnavailable, match=r"cannot connect.*is the server running"):
        model(refuse).complete(ASK)
    with pytest.raises(ProviderTimeout, match=r"no response .* within 60s"):
        model(slow).complete(ASK)


def test_missing_key_for_openai_names_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="OPENAI_API_KEY is not set"):
        OpenAIModel("gpt-4o", settings=ModelSettings())
    with pytest.raises(ConfigError, match="MY_KEY is not set"):
        OpenAIModel("gpt-4o", settings=ModelSettings(api_key_env="MY_KEY"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    handler = reply(json.loads(fixture_text("openai_chat.json")))
    m = OpenAIModel("gpt-4o", settings=ModelSettings(), transport=httpx.MockTransport(handler))
    m.complete(ASK)
    assert handler.seen[0].headers["authorization"] == "Bearer sk-test"  # type: ignore[attr-defined]
    assert str(handler.seen[0].url) == "https://api.openai.com/v1/chat/completions"  # type: ignore[attr-defined]


@pytest.mark.parametrize("url", ["ftp://host/v1", "localhost:8080/v1", "http://", "not a url"])
def test_invalid_base_url(url: str) -> None:
    with pytest.raises(ConfigError, match="not an http\\(s\\) URL"):
        OpenAIModel("m", settings=ModelSettings(base_url=url))


def test_real_requests_are_blocked_before_any_io() -> None:
    m = OpenAIModel("m", settings=ModelSettings(base_url="http://127.0.0.1:9/v1"))
    with pytest.raises(RealRequestsBlocked, match="real model requests are blocked in tests"):
        m.complete(ASK)
    with pytest.raises(RealRequestsBlocked):
        m.stream(ASK)


def test_error_object_in_a_200_body() -> None:
    body = {"error": {"message": "model overloaded", "type": "server_error"}}
    with pytest.raises(ProviderUnavailable, match="answered with an error: model overloaded"):
        model(reply(body)).complete(ASK)


def test_connect_failure_on_a_stream_is_not_called_partial() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    with pytest.raises(ProviderUnavailable, match="cannot connect") as info:
        list(model(refuse).stream(ASK))
    assert not isinstance(info.value, StreamInterrupted)


def test_max_completion_tokens_replaces_max_tokens() -> None:
    handler = reply(json.loads(fixture_text("openai_chat.json")))
    model(handler, "o4-mini").complete(ASK, openai_max_completion_tokens=100)
    sent = json.loads(handler.seen[0].content)  # type: ignore[attr-defined]
    assert sent["max_completion_tokens"] == 100 and "max_tokens" not in sent


@given(cuts=st.lists(st.integers(min_value=1, max_value=2000), max_size=12))
@hypothesis_settings(max_examples=40, deadline=None)
def test_stream_is_independent_of_network_chunking(cuts: list[int]) -> None:
    raw = fixture_text("openai_stream_tools.sse").encode()
    points = sorted({c % len(raw) for c in cuts} | {0, len(raw)})
    chunks = [raw[a:b] for a, b in itertools.pairwise(points) if b > a]
    with block_real_requests():
        deltas = list(model(streaming(chunks)).stream(ASK))
    assert [d.tool_call.name for d in deltas if d.tool_call] == ["search", "get_time"]
    assert deltas[-1].finish_reason == "tool_calls"


def test_json_schema_is_sent_as_a_structured_output_response_format() -> None:
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    handler = reply(json.loads(fixture_text("openai_chat.json")))
    model(handler).complete(ASK, json_schema=schema)
    sent = json.loads(handler.seen[0].content)  # type: ignore[attr-defined]
    assert sent["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "reply", "schema": schema, "strict": True},
    }
    assert "json_schema" not in sent
