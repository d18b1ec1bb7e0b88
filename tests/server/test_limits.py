"""Limits on a real server: rate limits (429), load shedding (503), timeouts (504),
client disconnects that stop generation, graceful shutdown, per-tenant overrides.

A slow OpenAI-compatible model on loopback (``slow_model.py``) makes requests last.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ragline._project import Project
from ragline.testing import ServerProcess

from ._kb import ACME_KEY, SAMPLE_KB, make_project
from .slow_model import SlowModelServer

SLOW_KEY = "rl_slow_key_0003"
LIMITED_KEY = "rl_limited_key_0004"
NARROW_KEY = "rl_narrow_key_0005"


def config(slow_url: str, **server: Any) -> str:
    lines = [f"    {k}: {v}" for k, v in server.items()]
    return (
        "embedder: hash\n"
        "models:\n"
        "  openai:slow:\n"
        f"    base_url: {slow_url}\n"
        "    max_retries: 0\n"
        "    read_timeout_s: 20\n"
        "server:\n" + ("\n".join(lines) if lines else "    port: 0") + "\n"
        "tenants:\n"
        "  acme: {api_keys_env: ACME_KEYS}\n"
        "  globex: {api_keys_env: GLOBEX_KEYS}\n"
        "  slow: {api_keys_env: SLOW_KEYS, model: 'openai:slow'}\n"
        "  limited: {api_keys_env: LIMITED_KEYS, rate_limit_per_minute: 3}\n"
        "  narrow: {api_keys_env: NARROW_KEYS, k: 2}\n"
    )


ENV = {
    "ACME_KEYS": ACME_KEY,
    "GLOBEX_KEYS": "rl_unused_globex",
    "SLOW_KEYS": SLOW_KEY,
    "LIMITED_KEYS": LIMITED_KEY,
    "NARROW_KEYS": NARROW_KEY,
    "OPENAI_API_KEY": "sk-test",
}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def build(root: Path, slow_url: str, **server: Any) -> Path:
    make_project(root, config(slow_url, **server))
    with Project(root) as p:
        for tenant in ("slow", "limited", "narrow"):
            p.ingest([SAMPLE_KB], tenant=tenant)
    return root


@pytest.fixture(scope="module")
def slow_model() -> Iterator[SlowModelServer]:
    with SlowModelServer() as s:
        yield s


@pytest.fixture(scope="module")
def limited_server(
    slow_model: SlowModelServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """One request at a time, none waiting, 2 s timeout."""
    root = build(
        tmp_path_factory.mktemp("limits"),
        slow_model.url(40, 100),
        max_concurrency=1,
        max_queue=0,
        request_timeout_s=2,
    )
    with ServerProcess(root, env=ENV) as proc:
        yield proc


def ask(
    server: ServerProcess,
    key: str,
    question: str = "How long is the battery warranty?",
    **extra: Any,
) -> httpx.Response:
    return httpx.post(
        server.url + "/v1/ask", json={"question": question, **extra}, headers=auth(key), timeout=30
    )


def wait_idle(server: ServerProcess, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = httpx.get(server.url + "/metrics").text
        if "ragline_requests_running 0.0" in text:
            return
        time.sleep(0.1)
    raise AssertionError("the server still has requests running")


def test_rate_limit_answers_429_with_retry_after_and_spares_other_tenants(
    limited_server: ServerProcess,
) -> None:
    codes = [ask(limited_server, LIMITED_KEY).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    r = ask(limited_server, LIMITED_KEY)
    assert r.status_code == 429
    assert r.json()["error"]["type"] == "rate_limited"
    assert 1 <= int(r.headers["retry-after"]) <= 60
    assert ask(limited_server, ACME_KEY).status_code == 200  # acme has no limit


def test_overload_is_shed_with_503_not_queued(limited_server: ServerProcess) -> None:
    wait_idle(limited_server)
    started = threading.Event()
    result: dict[str, Any] = {}

    def slow_stream() -> None:
        with httpx.stream(
            "POST",
            limited_server.url + "/v1/ask",
            json={"question": "How long is the battery warranty?", "stream": True},
            headers=auth(SLOW_KEY),
            timeout=30,
        ) as r:
            result["status"] = r.status_code
            lines = []
            for line in r.iter_lines():
                if line.startswith("event: delta"):
                    started.set()
                lines.append(line)
            result["lines"] = lines

    t = threading.Thread(target=slow_stream)
    t.start()
    assert started.wait(15), "the slow stream never started"
    r = ask(limited_server, ACME_KEY)
    assert r.status_code == 503
    assert r.json()["error"]["type"] == "overloaded"
    assert r.headers["retry-after"] == "1"
    t.join(30)
    # the first one went on; its 4 s answer passed the 2 s limit: it ends with a clean error
    assert result["status"] == 200
    assert result["lines"][-3] == "event: error"
    assert "longer than 2 s" in result["lines"][-2]
    wait_idle(limited_server)
    assert ask(limited_server, ACME_KEY).status_code == 200
    assert "ragline_requests_shed_total 1.0" in httpx.get(limited_server.url + "/metrics").text


def test_a_request_past_the_timeout_gets_504_and_holds_its_slot_until_done(
    limited_server: ServerProcess,
) -> None:
    wait_idle(limited_server)
    r = ask(limited_server, SLOW_KEY)  # the model needs 4 s; the limit is 2 s
    assert r.status_code == 504
    assert r.json()["error"]["type"] == "timeout"
    # the abandoned work still runs: the slot is not handed out until it ends
    assert ask(limited_server, ACME_KEY).status_code == 503
    wait_idle(limited_server)
    assert ask(limited_server, ACME_KEY).status_code == 200


def test_a_client_disconnect_mid_stream_stops_generation(
    slow_model: SlowModelServer, limited_server: ServerProcess
) -> None:
    wait_idle(limited_server)
    before = len(slow_model.records)
    with httpx.stream(
        "POST",
        limited_server.url + "/v1/ask",
        json={"question": "How long is the battery warranty?", "stream": True},
        headers=auth(SLOW_KEY),
        timeout=30,
    ) as r:
        for line in r.iter_lines():
            if line.startswith("event: delta"):
                break  # leave after the first piece of text
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        recs = slow_model.records[before:]
        if recs and (recs[-1].disconnected or recs[-1].finished):
            break
        time.sleep(0.05)
    rec = slow_model.records[before:][-1]
    assert rec.stream and rec.disconnected and not rec.finished
    assert rec.chunks_written < rec.chunks_planned
    wait_idle(limited_server)  # and the slot came back


def test_tenant_overrides_pick_model_and_k(limited_server: ServerProcess) -> None:
    wait_idle(limited_server)
    assert ask(limited_server, ACME_KEY).json()["model"] == "extractive"
    narrow = ask(limited_server, NARROW_KEY).json()
    assert len(narrow["hits"]) <= 2


def test_graceful_shutdown_finishes_in_flight_requests_and_flushes_traces(
    slow_model: SlowModelServer, tmp_path: Path
) -> None:
    root = build(tmp_path / "p", slow_model.url(20, 100))  # a 2 s answer
    proc = ServerProcess(root, env=ENV).start()
    result: dict[str, Any] = {}

    def slow_ask() -> None:
        result["response"] = ask(proc, SLOW_KEY, "What was Helio Cycles' revenue in 2025?")

    t = threading.Thread(target=slow_ask)
    t.start()
    time.sleep(0.7)  # the request is in flight
    code = proc.terminate(timeout=30)
    t.join(30)
    r = result["response"]
    assert r.status_code == 200, r.text
    assert r.json()["model"] == "openai:slow"
    assert code in (0, -15), proc.output()
    assert "Application shutdown complete" in proc.output()
    with Project(root) as p:
        traces = p.list_traces(tenant="slow")
    assert r.json()["trace_id"] in {t.trace_id for t in traces}
