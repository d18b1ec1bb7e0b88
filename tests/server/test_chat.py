"""Multi-turn chat (``POST /v1/chat``) and ``/v1/conversations``, over real HTTP.

These tests write conversations, so they run their own ``ragline serve`` process on
their own copy of the two-tenant project (the session server's data stays as the
fixtures describe). Conversations live in the project's SQLite file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse

from ragline.errors import ProviderError
from ragline.testing import FakeModel, ServerProcess

from ._kb import KEYS_ENV, acme, globex, make_project
from ._threaded import SlowModel, fake_project, threaded_server

WARRANTY = "How long is the battery warranty?"
FRAME = "And how long is it for the frame?"
TYRES = "Does it cover tyres?"
#: what the follow-ups are asked as: the pronoun resolved, the message's own topic kept
FRAME_ASKED = "How long is the warranty for the frame?"
TYRES_ASKED = "Does the warranty cover tyres?"


@pytest.fixture(scope="module")
def chat_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = make_project(tmp_path_factory.mktemp("chat-kb"))
    with ServerProcess(root, env=KEYS_ENV) as proc:
        yield proc


@pytest.fixture
def http(chat_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=chat_server.url, timeout=60) as c:
        yield c


def say(http: httpx.Client, message: str, cid: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message, **extra}
    if cid is not None:
        body["conversation_id"] = cid
    r = http.post("/v1/chat", json=body, headers=acme())
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def conversation(http: httpx.Client, cid: str, headers: dict[str, str] | None = None) -> Any:
    return http.get(f"/v1/conversations/{cid}", headers=headers or acme())


def listed(http: httpx.Client) -> dict[str, int]:
    r = http.get("/v1/conversations", headers=acme())
    assert r.status_code == 200
    return {c["id"]: c["turn_count"] for c in r.json()["conversations"]}


# ---------------------------------------------------------------- conversations


def test_three_turns_with_follow_ups_answered_from_context(http: httpx.Client) -> None:
    first = say(http, WARRANTY)
    cid = first["conversation_id"]
    assert len(cid) == 32 and first["turn"] == 1
    assert "800" in first["answer"]["text"]
    assert first["answer"]["question"] == WARRANTY

    second = say(http, FRAME, cid)
    assert second["conversation_id"] == cid and second["turn"] == 3
    answer = second["answer"]
    assert answer["question"] == FRAME_ASKED  # the follow-up got its context
    assert "frame" in answer["text"].lower() and not answer["abstained"]
    assert "10 years" in answer["text"]  # the wrapped list item is cited whole
    assert any(r["title"] == "Warranty Policy" for r in answer["references"])

    third = say(http, TYRES, cid)
    assert third["turn"] == 5
    assert third["answer"]["question"] == TYRES_ASKED  # "it": the warranty, not the frame
    assert "tyres" in third["answer"]["text"]

    got = conversation(http, cid)
    assert got.status_code == 200
    detail = got.json()
    assert detail["title"] == WARRANTY and detail["turn_count"] == 6
    turns = detail["turns"]
    assert [t["role"] for t in turns] == ["user", "assistant"] * 3
    assert [t["content"] for t in turns[::2]] == [WARRANTY, FRAME, TYRES]
    assert turns[3]["content"] == answer["text"]
    assert turns[3]["trace_id"] == answer["trace_id"]
    assert [c["chunk_id"] for c in turns[3]["citations"]] == [
        r["chunk_id"] for r in answer["references"]
    ]
    assert listed(http)[cid] == 6


def test_history_is_in_the_project_database(chat_server: ServerProcess, http: httpx.Client) -> None:
    first = say(http, WARRANTY)
    cid, first_answer = first["conversation_id"], first["answer"]["text"]
    # a second server process on the same project sees it: stored, not held in memory
    with ServerProcess(chat_server.project_dir, env=KEYS_ENV) as other:
        r = httpx.get(f"{other.url}/v1/conversations/{cid}", headers=acme(), timeout=30)
        assert r.status_code == 200
        assert [t["content"] for t in r.json()["turns"]] == [WARRANTY, first_answer]
        follow = httpx.post(
            f"{other.url}/v1/chat",
            json={"conversation_id": cid, "message": FRAME},
            headers=acme(),
            timeout=60,
        )
        assert follow.json()["answer"]["question"] == FRAME_ASKED
    assert conversation(http, cid).json()["turn_count"] == 4


def test_conversations_are_listed_most_recent_first(http: httpx.Client) -> None:
    a = say(http, "What is the return window?")["conversation_id"]
    b = say(http, "How much does shipping cost?")["conversation_id"]
    ids = list(listed(http))
    assert ids.index(b) < ids.index(a)
    say(http, "And for sale items?", a)
    assert next(iter(listed(http))) == a
    r = http.get("/v1/conversations", params={"limit": 1}, headers=acme())
    assert [c["id"] for c in r.json()["conversations"]] == [a]


def test_another_tenants_conversation_is_not_found(http: httpx.Client) -> None:
    cid = say(http, WARRANTY)["conversation_id"]
    r = http.post("/v1/chat", json={"conversation_id": cid, "message": "hi"}, headers=globex())
    assert r.status_code == 404
    assert r.json()["error"]["type"] == "not_found" and cid in r.json()["error"]["message"]
    assert conversation(http, cid, globex()).status_code == 404
    assert http.delete(f"/v1/conversations/{cid}", headers=globex()).status_code == 404
    assert cid not in [
        c["id"] for c in http.get("/v1/conversations", headers=globex()).json()["conversations"]
    ]
    # nothing was appended or deleted
    assert conversation(http, cid).json()["turn_count"] == 2


def test_delete_removes_the_conversation(http: httpx.Client) -> None:
    cid = say(http, WARRANTY)["conversation_id"]
    r = http.delete(f"/v1/conversations/{cid}", headers=acme())
    assert r.status_code == 204
    assert conversation(http, cid).status_code == 404
    assert cid not in listed(http)
    assert http.delete(f"/v1/conversations/{cid}", headers=acme()).status_code == 404
    r = http.post("/v1/chat", json={"conversation_id": cid, "message": "hi"}, headers=acme())
    assert r.status_code == 404


def test_a_malformed_conversation_id_is_not_found(http: httpx.Client) -> None:
    for cid in ("bad id!", "-leading", "x" * 129):
        for r in (conversation(http, cid), http.delete(f"/v1/conversations/{cid}", headers=acme())):
            assert r.status_code in (404, 422)
            assert r.json()["error"]["type"] in ("not_found", "invalid_request")
    r = http.post("/v1/chat", json={"conversation_id": "bad id!", "message": "hi"}, headers=acme())
    assert r.status_code == 404 and "not a valid conversation id" in r.json()["error"]["message"]


def test_conversations_need_a_key(http: httpx.Client) -> None:
    assert http.get("/v1/conversations").status_code == 401
    assert http.post("/v1/chat", json={"message": WARRANTY}).status_code == 401


# ---------------------------------------------------------------- streaming


def test_streaming_chat_with_a_real_sse_client(http: httpx.Client) -> None:
    cid = say(http, WARRANTY)["conversation_id"]
    body = {"conversation_id": cid, "message": FRAME, "stream": True}
    with connect_sse(http, "POST", "/v1/chat", json=body, headers=acme()) as source:
        assert source.response.status_code == 200
        events = [(e.event, json.loads(e.data)) for e in source.iter_sse()]
    kinds = [k for k, _ in events]
    assert kinds[0] == "conversation" and kinds[-1] == "conversation"
    assert kinds[1] == "retrieval" and "delta" in kinds and kinds[-2] == "done"
    assert events[0][1] == {"type": "conversation", "conversation_id": cid, "turn": 2}
    assert events[-1][1] == {
        "type": "conversation",
        "conversation_id": cid,
        "turn": 3,
        "stored": True,
    }
    done = events[-2][1]
    text = "".join(d["text"] for k, d in events if k == "delta")
    assert done["answer"]["text"] == text
    assert done["answer"]["question"] == FRAME_ASKED
    turns = conversation(http, cid).json()["turns"]
    assert turns[3]["content"] == text and turns[3]["trace_id"] == done["trace_id"]


def test_streaming_a_new_conversation_says_its_id_first(http: httpx.Client) -> None:
    with connect_sse(
        http,
        "POST",
        "/v1/chat",
        json={"message": WARRANTY},
        headers={**acme(), "Accept": "text/event-stream"},
    ) as source:
        events = [(e.event, json.loads(e.data)) for e in source.iter_sse()]
    cid = events[0][1]["conversation_id"]
    assert events[-1][1]["conversation_id"] == cid
    assert conversation(http, cid).json()["turn_count"] == 2


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        ({"message": ""}, 422, "message"),
        ({"message": "   "}, 422, "message: is blank"),
        ({}, 422, "message"),
        ({"message": "hi", "frobnicate": 1}, 422, "frobnicate"),
        ({"message": "hi", "k": 10**6}, 422, "k: at most"),
        ({"message": "hi", "k": 0}, 422, "k"),
        ({"message": "x" * 5000}, 422, "longer than 4000"),
        ({"message": "a\x00b"}, 422, "NUL"),
        ({"message": "hi", "conversation_id": "f" * 32}, 404, "no conversation"),
        ({"message": "hi", "conversation_id": ""}, 422, "conversation_id"),
    ],
)
def test_bad_input_is_a_clear_error_and_stores_nothing(
    http: httpx.Client, body: dict[str, Any], status: int, expected: str
) -> None:
    before = listed(http)
    r = http.post("/v1/chat", json=body, headers=acme())
    assert r.status_code == status
    assert expected in r.json()["error"]["message"]
    assert listed(http) == before


def test_invalid_json_is_a_400(http: httpx.Client) -> None:
    r = http.post(
        "/v1/chat", content=b"{not json", headers={**acme(), "Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_json"


# ---------------------------------------------------------------- failures


def test_a_failed_answer_keeps_the_users_message(tmp_path: Path) -> None:
    model = FakeModel([ProviderError("quota exceeded")], name="openai:test")
    project = fake_project(tmp_path, model)
    with threaded_server(project, {"k": "default"}) as url, httpx.Client(base_url=url) as c:
        h = {"Authorization": "Bearer k"}
        r = c.post("/v1/chat", json={"message": "How long is the warranty?"}, headers=h)
        assert r.status_code == 502 and "quota exceeded" in r.json()["error"]["message"]
        [conv] = c.get("/v1/conversations", headers=h).json()["conversations"]
        assert r.json()["error"]["conversation_id"] == conv["id"]  # the client can retry in it
        turns = c.get(f"/v1/conversations/{conv['id']}", headers=h).json()["turns"]
        assert [(t["role"], t["content"]) for t in turns] == [("user", "How long is the warranty?")]


def test_a_disconnected_stream_stores_no_assistant_turn(tmp_path: Path) -> None:
    model = SlowModel()
    project = fake_project(tmp_path, model)
    with threaded_server(project, {"k": "default"}) as url, httpx.Client(base_url=url) as c:
        h = {"Authorization": "Bearer k"}
        body = {"message": "How long is the warranty?", "stream": True}
        with connect_sse(c, "POST", "/v1/chat", json=body, headers=h) as source:
            cid = ""
            for event in source.iter_sse():
                if event.event == "conversation":
                    cid = json.loads(event.data)["conversation_id"]
                if event.event == "delta":
                    break
        assert model.closed.wait(20), "the answer stream was not closed"
        turns = c.get(f"/v1/conversations/{cid}", headers=h).json()["turns"]
        assert [t["role"] for t in turns] == ["user"]
