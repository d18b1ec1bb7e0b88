"""OpenAIEmbedder against httpx.MockTransport and a real local /v1/embeddings server."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import numpy as np
import pytest

from ragline.config import EmbedSettings
from ragline.embed import Embedder, HashEmbedder, OpenAIEmbedder, make_embedder
from ragline.errors import ConfigError, ProviderError
from ragline.testing import EmbedderConformance

LOCAL = "http://embed.test/v1"
Handler = Callable[[httpx.Request], httpx.Response]


def fake_vector(text: str, dim: int = 8) -> list[float]:
    """A deterministic, deliberately unnormalised vector."""
    rng = np.random.default_rng(sum(map(ord, text)) + len(text))
    return [float(x) for x in rng.normal(0, 3, dim)]


def ok_handler(requests: list[dict[str, Any]], *, reverse: bool = False) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        requests.append({"body": body, "headers": dict(request.headers), "url": str(request.url)})
        data = [
            {"object": "embedding", "index": i, "embedding": fake_vector(t)}
            for i, t in enumerate(body["input"])
        ]
        if reverse:
            data.reverse()
        return httpx.Response(200, json={"object": "list", "data": data, "model": body["model"]})

    return handle


def embedder(handler: Handler, **kwargs: Any) -> OpenAIEmbedder:
    kwargs.setdefault("base_url", LOCAL)
    return OpenAIEmbedder("emb-model", transport=httpx.MockTransport(handler), **kwargs)


@pytest.fixture(autouse=True)
def _no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def test_batches_orders_by_index_and_normalises() -> None:
    requests: list[dict[str, Any]] = []
    emb = embedder(ok_handler(requests, reverse=True), batch_size=2)
    texts = ["alpha", "beta", "gamma", "delta", "epsilon"]
    vectors = emb.embed_documents(texts)
    assert [len(r["body"]["input"]) for r in requests] == [2, 2, 1]
    assert all(r["body"]["model"] == "emb-model" for r in requests)
    assert requests[0]["url"] == f"{LOCAL}/embeddings"
    expected = np.array([fake_vector(t) for t in texts], dtype=np.float32)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(vectors, expected, rtol=1e-5, atol=1e-6)
    assert vectors.dtype == np.float32
    assert emb.dimension == 8


def test_dimension_learned_from_first_response() -> None:
    requests: list[dict[str, Any]] = []
    emb = embedder(ok_handler(requests))
    assert emb.dimension == 8  # asks the server once
    assert len(requests) == 1
    assert emb.embed_documents([]).shape == (0, 8)
    assert len(requests) == 1


def test_given_dimension_needs_no_request_and_is_checked() -> None:
    requests: list[dict[str, Any]] = []
    emb = embedder(ok_handler(requests), dimension=16)
    assert emb.dimension == 16 and emb.embed_documents([]).shape == (0, 16)
    assert requests == []
    with pytest.raises(ProviderError, match="8 dimensions, expected 16"):
        emb.embed_query("hello")


def test_blank_text_is_sent_as_a_space() -> None:
    requests: list[dict[str, Any]] = []
    embedder(ok_handler(requests)).embed_documents(["", "x"])
    assert requests[0]["body"]["input"] == [" ", "x"]


def test_api_key_is_sent_as_bearer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBED_KEY", "secret-123")
    requests: list[dict[str, Any]] = []
    embedder(ok_handler(requests), api_key_env="EMBED_KEY").embed_query("x")
    assert requests[0]["headers"]["authorization"] == "Bearer secret-123"


def test_no_key_for_local_server_sends_no_auth() -> None:
    requests: list[dict[str, Any]] = []
    embedder(ok_handler(requests)).embed_query("x")
    assert "authorization" not in requests[0]["headers"]


def test_missing_key_for_openai_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="OPENAI_API_KEY") as info:
        embedder(ok_handler([]), base_url="https://api.openai.com/v1")
    assert "export OPENAI_API_KEY" in str(info.value)


@pytest.mark.parametrize(
    ("status", "body", "message", "hint"),
    [
        (400, {"error": {"message": "maximum context length is 8192 tokens"}}, "8192", None),
        (401, {"error": {"message": "Incorrect API key provided"}}, "Incorrect API key", "KEY"),
        (404, {"error": {"message": "model 'emb-model' not found"}}, "not found", "model"),
        (429, {"error": {"message": "Rate limit reached"}}, "Rate limit", "rate"),
        (500, {"error": {"message": "internal failure"}}, "internal failure", "try again"),
        (503, {"detail": "loading model"}, "loading model", "try again"),
    ],
)
def test_http_errors_carry_provider_message(
    status: int, body: dict[str, Any], message: str, hint: str | None
) -> None:
    emb = embedder(lambda _r: httpx.Response(status, json=body))
    with pytest.raises(ProviderError) as info:
        emb.embed_query("x")
    assert info.value.status_code == status
    assert message in str(info.value)
    assert info.value.provider == "openai"
    if hint:
        assert hint in (info.value.hint or "")


def test_non_json_error_body_is_passed_through() -> None:
    emb = embedder(lambda _r: httpx.Response(502, text="Bad Gateway from proxy"))
    with pytest.raises(ProviderError, match="Bad Gateway from proxy") as info:
        emb.embed_query("x")
    assert info.value.status_code == 502


@pytest.mark.parametrize(
    ("exc", "match"),
    [
        (httpx.ConnectError("connection refused"), "cannot connect"),
        (httpx.ReadTimeout("read timed out"), "timed out"),
    ],
)
def test_transport_errors_become_provider_errors(exc: Exception, match: str) -> None:
    def fail(_request: httpx.Request) -> httpx.Response:
        raise exc

    with pytest.raises(ProviderError, match=match) as info:
        embedder(fail).embed_query("x")
    assert info.value.hint


@pytest.mark.parametrize(
    "payload",
    [
        {"data": []},
        {"data": [{"index": 5, "embedding": [1.0, 2.0]}]},
        {"data": [{"index": 0, "embedding": "base64"}]},
        {"nothing": True},
    ],
)
def test_malformed_responses(payload: dict[str, Any]) -> None:
    emb = embedder(lambda _r: httpx.Response(200, json=payload))
    with pytest.raises(ProviderError, match="unexpected embeddings response"):
        emb.embed_query("x")


def test_bad_base_url() -> None:
    with pytest.raises(ConfigError, match="base_url"):
        OpenAIEmbedder("m", base_url="localhost:8080")


# --- a real OpenAI-compatible server on 127.0.0.1, backed by HashEmbedder ----------------

SERVER_EMBEDDER = HashEmbedder(64)


class _EmbeddingsHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path != "/v1/embeddings":
            self._reply(404, {"error": {"message": f"no route {self.path}"}})
            return
        if body.get("model") != "hash-64":
            self._reply(404, {"error": {"message": f"model {body.get('model')!r} not found"}})
            return
        texts = body["input"]
        if any(t == "" for t in texts):
            self._reply(400, {"error": {"message": "input must not contain empty strings"}})
            return
        vectors = SERVER_EMBEDDER.embed_documents(texts) * 3.0  # unnormalised on purpose
        data = [
            {"object": "embedding", "index": i, "embedding": v.tolist()}
            for i, v in enumerate(vectors)
        ]
        self._reply(200, {"object": "list", "data": data[::-1], "model": "hash-64"})


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EmbeddingsHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


class TestOpenAIEmbedderOnLocalServer(EmbedderConformance):
    semantic = False

    @pytest.fixture
    def embedder(self, server_url: str) -> Iterator[Embedder]:
        with OpenAIEmbedder("hash-64", base_url=server_url, batch_size=4, timeout_s=10) as emb:
            yield emb


def test_real_server_matches_the_backing_embedder(server_url: str) -> None:
    emb = make_embedder("openai:hash-64", EmbedSettings(base_url=server_url, timeout_s=10))
    texts = [f"document number {i} about topic {i % 3}" for i in range(300)]
    np.testing.assert_allclose(
        emb.embed_documents(texts), SERVER_EMBEDDER.embed_documents(texts), atol=1e-6
    )
    assert emb.dimension == 64


def test_real_server_error_message(server_url: str) -> None:
    emb = OpenAIEmbedder("nope", base_url=server_url, timeout_s=10)
    with pytest.raises(ProviderError, match="model 'nope' not found") as info:
        emb.embed_query("x")
    assert info.value.status_code == 404


def test_connection_refused_has_a_hint() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens
    emb = OpenAIEmbedder("m", base_url=f"http://127.0.0.1:{port}/v1", timeout_s=5)
    with pytest.raises(ProviderError, match="cannot connect") as info:
        emb.embed_query("x")
    assert "base_url" in (info.value.hint or "")
