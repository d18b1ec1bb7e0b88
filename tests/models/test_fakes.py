"""FakeModel, FunctionModel and the block-real-requests switch."""

from __future__ import annotations

from typing import Any

import pytest

from ragline.config import ModelSettings
from ragline.errors import ProviderError
from ragline.models import (
    Completion,
    Delta,
    Message,
    Model,
    OpenAIModel,
    ToolCall,
    ToolSpec,
    Usage,
    _guard,
)
from ragline.models._errors import RateLimitError, RealRequestsBlocked
from ragline.testing._models import (
    FakeModel,
    FunctionModel,
    block_real_requests,
    real_requests_blocked,
)

ASK = [Message("user", "Capital of France?")]
TOOL = ToolSpec("search", "Search", {"type": "object"})


def test_fakes_satisfy_the_model_protocol() -> None:
    assert isinstance(FakeModel([]), Model)
    assert isinstance(FunctionModel(lambda m, t, o: ""), Model)


def test_fake_replays_text_completions_tool_calls_and_errors_in_order() -> None:
    call = ToolCall("c1", "search", {"query": "refunds"})
    model = FakeModel(
        [
            "Paris [1].",
            Completion(text="", model="fake", finish_reason="tool_calls", tool_calls=[call]),
            RateLimitError("slow down", provider="fake", retry_after_s=1),
        ]
    )
    first = model.complete(ASK, tools=[TOOL], temperature=0.1)
    assert first.text == "Paris [1]." and first.model == "fake" and first.usage.estimated
    assert model.complete(ASK).tool_calls == [call]
    with pytest.raises(RateLimitError):
        model.complete(ASK)
    assert [c.method for c in model.calls] == ["complete"] * 3
    assert model.calls[0].messages == ASK and model.calls[0].tools == [TOOL]
    assert model.calls[0].options == {"temperature": 0.1}
    assert model.remaining == 0
    with pytest.raises(AssertionError, match="no scripted reply left for call 4"):
        model.complete(ASK)


def test_fake_streams_text_as_word_pieces_with_a_final_delta() -> None:
    deltas = list(FakeModel(["Paris is the capital."]).stream(ASK))
    assert [d.text for d in deltas[:-1]] == ["Paris ", "is ", "the ", "capital."]
    assert deltas[-1].finish_reason == "stop" and deltas[-1].usage is not None


def test_fake_replays_scripted_chunks_and_mid_stream_errors() -> None:
    chunks = [Delta(text="Par"), Delta(text="is"), Delta(finish_reason="stop", usage=Usage(3, 2))]
    broken: list[Any] = [Delta(text="Par"), ProviderError("dropped", provider="fake")]
    model = FakeModel([chunks, chunks, broken])
    assert list(model.stream(ASK)) == chunks
    assembled = model.complete(ASK)  # a list of deltas assembles for complete()
    assert assembled.text == "Paris" and assembled.usage.total_tokens == 5
    got: list[str] = []
    with pytest.raises(ProviderError, match="dropped"):
        got.extend(d.text for d in model.stream(ASK))
    assert got == ["Par"]


def test_fake_streams_tool_calls_whole() -> None:
    call = ToolCall("c1", "search", {"q": 1})
    model = FakeModel(
        [Completion(text="", model="x", finish_reason="tool_calls", tool_calls=[call])]
    )
    deltas = list(model.stream(ASK))
    assert [d.tool_call for d in deltas if d.tool_call] == [call]
    assert deltas[-1].finish_reason == "tool_calls"


def test_function_model_computes_replies_and_records_calls() -> None:
    def echo(messages: list[Message], tools: list[ToolSpec] | None, options: dict[str, Any]) -> str:
        return f"{messages[-1].content} / {len(tools or [])} tools / {options}"

    model = FunctionModel(echo)
    assert model.complete(ASK, tools=[TOOL]).text == "Capital of France? / 1 tools / {}"
    streamed = "".join(d.text for d in model.stream(ASK, max_tokens=5))
    assert streamed == "Capital of France? / 0 tools / {'max_tokens': 5}"
    assert model.last_call.method == "stream" and model.name == "function"


def test_switch_blocks_real_providers_and_restores_on_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    assert real_requests_blocked()  # tests/models/conftest.py turns it on
    with block_real_requests(False):
        assert not real_requests_blocked()
        with block_real_requests():
            assert real_requests_blocked()
        assert not real_requests_blocked()
    assert real_requests_blocked()
    monkeypatch.setattr(_guard, "_override", None)
    monkeypatch.delenv(_guard.BLOCK_ENV, raising=False)
    assert not real_requests_blocked()
    monkeypatch.setenv(_guard.BLOCK_ENV, "1")
    assert real_requests_blocked()
    model = OpenAIModel("m", settings=ModelSettings(base_url="http://127.0.0.1:9/v1"))
    with pytest.raises(RealRequestsBlocked, match=r"blocked in tests.*127.0.0.1:9") as info:
        model.complete(ASK)
    assert not info.value.retryable and "FakeModel" in str(info.value)
    with block_real_requests(False):  # an explicit switch wins over the env var
        assert not real_requests_blocked()
