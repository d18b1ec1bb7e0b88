"""An external RAG service over HTTP, served by a small test server on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ragline.errors import InputError
from ragline.evals import Case
from ragline.evals._external import HttpTarget, extract, parse_headers, parse_path
from ragline.evals._metrics import default_metrics
from ragline.evals._runner import EvalRunner
from ragline.store.sqlite import SQLiteEvalStore

KB = {
    "warranty": ("doc-w", "The frame has a two year warranty."),
    "shipping": ("doc-s", "Express shipping costs 15 euros."),
}


class Handler(BaseHTTPRequestHandler):
    requests: list[dict[str, Any]] = []  # noqa: RUF012

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Handler.requests.append({"body": body, "auth": self.headers.get("Authorization")})
        q = body["query"]["text"]
        if "crash" in q:
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"internal error")
            return
        if "garbage" in q:
            reply: Any = {"unexpected": True}
        else:
            hits = [(k, v) for k, v in KB.items() if k in q.lower()]
            answer = " ".join(text for _, (_, text) in hits) or "I don't know."
            reply = {
                "data": {
                    "answer": answer,
                    "contexts": [{"id": d, "text": t} for _, (d, t) in hits],
                }
            }
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def server() -> Iterator[str]:
    Handler.requests = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/ask"
    httpd.shutdown()
    httpd.server_close()


CASES = [
    Case(
        id="w",
        question="What warranty does the frame have?",
        expected=["two year warranty"],
        gold_doc_ids=["doc-w"],
        tenant="acme",
    ),
    Case(
        id="s", question="What does shipping cost?", expected=["15 euros"], gold_doc_ids=["doc-s"]
    ),
    Case(id="x", question="crash please"),
    Case(id="g", question="garbage reply"),
]


def target(url: str, **kw: Any) -> HttpTarget:
    return HttpTarget(
        url,
        request='{"query": {"text": "{question}", "tenant": "{tenant}"}, "k": 3}',
        answer_path="data.answer",
        contexts_path="data.contexts[*]",
        **kw,
    )


def test_external_target_same_metrics(server: str, tmp_path: Path) -> None:
    store = SQLiteEvalStore(tmp_path / "e.db")
    t = target(server, headers={"Authorization": "Bearer s3cret"})
    run = EvalRunner(store, t, default_metrics(None, k=5), concurrency=2).run(
        CASES, dataset_path="d"
    )
    t.close()
    results = {r.case.id: r for r in store.results(run.id)}
    w = results["w"]
    assert w.output.answer == "The frame has a two year warranty."
    assert [c.document_id for c in w.output.contexts] == ["doc-w"]
    assert w.metric("hit@5") is not None and w.metric("hit@5").passed  # type: ignore[union-attr]
    assert w.metric("token_f1").value > 0.5  # type: ignore[union-attr,operator]
    assert results["x"].output.error == "HTTP 500: internal error"
    assert results["g"].output.error == "response has no data.answer: no field 'data'"
    assert run.summary["errors"] == 2
    # the template is filled with JSON-safe values; a missing tenant becomes null
    bodies = {r["body"]["query"]["text"]: r for r in Handler.requests}
    assert bodies["What warranty does the frame have?"]["body"]["query"]["tenant"] == "acme"
    assert bodies["What does shipping cost?"]["body"]["query"]["tenant"] is None
    assert bodies["What does shipping cost?"]["body"]["k"] == 3
    assert bodies["What does shipping cost?"]["auth"] == "Bearer s3cret"
    # header values (secrets) are not stored in the fingerprint
    assert "s3cret" not in json.dumps(run.fingerprint)
    assert run.fingerprint["target"] == "http" and run.fingerprint["url"] == server


def test_questions_with_quotes_stay_valid_json(server: str) -> None:
    t = target(server)
    out = t.run_case(Case(id="q", question='What "warranty" \\ {tenant} ?'))
    assert out.error is None
    assert Handler.requests[-1]["body"]["query"]["text"] == 'What "warranty" \\  ?'


def test_unreachable_target_is_a_case_error(tmp_path: Path) -> None:
    t = target("http://127.0.0.1:9/ask", timeout_s=2)
    out = t.run_case(CASES[0])
    assert out.error is not None and "request to http://127.0.0.1:9/ask failed" in out.error


def test_bad_target_configuration() -> None:
    with pytest.raises(InputError, match="not an http"):
        HttpTarget("ftp://x")
    with pytest.raises(InputError, match="not valid JSON"):
        HttpTarget("http://x", request="{question}")
    with pytest.raises(InputError, match="no \\{question\\} placeholder"):
        HttpTarget("http://x", request='{"q": "hello"}')
    with pytest.raises(InputError, match="cannot parse JSON path"):
        HttpTarget("http://x", answer_path="a..b[")
    with pytest.raises(InputError, match="KEY:VALUE"):
        parse_headers(["nocolon"])
    with pytest.raises(InputError, match="RAGLINE_TEST_NOPE is not set"):
        parse_headers(["Authorization: $RAGLINE_TEST_NOPE"])


def test_json_paths() -> None:
    data = {"a": {"b": [{"t": 1}, {"t": 2}]}, "x": [[1, 2], [3]]}
    assert parse_path("a.b[*].t") == ["a", "b", None, "t"]
    assert extract(data, "a.b[*].t") == [1, 2]
    assert extract(data, "a.b[1].t") == 2
    assert extract(data, "a.b[-1]") == {"t": 2}
    assert extract(data, "x[*][*]") == [1, 2, 3]
    with pytest.raises(KeyError):
        extract(data, "a.c")
    with pytest.raises(KeyError):
        extract(data, "a.b[5]")
    assert parse_headers(["X-Team: qa"]) == {"X-Team": "qa"}
