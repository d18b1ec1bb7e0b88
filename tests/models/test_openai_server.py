"""OpenAIModel over real sockets against a loopback OpenAI-compatible server with faults."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from ragline.config import ModelSettings
from ragline.models import (
    MalformedResponse,
    Message,
    OpenAIModel,
    ProviderUnavailable,
    RateLimitError,
    RealRequestsBlocked,
    StreamInterrupted,
    StreamStalled,
)
from ragline.testing._models import block_real_requests

from .chat_server import ChatServer

ASK = [Message("user", "Capital of France?")]


@pytest.fixture(scope="module")
def server() -> Iterator[ChatServer]:
    with ChatServer() as s:
        yield s


@pytest.fixture
def allow_real() -> Iterator[None]:
    with block_real_requests(False):
        yield


def model(url: str, **settings: float) -> OpenAIModel:
    return OpenAIModel("local-model", settings=ModelSettings(base_url=url, **settings))


@pytest.mark.usefixtures("allow_real")
class TestRealServer:
    def test_complete(self, server: ChatServer) -> None:
        c = model(server.url()).complete(ASK)
        assert c.text == "Paris is the capital [1]." and c.model == "local-model"
        assert (c.usage.prompt_tokens, c.usage.completion_tokens) == (12, 5)
        assert c.cost_usd is None  # no price known for a local server's model

    def test_stream(self, server: ChatServer) -> None:
        deltas = list(model(server.url()).stream(ASK))
        assert [d.text for d in deltas[:-1]] == ["Paris", " is the capital", " [1]."]
        assert deltas[-1].finish_reason == "stop"
        assert deltas[-1].usage is not None and deltas[-1].usage.total_tokens == 17

    def test_stall_hits_the_idle_timeout(self, server: ChatServer) -> None:
        got: list[str] = []
        start = time.perf_counter()
        with pytest.raises(StreamStalled, match=r"stalled.*is partial") as info:
            got.extend(d.text for d in model(server.url("stall"), read_timeout_s=0.3).stream(ASK))
        assert time.perf_counter() - start < 3
        assert got == ["Paris"] and info.value.partial_text == "Paris"

    @pytest.mark.parametrize("fault", ["drop", "drop-chunked"])
    def test_connection_closed_mid_stream(self, server: ChatServer, fault: str) -> None:
        with pytest.raises(StreamInterrupted, match="partial") as info:
            list(model(server.url(fault)).stream(ASK))
        assert info.value.partial_text == "Paris" and info.value.retryable

    def test_429_carries_retry_after(self, server: ChatServer) -> None:
        with pytest.raises(RateLimitError, match="injected ratelimit") as info:
            model(server.url("ratelimit")).complete(ASK)
        assert info.value.retry_after_s == 3.0 and info.value.status_code == 429
        with pytest.raises(RateLimitError):
            list(model(server.url("ratelimit")).stream(ASK))

    def test_500(self, server: ChatServer) -> None:
        with pytest.raises(ProviderUnavailable, match="HTTP 500: injected error500"):
            model(server.url("error500")).complete(ASK)

    def test_malformed_json(self, server: ChatServer) -> None:
        with pytest.raises(MalformedResponse, match="malformed JSON"):
            model(server.url("malformed")).complete(ASK)

    def test_html_error_page(self, server: ChatServer) -> None:
        with pytest.raises(ProviderUnavailable, match="HTML page titled '502 Bad Gateway'"):
            model(server.url("html")).complete(ASK)

    def test_empty_stream(self, server: ChatServer) -> None:
        with pytest.raises(StreamInterrupted, match="empty stream"):
            list(model(server.url("empty")).stream(ASK))

    def test_connection_refused(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with pytest.raises(ProviderUnavailable, match="cannot connect"):
            model(f"http://127.0.0.1:{port}/v1", connect_timeout_s=2).complete(ASK)


def test_blocked_by_default_without_touching_the_server(server: ChatServer) -> None:
    before = len(server.requests)
    with pytest.raises(RealRequestsBlocked):
        model(server.url()).complete(ASK)
    assert len(server.requests) == before
