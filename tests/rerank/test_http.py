"""The HTTP reranker against a real rerank server on loopback: both request and reply
shapes, and every fault the rerank stage must fall back on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ragline.errors import RerankerError, RerankerTimeout
from ragline.rerank import HttpReranker, Reranker
from ragline.testing import RerankerConformance
from ragline.testing._reranker_conformance import ANSWERING, PASSAGES, QUESTION, hits

from .rerank_server import RerankServer


@pytest.fixture(scope="module")
def server() -> Iterator[RerankServer]:
    s = RerankServer().start()
    yield s
    s.stop()


class TestCohereShape(RerankerConformance):
    @pytest.fixture
    def reranker(self, server: RerankServer) -> Reranker:
        return HttpReranker(f"{server.base}/cohere/v1/rerank", model="rerank-test")


class TestTeiShape(RerankerConformance):
    @pytest.fixture
    def reranker(self, server: RerankServer) -> Reranker:
        return HttpReranker(f"{server.base}/tei/rerank")


def test_v1_rerank_gets_the_openai_style_body(server: RerankServer) -> None:
    r = HttpReranker(f"{server.base}/cohere/v1/rerank", model="bge-reranker")
    r.rerank(QUESTION, hits(PASSAGES))
    path, body = server.requests[-1]
    assert path == "/cohere/v1/rerank"
    assert body == {
        "query": QUESTION,
        "documents": PASSAGES,
        "top_n": len(PASSAGES),
        "model": "bge-reranker",
    }


def test_rerank_path_also_sends_texts_for_tei(server: RerankServer) -> None:
    ranked = HttpReranker(f"{server.base}/tei/rerank").rerank(QUESTION, hits(PASSAGES))
    _, body = server.requests[-1]
    assert body["texts"] == PASSAGES and "model" not in body
    assert ranked[0].chunk.id == f"c{ANSWERING}"


@pytest.mark.parametrize(
    ("mode", "error", "words"),
    [
        ("short", RerankerError, "returned 4 scores for 5 documents"),
        ("error500", RerankerError, "answered HTTP 500"),
        ("badjson", RerankerError, "not JSON"),
        ("wrongindex", RerankerError, "index out of range"),
    ],
)
def test_a_bad_reply_is_a_reranker_error_naming_the_url(
    server: RerankServer, mode: str, error: type[Exception], words: str
) -> None:
    url = f"{server.base}/{mode}/v1/rerank"
    with pytest.raises(error) as e:
        HttpReranker(url).rerank(QUESTION, hits(PASSAGES))
    assert words in str(e.value) and url in str(e.value)


def test_no_reply_in_time_is_a_timeout(server: RerankServer) -> None:
    r = HttpReranker(f"{server.base}/stall/rerank", timeout_ms=200)
    with pytest.raises(RerankerTimeout, match="did not answer within 200 ms"):
        r.rerank(QUESTION, hits(PASSAGES))


def test_a_refused_connection_is_a_reranker_error() -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(RerankerError, match="could not be reached"):
        HttpReranker(f"http://127.0.0.1:{port}/rerank").rerank(QUESTION, hits(PASSAGES))
