"""The dashboard's pages over HTTP: what each shows, filters and paging, tenant
isolation, feedback and cases, the playground's stream, alerts, and bad input."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ._project import ACME_KEY, GLOBEX_KEY
from .conftest import csrf_of

PAGES = ["/", "/traces", "/feedback", "/cases", "/documents", "/playground", "/alerts"]
QUESTIONS = [
    "How long is the battery warranty?",
    "Can I return an unused bike?",
    "Are shipping costs refunded?",
    "What does the warranty cover?",
    "How many charge cycles are covered?",
    "Within how many days can I return a bike?",
    "Is the battery covered for 2 years?",
]


def _ask(client: TestClient, question: str, key: str = ACME_KEY) -> str:
    r = client.post(
        "/v1/ask", json={"question": question}, headers={"Authorization": f"Bearer {key}"}
    )
    assert r.status_code == 200, r.text
    trace_id: str = r.json()["trace_id"]
    return trace_id


@pytest.fixture(scope="module")
def traces(acme: TestClient, globex: TestClient) -> dict[str, str]:
    """Seven acme traces and one globex trace, by question."""
    out = {q: _ask(acme, q) for q in QUESTIONS}
    out["globex"] = _ask(globex, "When does Project Hammer launch?", GLOBEX_KEY)
    return out


def _trace_ids(html: str) -> list[str]:
    return re.findall(r'href="/traces/([0-9a-f]{32})"', html)


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_for_a_tenant_with_nothing_from_the_internet(
    acme: TestClient, traces: dict[str, str], path: str
) -> None:
    r = acme.get(path)
    assert r.status_code == 200, r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert not re.search(r'(src|href)="(https?:)?//', r.text)  # no external script or style
    assert '<script src="/ui/static/htmx.min.js"' in r.text
    assert acme.get("/ui/static/htmx.min.js").status_code == 200


def test_the_trace_list_is_the_tenants_own_newest_first_and_paged_by_cursor(
    acme: TestClient, traces: dict[str, str]
) -> None:
    first = acme.get("/traces")
    ids = _trace_ids(first.text)
    assert len(ids) == 5  # ui.page_size
    assert traces["globex"] not in first.text
    assert ids[0] == traces[QUESTIONS[-1]]
    older = re.search(r'href="/traces\?([^"]*cursor=[^"]*)" rel="next"', first.text)
    assert older is not None
    second = acme.get("/traces?" + older.group(1).replace("&amp;", "&"))
    more = _trace_ids(second.text)
    assert more and not set(more) & set(ids)
    seen = ids + more
    assert [traces[q] for q in reversed(QUESTIONS)] == seen[: len(QUESTIONS)]


def test_trace_list_filters_are_in_the_query_string(
    acme: TestClient, traces: dict[str, str]
) -> None:
    r = acme.get("/traces", params={"text": "shipping costs", "since": "1h", "status": "ok"})
    assert _trace_ids(r.text) == [traces["Are shipping costs refunded?"]]
    assert 'value="shipping costs"' in r.text  # the form shows the filters
    assert _trace_ids(acme.get("/traces", params={"latency": "1e9"}).text) == []
    assert _trace_ids(acme.get("/traces", params={"status": "error"}).text) == []


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"latency": "fast"}, "latency: &#39;fast&#39; is not a number"),
        ({"since": "yesterday"}, "since"),
        ({"status": "broken"}, "status: unknown value"),
        ({"feedback": "meh"}, "feedback: unknown kind"),
        ({"cursor": "page2"}, "cursor:"),
    ],
)
def test_a_malformed_filter_is_a_message_on_the_page_not_a_500(
    acme: TestClient, params: dict[str, str], says: str
) -> None:
    r = acme.get("/traces", params=params)
    assert r.status_code == 400
    assert 'class="error" role="alert"' in r.text and says in r.text
    assert '<form method="get" action="/traces"' in r.text  # the filters stay usable


def test_a_trace_reads_as_a_waterfall_with_hits_scores_ranks_and_support(
    acme: TestClient, traces: dict[str, str]
) -> None:
    trace_id = traces["How long is the battery warranty?"]
    r = acme.get(f"/traces/{trace_id}")
    assert r.status_code == 200
    html = r.text
    assert '<svg class="waterfall"' in html
    for stage in ("guard_in", "query_analysis", "retrieve", "retriever.keyword", "answer"):
        assert f">{stage}</text>" in html or f"· {stage}</text>" in html
    assert "keyword (rank)" in html and "dense (rank)" in html
    assert "warranty.md#" in html  # a hit's chunk id
    assert "Sentences, citations and support" in html
    assert "The battery warranty lasts 2 years" in html
    assert "No routing rule fired." in html


def test_another_tenants_trace_is_not_found_without_leaking_it(
    acme: TestClient, admin: TestClient, traces: dict[str, str]
) -> None:
    theirs = traces["globex"]
    r = acme.get(f"/traces/{theirs}")
    assert r.status_code == 404 and "Project Hammer" not in r.text
    assert "tenant <b>acme</b>" in r.text  # the error page keeps the header
    assert acme.get("/traces/" + "0" * 32).status_code == 404  # same as one that does not exist
    r = acme.post(f"/traces/{theirs}/case", data={"csrf": csrf_of(acme.get("/").text)})
    assert r.status_code == 404
    seen = admin.get(f"/traces/{theirs}")  # an admin sees every tenant
    assert seen.status_code == 200 and "Project Hammer" in seen.text
    only_globex = _trace_ids(admin.get("/traces", params={"tenant": "globex"}).text)
    assert theirs in only_globex
    assert not set(only_globex) & {traces[q] for q in QUESTIONS}


def test_feedback_then_a_regression_case_from_the_trace(
    acme: TestClient, ui_root: Path, traces: dict[str, str]
) -> None:
    trace_id = traces["Can I return an unused bike?"]
    page = acme.get(f"/traces/{trace_id}").text
    token = csrf_of(page)
    r = acme.post(
        f"/traces/{trace_id}/feedback",
        data={"csrf": token, "kind": "nonsense", "note": "x"},
    )
    assert r.status_code == 400 and "unknown feedback kind" in r.text
    r = acme.post(
        f"/traces/{trace_id}/feedback",
        data={"csrf": token, "kind": "hallucination", "note": "refund is 14 days, not 30"},
    )
    assert r.status_code == 200 and "Feedback recorded." in r.text
    assert "refund is 14 days, not 30" in r.text
    queue = acme.get("/feedback?kind=hallucination").text
    assert trace_id in queue
    listed = acme.get("/traces", params={"feedback": "hallucination"}).text
    assert _trace_ids(listed) == [trace_id]
    r = acme.post(f"/traces/{trace_id}/case", data={"csrf": token})
    assert r.status_code == 200 and f"trace-{trace_id}" in r.text
    dataset = ui_root / "evals" / "regression.jsonl"
    lines = dataset.read_text(encoding="utf-8").splitlines()
    case = json.loads(lines[-1])
    assert case["source_trace_id"] == trace_id and "hallucination" in case["tags"]
    r = acme.post(f"/traces/{trace_id}/case", data={"csrf": token})  # twice: refused
    assert r.status_code == 400 and "already in" in r.text
    assert dataset.read_text(encoding="utf-8").splitlines() == lines  # nothing lost or added


def test_a_tenant_sees_only_its_own_cases_and_documents(
    acme: TestClient, globex: TestClient, traces: dict[str, str]
) -> None:
    acme_cases = acme.get("/cases").text
    assert globex.get("/cases").text.count("<code>trace-") <= acme_cases.count("<code>trace-")
    assert "Project Hammer" not in acme.get("/documents").text
    docs = globex.get("/documents").text
    assert "Globex launch plan" in docs
    doc_id = re.search(r'/documents/view\?id=([^&"]+)', docs)
    assert doc_id is not None
    r = globex.get("/documents/view?id=" + doc_id.group(1))
    assert r.status_code == 200 and "Nightjar" in r.text and "Globex launch plan" in r.text
    stolen = acme.get("/documents/view?id=" + doc_id.group(1) + "&tenant=globex")
    assert stolen.status_code == 404 and "Nightjar" not in stolen.text


def test_eval_runs_need_an_admin_and_compare_shows_deltas_and_the_config_diff(
    acme: TestClient, admin: TestClient, app_client: Callable[[str | None], TestClient]
) -> None:
    from ragline.evals import MetricResult
    from ragline.testing._eval_conformance import make_result, new_run

    assert acme.get("/evals").status_code == 403
    project = admin.app.state.ragline.project  # type: ignore[attr-defined]
    store = project.evals
    for run_id, k, value in (("run-a", 5, 0.0), ("run-b", 8, 1.0)):
        run = new_run(run_id, fingerprint={"embedder": "hash", "retrieval": {"k": k}})
        store.create_run(run)
        for i in range(4):
            result = make_result(f"c{i}")
            result.metrics = [MetricResult("token_f1", "1", value=value, passed=value > 0.5)]
            store.add_result(run_id, result)
        store.finish_run(run_id, "complete", {})
    listed = admin.get("/evals").text
    assert "run-a" in listed and "run-b" in listed
    run = admin.get("/evals/run-b")
    assert run.status_code == 200 and "q c0?" in run.text and "token_f1" in run.text
    c = admin.get("/evals/compare", params={"a": "run-a", "b": "run-b"})
    assert c.status_code == 200
    assert "retrieval.k" in c.text and "fail→pass" in c.text and "+1.000" in c.text
    assert admin.get("/evals/nope").status_code == 404
    assert admin.get("/evals/compare", params={"a": "run-a"}).status_code == 400


def test_the_playground_streams_the_answer_as_server_sent_events(acme: TestClient) -> None:
    token = csrf_of(acme.get("/playground").text)
    with acme.stream(
        "POST",
        "/playground/ask",
        data={"question": "How long is the battery warranty?"},
        headers={"X-CSRF-Token": token},
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        body = "".join(r.iter_text())
    events = re.findall(r"^event: (\w+)$", body, flags=re.M)
    assert events[0] == "retrieval" and "delta" in events and events[-1] == "done"
    assert "2 years" in body
    r = acme.post("/playground/ask", data={"question": "x"})  # no token
    assert r.status_code == 403


def test_the_playground_compares_the_retrieval_of_two_settings(
    acme: TestClient, globex: TestClient
) -> None:
    q = {"q": "battery warranty years"}
    keyword = acme.get("/playground/search", params={**q, "mode": "keyword", "k": 1}).json()
    dense = acme.get("/playground/search", params={**q, "mode": "dense", "k": 2}).json()
    assert keyword["mode"] == "keyword" and dense["mode"] == "dense"
    assert len(keyword["hits"]) == 1 and len(dense["hits"]) == 2
    assert keyword["hits"][0]["document_id"] == "docs-acme/warranty.md"
    assert all(h["document_id"].startswith("docs-acme/") for h in dense["hits"])
    theirs = globex.get("/playground/search", params={"q": "battery warranty"}).json()
    assert theirs["hits"] and all(
        h["document_id"].startswith("docs-globex/") for h in theirs["hits"]
    )
    assert acme.get("/playground/search", params={**q, "mode": "magic"}).status_code == 422


def test_an_admin_silences_an_alert_and_ends_the_silence(
    acme: TestClient, admin: TestClient
) -> None:
    page = admin.get("/alerts").text
    assert "slow-asks" in page
    token = csrf_of(page)
    r = admin.post("/alerts/silence", data={"csrf": token, "rule": "nope", "duration": "1h"})
    assert r.status_code == 400 and "no alert rule named" in r.text
    r = admin.post("/alerts/silence", data={"csrf": token, "rule": "slow-asks", "duration": "soon"})
    assert r.status_code == 400
    r = admin.post(
        "/alerts/silence",
        data={"csrf": token, "rule": "slow-asks", "duration": "1h", "comment": "deploy"},
    )
    assert r.status_code == 200 and "silenced slow-asks" in r.text and "deploy" in r.text
    silence_id = re.search(r'name="silence_id" value="(\w+)"', r.text)
    assert silence_id is not None
    denied = acme.post(
        "/alerts/unsilence",
        data={"csrf": csrf_of(acme.get("/").text), "silence_id": silence_id.group(1)},
    )
    assert denied.status_code == 403  # a tenant's key reads alerts only
    r = admin.post("/alerts/unsilence", data={"csrf": token, "silence_id": silence_id.group(1)})
    assert r.status_code == 200 and "No active silence." in r.text


def test_the_store_failing_is_an_error_page_with_the_reason(
    acme: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    store = acme.app.state.ragline.project.trace_store  # type: ignore[attr-defined]

    def broken(**_: object) -> None:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(store, "list_traces", broken)
    r = acme.get("/traces")
    assert r.status_code == 503 and "database is locked" in r.text
