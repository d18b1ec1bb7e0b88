"""The chat model and the embedder of one OpenAI-compatible server share an HTTP client."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from ragline.config import ModelSettings
from ragline.embed import OpenAIEmbedder
from ragline.models import Message, OpenAIModel, RateLimitError, RealRequestsBlocked
from ragline.models._http import shared_clients

BASE = "http://llm.test/v1"


def handler(seen: list[tuple[str, str]]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, request.headers.get("authorization", "")))
        body = json.loads(request.content)
        if request.url.path.endswith("/embeddings"):
            data = [{"index": i, "embedding": [1.0, 0.0]} for i, _ in enumerate(body["input"])]
            return httpx.Response(200, json={"data": data})
        return httpx.Response(
            200,
            json={
                "choices": [
                    {"message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
                ],
                "usage": {"prompt_tokens": 3, "completion_tokens": 1},
            },
        )

    return httpx.MockTransport(handle)


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "k1")
    monkeypatch.setenv("OTHER_KEY", "k2")


def test_model_and_embedder_of_one_server_share_one_client() -> None:
    seen: list[tuple[str, str]] = []
    transport = handler(seen)
    before = shared_clients()
    model = OpenAIModel("m", settings=ModelSettings(base_url=BASE), transport=transport)
    emb = OpenAIEmbedder("e", base_url=BASE, transport=transport)
    assert model._client is emb._client
    assert shared_clients() == before + 1
    assert model.complete([Message("user", "hello")]).text == "hi"
    assert emb.embed_query("hello").shape == (2,)
    assert seen == [("/v1/chat/completions", "Bearer k1"), ("/v1/embeddings", "Bearer k1")]
    # The client stays open until its last user closes; closing twice is harmless.
    model.close()
    model.close()
    assert not emb._client.is_closed
    assert emb.embed_query("again").shape == (2,)
    emb.close()
    assert emb._client.is_closed
    assert shared_clients() == before


def test_different_keys_or_servers_get_different_clients() -> None:
    transport = handler([])
    a = OpenAIModel("m", settings=ModelSettings(base_url=BASE), transport=transport)
    b = OpenAIModel(
        "m", settings=ModelSettings(base_url=BASE, api_key_env="OTHER_KEY"), transport=transport
    )
    c = OpenAIModel(
        "m", settings=ModelSettings(base_url="http://other.test/v1"), transport=transport
    )
    try:
        assert a._client is not b._client
        assert a._client is not c._client
    finally:
        for m in (a, b, c):
            m.close()


def test_each_user_keeps_its_own_timeouts() -> None:
    timeouts: list[dict[str, Any]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        timeouts.append(request.extensions["timeout"])
        if request.url.path.endswith("/embeddings"):
            return httpx.Response(200, json={"data": [{"index": 0, "embedding": [1.0]}]})
        return httpx.Response(
            200, json={"choices": [{"message": {"content": "x"}, "finish_reason": "stop"}]}
        )

    transport = httpx.MockTransport(handle)
    model = OpenAIModel(
        "m", settings=ModelSettings(base_url=BASE, read_timeout_s=7), transport=transport
    )
    emb = OpenAIEmbedder("e", base_url=BASE, timeout_s=3, transport=transport)
    try:
        model.complete([Message("user", "q")])
        emb.embed_query("q")
    finally:
        model.close()
        emb.close()
    assert timeouts[0]["read"] == 7
    assert timeouts[1]["read"] == 3


def test_embedder_rate_limit_is_the_same_typed_error_as_chat() -> None:
    transport = httpx.MockTransport(
        lambda r: httpx.Response(
            429, headers={"Retry-After": "4"}, json={"error": {"message": "slow down"}}
        )
    )
    emb = OpenAIEmbedder("e", base_url=BASE, transport=transport)
    with pytest.raises(RateLimitError, match="slow down") as info:
        emb.embed_query("q")
    assert info.value.retry_after_s == 4
    assert info.value.retryable
    assert "embeddings request failed with HTTP 429" in str(info.value)
    emb.close()


def test_embedder_obeys_the_no_real_requests_switch() -> None:
    # tests/models/conftest.py blocks real requests: no transport means a real call.
    emb = OpenAIEmbedder("e", base_url="http://127.0.0.1:9/v1")
    with pytest.raises(
        RealRequestsBlocked, match=r"would call http://127\.0\.0\.1:9/v1/embeddings"
    ):
        emb.embed_query("q")
    emb.close()
