"""``POST /v1/feedback``, ``GET /v1/traces`` and ``GET /v1/traces/{id}`` on a real server.

Its own project and server: feedback is a write.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ragline.testing import ServerProcess

from ._kb import KEYS_ENV, acme, globex, make_project


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root: Path = make_project(tmp_path_factory.mktemp("traces"))
    with ServerProcess(root, env=KEYS_ENV) as proc:
        yield proc


@pytest.fixture()
def client(srv: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=srv.url, headers=acme(), timeout=60) as c:
        yield c


def _ask(client: httpx.Client, question: str) -> str:
    r = client.post("/v1/ask", json={"question": question})
    assert r.status_code == 200, r.text
    trace_id: str = r.json()["trace_id"]
    return trace_id


def _feedback_on(client: httpx.Client, trace_id: str) -> list[dict[str, object]]:
    r = client.get(f"/v1/traces/{trace_id}")
    assert r.status_code == 200, r.text
    feedback: list[dict[str, object]] = r.json()["feedback"]
    return feedback


def test_an_answer_can_be_found_in_the_trace_list_and_opened(client: httpx.Client) -> None:
    trace_id = _ask(client, "How long is the battery warranty?")
    r = client.get("/v1/traces", params={"limit": 5})
    assert r.status_code == 200, r.text
    traces = r.json()["traces"]
    assert traces[0]["trace_id"] == trace_id  # newest first
    assert traces[0]["question"] == "How long is the battery warranty?"
    assert all(t["tenant"] == "acme" for t in traces)
    r = client.get(f"/v1/traces/{trace_id}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["trace_id"] == trace_id and body["feedback"] == []
    names = {s["name"] for s in body["spans"]}
    assert "ragline.ask" in names and len(body["spans"]) > 1
    # a unique prefix works as in the CLI
    short = client.get(f"/v1/traces/{trace_id[:10]}")
    assert short.status_code == 200 and short.json()["trace_id"] == trace_id


def test_trace_list_filters(client: httpx.Client) -> None:
    _ask(client, "What does the pedal sensor do?")
    found = client.get("/v1/traces", params={"text": "pedal sensor", "since": "1h"}).json()
    assert found["traces"] and all("pedal" in t["question"] for t in found["traces"])
    assert client.get("/v1/traces", params={"status": "error"}).json() == {"traces": []}
    assert client.get("/v1/traces", params={"min_latency_ms": 1e9}).json() == {"traces": []}
    one = client.get("/v1/traces", params={"limit": 1}).json()["traces"]
    assert len(one) == 1


@pytest.mark.parametrize(
    ("params", "status", "says"),
    [
        ({"since": "yesterday"}, 400, "since"),
        ({"status": "broken"}, 422, "status"),
        ({"limit": 10**7}, 422, "limit"),
        ({"limit": 0}, 422, "limit"),
        ({"min_latency_ms": -1}, 422, "min_latency_ms"),
    ],
)
def test_bad_trace_filters_say_which_one(
    client: httpx.Client, params: dict[str, object], status: int, says: str
) -> None:
    r = client.get("/v1/traces", params=params)  # type: ignore[arg-type]
    assert r.status_code == status, r.text
    assert says in r.json()["error"]["message"]


def test_feedback_is_recorded_on_the_trace(client: httpx.Client) -> None:
    trace_id = _ask(client, "Can I return a bike after 40 days?")
    r = client.post(
        "/v1/feedback",
        json={"trace_id": trace_id, "kind": "hallucination", "comment": "no such rule"},
    )
    assert r.status_code == 201, r.text
    fb = r.json()
    assert fb["trace_id"] == trace_id and fb["tenant"] == "acme"
    assert fb["kind"] == "hallucination" and fb["note"] == "no such rule"
    # by prefix, with the CLI's word for the comment
    r = client.post("/v1/feedback", json={"trace_id": trace_id[:12], "kind": "good", "note": "ok"})
    assert r.status_code == 201, r.text
    kinds = [str(f["kind"]) for f in _feedback_on(client, trace_id)]
    assert sorted(kinds) == ["good", "hallucination"]


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"kind": "meh"}, 422, "hallucination"),
        ({"kind": "good", "comment": "x" * 10_001}, 422, "comment"),
        ({"kind": "good", "extra": 1}, 422, "extra"),
        ({"kind": "good", "trace_id": "abc"}, 400, "too short"),
        ({"kind": "good", "trace_id": "0" * 32}, 404, "no trace"),
        ({"kind": "good", "trace_id": "deadbeefdeadbeef"}, 404, "no trace"),
    ],
)
def test_bad_feedback_is_refused_and_nothing_is_stored(
    client: httpx.Client, body: dict[str, object], status: int, says: str
) -> None:
    trace_id = _ask(client, "Where is the serial number?")
    r = client.post("/v1/feedback", json={"trace_id": trace_id, **body})
    assert r.status_code == status, r.text
    assert says in r.json()["error"]["message"]
    assert _feedback_on(client, trace_id) == []


def test_another_tenants_trace_is_not_found(srv: ServerProcess, client: httpx.Client) -> None:
    with httpx.Client(base_url=srv.url, headers=globex(), timeout=60) as g:
        theirs = _ask(g, "What is the codename of the satellite?")
        assert client.get(f"/v1/traces/{theirs}").status_code == 404
        assert client.get(f"/v1/traces/{theirs[:12]}").status_code == 404
        r = client.post("/v1/feedback", json={"trace_id": theirs, "kind": "irrelevant"})
        assert r.status_code == 404 and r.json()["error"]["type"] == "not_found"
        assert all(t["trace_id"] != theirs for t in client.get("/v1/traces").json()["traces"])
        assert _feedback_on(g, theirs) == []
