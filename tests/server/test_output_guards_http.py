"""An output check over HTTP, against one real ``ragline serve`` process: acme's answers
are limited to 60 characters (``guards.length``, block) — a refusal with the reason code
``length.exceeded`` in JSON, a ``guard`` SSE event that stops the stream before more than
the limit is sent, ``finish_reason: "content_filter"`` on ``/v1/chat/completions``, and
a Prometheus counter per guard and tenant."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse
from openai import OpenAI
from prometheus_client.parser import text_string_to_metric_families

from ragline.guards._policy import REFUSAL_TEXT
from ragline.testing import ServerProcess

from ._kb import ACME_KEY, CONFIG, KEYS_ENV, acme, globex, make_project

LIMIT = 60
QUESTION = "How long is the battery warranty?"
LIMITED = CONFIG.replace(
    "    api_keys_env: ACME_KEYS\n",
    "    api_keys_env: ACME_KEYS\n"
    f"    guards: {{length: {{enabled: true, action: block, max_chars: {LIMIT}}}}}\n",
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = make_project(tmp_path_factory.mktemp("length-kb"), LIMITED)
    with ServerProcess(root, env=KEYS_ENV) as proc:
        yield proc


def test_an_answer_over_the_limit_is_a_200_refusal_with_its_reason(
    server: ServerProcess,
) -> None:
    r = httpx.post(server.url + "/v1/ask", json={"question": QUESTION}, headers=acme(), timeout=60)
    assert r.status_code == 200
    answer = r.json()
    assert answer["blocked"] is True and answer["text"] == REFUSAL_TEXT
    assert answer["refusal_reason"] == "length.exceeded"
    (trigger,) = [g for g in answer["guards"] if g["guard"] == "length"]
    assert trigger["stage"] == "output" and trigger["action"] == "block"


def test_a_streamed_answer_stops_at_the_limit(server: ServerProcess) -> None:
    with (
        httpx.Client(base_url=server.url, headers=acme(), timeout=60) as client,
        connect_sse(
            client, "POST", "/v1/ask", json={"question": QUESTION, "stream": True}
        ) as source,
    ):
        events = [(e.event, json.loads(e.data)) for e in source.iter_sse()]
    sent = "".join(d["text"] for k, d in events if k == "delta")
    assert len(sent) <= LIMIT
    kinds = [k for k, _ in events]
    assert kinds[-2:] == ["guard", "done"]
    guard = events[-2][1]
    assert guard["stage"] == "output" and guard["reasons"] == ["length.exceeded"]
    assert events[-1][1]["finish_reason"] == "content_filter"


def test_chat_completions_report_content_filter(server: ServerProcess) -> None:
    client = OpenAI(base_url=server.url + "/v1", api_key=ACME_KEY, max_retries=0, timeout=60)
    messages: Any = [{"role": "user", "content": QUESTION}]
    resp = client.chat.completions.create(model="ragline", messages=messages)
    assert resp.choices[0].finish_reason == "content_filter"
    assert resp.to_dict()["ragline"]["refusal_reason"] == "length.exceeded"


def test_another_tenant_keeps_the_global_policy(server: ServerProcess) -> None:
    r = httpx.post(
        server.url + "/v1/ask",
        json={"question": "How many days of paid leave do Globex employees get?"},
        headers=globex(),
        timeout=60,
    )
    answer = r.json()
    assert answer["blocked"] is False and len(answer["text"]) > LIMIT
    assert not [g for g in answer["guards"] if g["guard"] == "length"]


def test_the_trigger_is_counted_per_guard_and_tenant(server: ServerProcess) -> None:
    httpx.post(server.url + "/v1/ask", json={"question": QUESTION}, headers=acme(), timeout=60)
    text = httpx.get(server.url + "/metrics", timeout=30).text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    labels = {"guard": "length", "action": "block", "stage": "output", "tenant": "acme"}
    assert samples.get(("ragline_guard_triggers_total", tuple(sorted(labels.items()))), 0) >= 1
