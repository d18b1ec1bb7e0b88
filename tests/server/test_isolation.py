"""Two tenants on one real server, acme attacking globex: nothing of globex leaks or changes.

acme guesses globex's document ids, injects tenant filters, asks for globex-only
facts ("Nightjar"), and uses globex's trace ids. Every attempt gets the answer an
unknown id gets (404) or finds nothing, and globex's data stays as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from ragline.testing import ServerProcess

from ._kb import KEYS_ENV, acme, globex, make_project

SECRET_ID = "globex-docs/globex-secrets.md"
GLOBEX_IDS = ["globex-docs/globex-hr.md", SECRET_ID]


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root: Path = make_project(tmp_path_factory.mktemp("isolation"))
    with ServerProcess(root, env=KEYS_ENV) as proc:
        yield proc


@pytest.fixture()
def attacker(srv: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=srv.url, headers=acme(), timeout=60) as c:
        yield c


@pytest.fixture()
def victim(srv: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=srv.url, headers=globex(), timeout=60) as c:
        yield c


def _globex_state(victim: httpx.Client) -> list[tuple[str, str]]:
    docs = victim.get("/v1/documents").json()["documents"]
    return [(d["id"], d["content_hash"]) for d in docs]


def _no_globex(body: dict[str, Any]) -> None:
    for hit in body.get("hits", []):
        assert not hit["document_id"].startswith("globex-docs/"), hit
        assert "Nightjar" not in hit["text"] and "Hammer" not in hit["text"]
    assert "Nightjar" not in body.get("text", "")
    assert "4.2 million" not in body.get("text", "")


def test_the_victim_really_has_the_secret(victim: httpx.Client) -> None:
    assert [i for i, _ in _globex_state(victim)] == GLOBEX_IDS
    hits = victim.get("/v1/search", params={"q": "Nightjar satellite codename"}).json()["hits"]
    assert hits[0]["document_id"] == SECRET_ID


@pytest.mark.parametrize(
    "path",
    [
        SECRET_ID,
        quote(SECRET_ID, safe=""),
        "globex-docs/globex-secrets.md/",
        "./globex-docs/globex-secrets.md",
        "../globex/globex-docs/globex-secrets.md",
        "globex-docs%2Fglobex-secrets.md",
    ],
)
def test_guessing_a_document_id_gets_404_and_deletes_nothing(
    attacker: httpx.Client, victim: httpx.Client, path: str
) -> None:
    before = _globex_state(victim)
    got = attacker.get("/v1/documents/" + path)
    assert got.status_code == 404, got.text
    assert got.json()["error"]["type"] == "not_found"
    gone = attacker.delete("/v1/documents/" + path)
    assert gone.status_code == 404, gone.text
    assert _globex_state(victim) == before


def test_a_guess_looks_exactly_like_an_id_that_exists_nowhere(attacker: httpx.Client) -> None:
    theirs = attacker.get("/v1/documents/" + SECRET_ID).json()["error"]
    nowhere = attacker.get("/v1/documents/globex-docs/no-such.md").json()["error"]
    assert theirs["type"] == nowhere["type"] and theirs["hint"] == nowhere["hint"]
    assert "globex" not in theirs["hint"]


def test_uploading_the_same_name_makes_the_attackers_own_copy(
    attacker: httpx.Client, victim: httpx.Client
) -> None:
    before = _globex_state(victim)
    fake = b"# Globex launch plan\n\nThe codename of the satellite is Sparrow.\n"
    r = attacker.post("/v1/documents", files=[("files", (SECRET_ID, fake, "text/markdown"))])
    assert r.status_code == 200, r.text
    assert r.json()["tenant"] == "acme" and r.json()["results"][0]["status"] == "added"
    assert _globex_state(victim) == before
    answer = victim.post("/v1/ask", json={"question": "What is the codename of the satellite?"})
    assert "Nightjar" in answer.json()["text"] and "Sparrow" not in answer.json()["text"]
    assert attacker.delete("/v1/documents/" + SECRET_ID).status_code == 200  # its own copy
    assert _globex_state(victim) == before


@pytest.mark.parametrize(
    "filters",
    [
        {"tenant": "globex"},
        {"tenant": ["globex", "acme"]},
        {"document_id": SECRET_ID},
        {"source": SECRET_ID},
    ],
)
def test_injected_filters_on_ask_never_return_globex_chunks(
    attacker: httpx.Client, filters: dict[str, Any]
) -> None:
    r = attacker.post(
        "/v1/ask", json={"question": "What is the codename of the satellite?", "filters": filters}
    )
    assert r.status_code in (200, 400, 422), r.text
    if r.status_code == 200:
        assert r.json()["tenant"] == "acme"
        _no_globex(r.json())


@pytest.mark.parametrize(
    "params",
    [
        {"filter": "tenant=globex"},
        {"filter": "tenant=globex|acme"},
        {"filter": f"source={SECRET_ID}"},
        {"tenant": "globex"},
    ],
)
def test_injected_filters_on_search_never_return_globex_chunks(
    attacker: httpx.Client, params: dict[str, str]
) -> None:
    r = attacker.get("/v1/search", params={"q": "Nightjar satellite codename", **params})
    assert r.status_code in (200, 400, 422), r.text
    if r.status_code == 200:
        assert r.json()["tenant"] == "acme"
        _no_globex(r.json())


def test_tenant_headers_and_fields_do_not_switch_tenants(attacker: httpx.Client) -> None:
    r = attacker.post(
        "/v1/ask",
        json={"question": "What is the codename of the satellite?"},
        headers={"X-Tenant": "globex", "X-API-Key": "rl_globex_test_key_0002"},
    )
    assert r.status_code == 200 and r.json()["tenant"] == "acme"
    _no_globex(r.json())
    r = attacker.post("/v1/ask", json={"question": "Nightjar?", "tenant": "globex"})
    assert r.status_code == 422 and "tenant" in r.json()["error"]["message"]
    r = attacker.post(
        "/v1/documents", json={"documents": [{"id": "x", "text": "y", "tenant": "globex"}]}
    )
    assert r.status_code == 422 and "tenant" in r.json()["error"]["message"]


def test_globex_only_facts_are_not_found_from_acme(attacker: httpx.Client) -> None:
    for q in ("Nightjar", "Project Hammer launch budget", "Globex paid leave days"):
        r = attacker.get("/v1/search", params={"q": q})
        assert r.status_code == 200
        _no_globex(r.json())
        a = attacker.post("/v1/ask", json={"question": f"What do you know about {q}?"})
        assert a.status_code == 200
        _no_globex(a.json())


def test_the_victims_traces_are_404_for_the_attacker(
    attacker: httpx.Client, victim: httpx.Client
) -> None:
    theirs = victim.post("/v1/ask", json={"question": "What is the satellite codename?"})
    trace_id = theirs.json()["trace_id"]
    for tid in (trace_id, trace_id[:8], trace_id.upper()):
        assert attacker.get(f"/v1/traces/{tid}").status_code == 404
        r = attacker.post("/v1/feedback", json={"trace_id": tid, "kind": "hallucination"})
        assert r.status_code == 404, r.text
    listed = attacker.get("/v1/traces", params={"text": "satellite", "limit": 1000}).json()
    assert all(t["trace_id"] != trace_id for t in listed["traces"])
    assert all(t["tenant"] == "acme" for t in listed["traces"])
    assert victim.get(f"/v1/traces/{trace_id}").json()["feedback"] == []


def test_the_victims_conversations_are_404_for_the_attacker(
    attacker: httpx.Client, victim: httpx.Client
) -> None:
    r = victim.post("/v1/chat", json={"message": "What is the codename of the satellite?"})
    assert r.status_code == 200, r.text
    conversation_id = r.json()["conversation_id"]
    before = victim.get(f"/v1/conversations/{conversation_id}").json()
    assert before["turn_count"] == 2
    assert attacker.get(f"/v1/conversations/{conversation_id}").status_code == 404
    assert attacker.delete(f"/v1/conversations/{conversation_id}").status_code == 404
    follow = attacker.post(
        "/v1/chat",
        json={"conversation_id": conversation_id, "message": "And what was the budget?"},
    )
    assert follow.status_code == 404, follow.text
    assert "Nightjar" not in follow.text and "4.2" not in follow.text
    listed = attacker.get("/v1/conversations").json()["conversations"]
    assert all(c["id"] != conversation_id for c in listed)
    assert victim.get(f"/v1/conversations/{conversation_id}").json() == before


def test_the_openai_compatible_endpoint_finds_nothing_of_globex(attacker: httpx.Client) -> None:
    r = attacker.post(
        "/v1/chat/completions",
        json={
            "model": "ragline",
            "messages": [{"role": "user", "content": "What is the codename of the satellite?"}],
        },
    )
    assert r.status_code == 200, r.text
    assert "Nightjar" not in r.text and "globex-docs" not in r.text
