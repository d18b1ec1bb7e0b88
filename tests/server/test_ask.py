"""``POST /v1/ask`` (JSON and SSE), ``GET /v1/search``, health and metrics on a real server."""

from __future__ import annotations

import json

import httpx
import pytest
from httpx_sse import connect_sse

from ragline.testing import ServerProcess

from ._kb import acme, globex


def test_ask_answers_with_citations_references_and_a_trace_id(server: ServerProcess) -> None:
    r = httpx.post(
        server.url + "/v1/ask",
        json={"question": "How long is the battery warranty?"},
        headers=acme(),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert "2 years" in body["text"] and "[1]" in body["text"]
    assert not body["abstained"] and body["tenant"] == "acme"
    numbers = {ref["number"] for ref in body["references"]}
    for sentence in body["sentences"]:
        assert sentence["citations"] and set(sentence["citations"]) <= numbers
    assert all("sample-kb" in ref["source"] for ref in body["references"])
    assert len(body["trace_id"]) == 32
    assert r.headers["x-request-id"]


def test_the_same_question_from_another_tenant_finds_nothing_of_acme(
    server: ServerProcess,
) -> None:
    r = httpx.post(
        server.url + "/v1/ask",
        json={"question": "How long is the battery warranty?"},
        headers=globex(),
    )
    assert r.status_code == 200
    body = r.json()
    assert body["tenant"] == "globex"
    assert all("sample-kb" not in h["source"] for h in body["hits"])
    assert "800" not in body["text"]


def test_ask_streams_events_in_order_over_sse(server: ServerProcess) -> None:
    with (
        httpx.Client(base_url=server.url, headers=acme(), timeout=30) as client,
        connect_sse(
            client, "POST", "/v1/ask", json={"question": "How do I return a bike?", "stream": True}
        ) as source,
    ):
        assert source.response.headers["content-type"].startswith("text/event-stream")
        events = [(e.event, json.loads(e.data)) for e in source.iter_sse()]
    kinds = [k for k, _ in events]
    assert kinds[0] == "retrieval" and kinds[-1] == "done"
    assert "delta" in kinds and kinds.index("delta") < kinds.index("citation")
    text = "".join(d["text"] for k, d in events if k == "delta")
    done = events[-1][1]
    assert done["answer"]["text"] == text
    assert len(done["trace_id"]) == 32
    assert [d["sentence_index"] for k, d in events if k == "citation"] == list(
        range(len(done["answer"]["sentences"]))
    )


def test_accept_event_stream_header_selects_sse(server: ServerProcess) -> None:
    r = httpx.post(
        server.url + "/v1/ask",
        json={"question": "How do I return a bike?"},
        headers={**acme(), "Accept": "text/event-stream"},
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.text.rstrip().splitlines()[-2] == "event: done"


def test_search_returns_scored_hits_with_a_filter(server: ServerProcess) -> None:
    r = httpx.get(
        server.url + "/v1/search", params={"q": "battery warranty", "k": 3}, headers=acme()
    )
    assert r.status_code == 200, r.text
    hits = r.json()["hits"]
    assert 1 <= len(hits) <= 3
    assert all(h["score"] > 0 for h in hits)
    doc_type = hits[0]["doc_type"]
    if doc_type:
        r = httpx.get(
            server.url + "/v1/search",
            params={"q": "battery", "filter": f"doc_type={doc_type}"},
            headers=acme(),
        )
        assert {h["doc_type"] for h in r.json()["hits"]} == {doc_type}


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_endpoints_need_no_key(server: ServerProcess, path: str) -> None:
    r = httpx.get(server.url + path)
    assert r.status_code == 200
    assert r.json()["status"] in ("ok", "ready")


def test_metrics_count_requests_by_route_template_and_asks_by_tenant(
    server: ServerProcess,
) -> None:
    httpx.post(
        server.url + "/v1/ask", json={"question": "What is the return window?"}, headers=acme()
    )
    httpx.post(
        server.url + "/v1/ask", json={"question": "x"}, headers={"Authorization": "Bearer nope"}
    )
    text = httpx.get(server.url + "/metrics").text
    lines = text.splitlines()

    def value(prefix: str) -> float:
        return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(prefix))

    assert value('ragline_asks_total{outcome="answered",tenant="acme"}') >= 1
    assert value('ragline_http_requests_total{method="POST",route="/v1/ask",status="401"}') >= 1
    assert value("ragline_http_request_duration_seconds_count") >= 2
    assert "ragline_trace_spans_written_total" in text
    assert "ragline_requests_shed_total" in text
