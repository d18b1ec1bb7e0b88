"""Bad input on a real server: every case gets a clear 4xx JSON error and loses nothing.

Malformed JSON, wrong content types, oversize bodies (with and without
Content-Length), bad API keys, unicode edge cases, absurd parameters, unknown routes.
The ``nothing_lost`` fixture checks that both tenants' documents are unchanged after
each test that uses it. The server's body limit is lowered to 200 kB here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from ragline.testing import ServerProcess

from ._kb import ACME_KEY, CONFIG, GLOBEX_KEY, KEYS_ENV, acme, globex, make_project

LIMIT = 200_000
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    config = CONFIG + f"server:\n  max_body_bytes: {LIMIT}\n"
    root: Path = make_project(tmp_path_factory.mktemp("bad-input"), config)
    with ServerProcess(root, env=KEYS_ENV) as proc:
        yield proc


@pytest.fixture()
def client(srv: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=srv.url, headers=acme(), timeout=60) as c:
        yield c


def _documents(srv: ServerProcess) -> dict[str, list[tuple[str, str]]]:
    out = {}
    for name, headers in (("acme", acme()), ("globex", globex())):
        r = httpx.get(srv.url + "/v1/documents", params={"limit": 1000}, headers=headers)
        assert r.status_code == 200, r.text
        out[name] = [(d["id"], d["content_hash"]) for d in r.json()["documents"]]
    return out


@pytest.fixture()
def nothing_lost(srv: ServerProcess) -> Iterator[None]:
    before = _documents(srv)
    yield
    assert _documents(srv) == before
    assert httpx.get(srv.url + "/readyz").status_code == 200


def _error(r: httpx.Response, status: int, type_: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    err: dict[str, Any] = r.json()["error"]
    assert err["message"]
    if type_ is not None:
        assert err["type"] == type_, err
    return err


# ------------------------------------------------------------------ malformed bodies


@pytest.mark.parametrize("path", ["/v1/ask", "/v1/documents", "/v1/feedback"])
@pytest.mark.parametrize("body", [b'{"question": ', b"{'single': 'quotes'}", b"\xff\xfe{}"])
def test_malformed_json_is_400(
    client: httpx.Client, nothing_lost: None, path: str, body: bytes
) -> None:
    err = _error(client.post(path, content=body, headers=JSON), 400, "invalid_json")
    assert "not valid JSON" in err["message"]


@pytest.mark.parametrize("path", ["/v1/ask", "/v1/feedback"])
def test_json_of_the_wrong_shape_is_422_naming_the_field(
    client: httpx.Client, nothing_lost: None, path: str
) -> None:
    assert _error(client.post(path, content=b"[1, 2]", headers=JSON), 422)["type"] == (
        "invalid_request"
    )
    err = _error(client.post(path, json={}), 422, "invalid_request")
    assert err["details"] and all(d["field"] for d in err["details"])


@pytest.mark.parametrize(
    ("path", "kwargs"),
    [
        (
            "/v1/ask",
            {"content": b"How long is the warranty?", "headers": {"content-type": "text/plain"}},
        ),
        ("/v1/ask", {"data": {"question": "How long is the warranty?"}}),
        ("/v1/feedback", {"data": {"trace_id": "0" * 32, "kind": "good"}}),
        (
            "/v1/documents",
            {"content": b"# Notes\n\nhello", "headers": {"content-type": "text/markdown"}},
        ),
        ("/v1/documents", {"content": b"<x/>", "headers": {"content-type": "application/xml"}}),
    ],
)
def test_a_wrong_content_type_is_415_saying_what_to_send(
    client: httpx.Client, nothing_lost: None, path: str, kwargs: dict[str, Any]
) -> None:
    err = _error(client.post(path, **kwargs), 415, "unsupported_media_type")
    assert "json" in (err["message"] + err.get("hint", "")).lower()


@pytest.mark.parametrize(
    ("path", "params", "json_body"),
    [
        ("/v1/search", {"q": "battery", "filter": "year>=abc"}, None),
        ("/v1/search", {"q": "battery", "filter": "nonsense"}, None),
        ("/v1/search", {"q": "battery", "filter": "updated<last-week"}, None),
    ],
)
def test_a_filter_that_cannot_be_compared_is_400_with_the_reason(
    client: httpx.Client,
    nothing_lost: None,
    path: str,
    params: dict[str, str] | None,
    json_body: dict[str, Any] | None,
) -> None:
    r = client.get(path, params=params) if json_body is None else client.post(path, json=json_body)
    err = _error(r, 400)
    assert "filter" in err["message"] or "compare" in err["message"], err
    assert err.get("hint"), err


def test_form_fields_other_than_files_are_refused(client: httpx.Client, nothing_lost: None) -> None:
    r = client.post("/v1/documents", data={"tenant": "globex"}, files=[("files", ("a.md", b"x"))])
    assert "tenant" in _error(r, 422, "invalid_request")["message"]
    r = client.post("/v1/documents", files=[("file", ("a.md", b"x"))])
    err = _error(r, 422, "invalid_request")
    assert "'file'" in err["message"] and "'files'" in err["hint"]


# ------------------------------------------------------------------ size


def test_an_oversize_body_is_413(client: httpx.Client, nothing_lost: None) -> None:
    big = "x" * (LIMIT + 10)
    err = _error(client.post("/v1/ask", json={"question": big}), 413, "payload_too_large")
    assert str(LIMIT) in err["message"]
    files = [("files", ("big.md", b"# Big\n\n" + b"word " * (LIMIT // 5)))]
    _error(client.post("/v1/documents", files=files), 413, "payload_too_large")


def test_a_chunked_upload_without_content_length_is_cut_off_at_the_limit(
    client: httpx.Client, nothing_lost: None
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"documents": [{"id": "huge", "text": "'
        for _ in range(LIMIT // 10_000 + 5):
            yield b"y" * 10_000
        yield b'"}]}'

    try:
        r = client.post("/v1/documents", content=chunks(), headers=JSON)
    except httpx.TransportError:  # the server may close before the client finished
        pytest.skip("the server closed the connection before the client read the 413")
    assert "content-length" not in r.request.headers
    _error(r, 413, "payload_too_large")


def test_a_long_question_under_the_body_limit_is_422(
    client: httpx.Client, nothing_lost: None
) -> None:
    err = _error(client.post("/v1/ask", json={"question": "q" * 100_000}), 422)
    assert "longer than" in err["message"] and err["hint"]


# ------------------------------------------------------------------ keys


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "bearer"},
        {"Authorization": f"Basic {ACME_KEY}"},
        {"Authorization": ACME_KEY},
        {"Authorization": "Bearer rl_not_a_real_key"},
        {"Authorization": f"Bearer {ACME_KEY}x"},
        {"X-API-Key": "rl_not_a_real_key"},
        {"Authorization": "Bearer " + "k" * 5000},
    ],
)
def test_every_bad_key_gets_the_same_401(srv: ServerProcess, headers: dict[str, str]) -> None:
    reference = httpx.post(srv.url + "/v1/ask", json={"question": "hi"})
    r = httpx.post(srv.url + "/v1/ask", json={"question": "hi"}, headers=headers)
    _error(r, 401, "unauthorized")
    assert r.content == reference.content  # never says which part was wrong
    assert r.headers["www-authenticate"] == "Bearer"
    for path in ("/v1/documents", "/v1/traces", "/v1/documents/x.md"):
        other = httpx.get(srv.url + path, headers=headers)
        assert other.status_code == 401 and other.content == reference.content


def test_a_bad_key_cannot_delete_or_upload(srv: ServerProcess, nothing_lost: None) -> None:
    bad = {"Authorization": f"Bearer {GLOBEX_KEY[:-1]}"}
    r = httpx.delete(srv.url + "/v1/documents/globex-docs/globex-hr.md", headers=bad)
    _error(r, 401, "unauthorized")
    files = [("files", ("evil.md", b"evil"))]
    _error(httpx.post(srv.url + "/v1/documents", files=files, headers=bad), 401)


# ------------------------------------------------------------------ unicode


@pytest.mark.parametrize(
    "question",
    [
        "How long is the warranty? 🚲🔋👍🏽",
        "ما هي مدة الضمان؟",  # RTL
        "Garantie\u0301e combinée e\u0301\u0301\u0301",  # combining marks
        "\u202eytnarraw\u202c bidi override",
        "\ufeffzero\u200bwidth",
    ],
)
def test_unicode_questions_are_answered(client: httpx.Client, question: str) -> None:
    r = client.post("/v1/ask", json={"question": question})
    assert r.status_code == 200, r.text
    assert r.json()["question"] == question


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/ask", b'{"question": "warranty \\ud800"}'),
        ("/v1/ask", b'{"question": "\\udc00\\ud800"}'),
        ("/v1/documents", b'{"documents": [{"id": "s", "text": "lone \\ud800"}]}'),
        ("/v1/documents", b'{"documents": [{"id": "\\ud800", "text": "t"}]}'),
        ("/v1/feedback", b'{"trace_id": "\\ud800\\ud800\\ud800\\ud800", "kind": "good"}'),
    ],
)
def test_lone_surrogates_in_json_are_refused(
    client: httpx.Client, nothing_lost: None, path: str, body: bytes
) -> None:
    r = client.post(path, content=body, headers=JSON)
    assert r.status_code in (400, 422), r.text
    err = r.json()["error"]
    assert err["type"] in ("invalid_json", "invalid_request")
    assert "unicode" in err["message"].lower() or "JSON" in err["message"]


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("POST", "/v1/ask", {"json": {"question": "nul \u0000 byte"}}),
        ("GET", "/v1/search", {"params": {"q": "nul \u0000 byte"}}),
        ("POST", "/v1/documents", {"json": {"documents": [{"id": "a\u0000b", "text": "t"}]}}),
        ("GET", "/v1/traces", {"params": {"text": "a\u0000b"}}),
    ],
)
def test_nul_characters_are_refused(
    client: httpx.Client, nothing_lost: None, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    r = client.request(method, path, **kwargs)
    assert "NUL" in _error(r, r.status_code)["message"]
    assert r.status_code in (400, 422)


def test_a_nul_or_control_character_in_an_upload_name_is_refused(
    client: httpx.Client, nothing_lost: None
) -> None:
    for name in (b"a\x00b.md", b"tab\there.md", b"new\rline.md"):
        body = (
            b'--B\r\nContent-Disposition: form-data; name="files"; filename="'
            + name
            + b'"\r\nContent-Type: text/markdown\r\n\r\n# Hi\n\nhello\r\n--B--\r\n'
        )
        r = client.post(
            "/v1/documents",
            content=body,
            headers={"content-type": "multipart/form-data; boundary=B"},
        )
        assert r.status_code == 400, r.text
        assert r.json()["error"]["type"] in ("invalid_upload", "http_error")


def test_unicode_document_ids_and_names_round_trip(client: httpx.Client) -> None:
    doc_id = "ملاحظات/📄 café\u0301.md"
    r = client.post("/v1/documents", json={"documents": [{"id": doc_id, "text": "Ünïcödé ✓ text"}]})
    assert r.status_code == 200 and r.json()["results"][0]["status"] == "added", r.text
    got = client.get("/v1/documents/" + quote(doc_id))
    assert got.status_code == 200 and got.json()["id"] == doc_id
    name = "notes/naïve 😀.md"
    r = client.post("/v1/documents", files=[("files", (name, "# Naïve\n\nsmile 😀".encode()))])
    assert r.status_code == 200, r.text
    stored = r.json()["results"][0]["name"]
    assert client.get("/v1/documents/" + quote(stored)).status_code == 200
    for i in (doc_id, stored):
        assert client.delete("/v1/documents/" + quote(i)).status_code == 200


# ------------------------------------------------------------------ absurd parameters


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "field"),
    [
        ("POST", "/v1/ask", {"json": {"question": "warranty?", "k": 10**6}}, "k"),
        ("POST", "/v1/ask", {"json": {"question": "warranty?", "k": -1}}, "k"),
        ("POST", "/v1/ask", {"json": {"question": "warranty?", "k": 10**40}}, "k"),
        ("POST", "/v1/ask", {"json": {"question": "warranty?", "k": "ten"}}, "k"),
        ("POST", "/v1/ask", {"json": {"question": ""}}, "question"),
        ("POST", "/v1/ask", {"json": {"question": "   "}}, "question"),
        ("GET", "/v1/search", {"params": {"q": "x", "k": 10**6}}, "k"),
        ("GET", "/v1/search", {"params": {"q": "x", "k": -5}}, "k"),
        ("GET", "/v1/search", {"params": {"q": "x", "mode": "psychic"}}, "mode"),
        ("GET", "/v1/documents", {"params": {"limit": 10**9}}, "limit"),
        ("GET", "/v1/documents", {"params": {"offset": -1}}, "offset"),
        ("GET", "/v1/documents", {"params": {"offset": 10**30}}, "offset"),
        ("GET", "/v1/traces", {"params": {"limit": 10**9}}, "limit"),
        ("GET", "/v1/traces", {"params": {"min_latency_ms": "nan"}}, "min_latency_ms"),
    ],
)
def test_absurd_parameters_are_422_naming_the_parameter(
    client: httpx.Client,
    nothing_lost: None,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    field: str,
) -> None:
    err = _error(client.request(method, path, **kwargs), 422, "invalid_request")
    assert err["message"].startswith(field), err


def test_a_page_past_the_end_is_empty(client: httpx.Client) -> None:
    r = client.get("/v1/documents", params={"offset": 10**6})
    assert r.status_code == 200
    assert r.json()["documents"] == [] and r.json()["next_offset"] is None


# ------------------------------------------------------------------ routes


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v2/ask", 404),
        ("GET", "/v1/nothing/here", 404),
        ("POST", "/healthz", 405),
        ("PUT", "/v1/ask", 405),
        ("PATCH", "/v1/documents/x.md", 405),
        ("DELETE", "/v1/traces", 405),
    ],
)
def test_unknown_routes_and_methods_get_json_errors(
    client: httpx.Client, nothing_lost: None, method: str, path: str, status: int
) -> None:
    err = _error(client.request(method, path), status)
    assert err["type"] == ("not_found" if status == 404 else "method_not_allowed")
    assert path in err["message"]


# ------------------------------------------------------------------ uploads


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("broken.pdf", b"%PDF-1.4 garbage", "PDF"),
        ("broken.docx", b"PK not really a zip", ".docx"),
        ("latin.txt", "café crème".encode("latin-1"), "UTF-8"),
        ("empty.md", b"", "empty"),
        ("records.jsonl", b'{"id": 1, "text": "ok"\n', "not valid JSON"),
    ],
)
def test_unreadable_uploads_are_422_with_the_reason(
    client: httpx.Client, nothing_lost: None, name: str, data: bytes, says: str
) -> None:
    r = client.post("/v1/documents", files=[("files", (name, data))])
    err = _error(r, 422, "ingest_failed")
    assert says in err["message"]
    assert err["results"] == [
        {
            "name": name,
            "status": "failed",
            "documents": 0,
            "chunks": 0,
            "error": err["results"][0]["error"],
        }
    ]


@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; boundary=B"])
def test_malformed_multipart_is_400(
    client: httpx.Client, nothing_lost: None, content_type: str
) -> None:
    r = client.post("/v1/documents", content=b"garbage", headers={"content-type": content_type})
    _error(r, 400)
