"""Guards that fail, against a real ``ragline serve``: custom guards (``guards.custom``,
imported from the project's PYTHONPATH) that raise or never return. With ``on_error:
block`` an ask is a 200 refusal with the reason ``guard.error`` / ``guard.timeout``,
with ``on_error: allow`` it is answered; ``/metrics`` counts each error by reason, no
request hangs, and the server stays up."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from httpx_sse import connect_sse
from prometheus_client.parser import text_string_to_metric_families

from ragline.guards._policy import REFUSAL_TEXT
from ragline.testing import ServerProcess

from ._kb import KEYS_ENV, acme, globex, make_project

GUARDS = Path(__file__).resolve().parents[1] / "guards" / "custom_guards.py"
MODULE = "my_ragline_guards"
INITECH_KEY = "rl_initech_test_key_0003"
CONFIG = f"""\
embedder: hash
tenants:
  acme:
    api_keys_env: ACME_KEYS
    guards:
      custom: [{{guard: '{MODULE}:Raising', on_error: block}}]
  globex:
    api_keys_env: GLOBEX_KEYS
    guards:
      custom: [{{guard: '{MODULE}:Raising', on_error: allow}}]
  initech:
    api_keys_env: INITECH_KEYS
    guards:
      custom: [{{guard: '{MODULE}:Hanging', on_error: block, timeout_ms: 200}}]
"""
QUESTION = "How many days of paid leave do Globex employees get?"


def initech() -> dict[str, str]:
    return {"Authorization": f"Bearer {INITECH_KEY}"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    code = tmp_path_factory.mktemp("user-code")
    shutil.copy(GUARDS, code / f"{MODULE}.py")
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(code))  # the project opens here too (ingest)
        root = make_project(tmp_path_factory.mktemp("guard-faults"), CONFIG)
    path = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), str(code)) if p)
    env = {**KEYS_ENV, "INITECH_KEYS": INITECH_KEY, "PYTHONPATH": path}
    with ServerProcess(root, env=env) as proc:
        yield proc


def _ask(server: ServerProcess, headers: dict[str, str]) -> httpx.Response:
    # the client's timeout is the "it returned" bound: far above the 200 ms budget
    return httpx.post(
        server.url + "/v1/ask", json={"question": QUESTION}, headers=headers, timeout=60
    )


def _errors(server: ServerProcess) -> dict[tuple[str, str, str], float]:
    text = httpx.get(server.url + "/metrics", timeout=30).text
    return {
        (s.labels["guard"], s.labels["reason"], s.labels["tenant"]): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "ragline_guard_errors_total"
    }


def test_a_raising_guard_with_on_error_block_is_a_200_refusal(server: ServerProcess) -> None:
    r = _ask(server, acme())
    assert r.status_code == 200
    answer = r.json()
    assert answer["blocked"] is True and answer["text"] == REFUSAL_TEXT
    assert answer["refusal_reason"] == "guard.error"
    (trigger,) = answer["guards"]
    assert trigger["guard"] == "faulty" and trigger["error"] == "RuntimeError"
    assert "crashed" not in json.dumps(answer)  # the message stays in the trace


def test_a_raising_guard_with_on_error_allow_answers(server: ServerProcess) -> None:
    r = _ask(server, globex())
    assert r.status_code == 200
    answer = r.json()
    assert answer["blocked"] is False and "30 days" in answer["text"]
    assert [(t["guard"], t["action"], t["error"]) for t in answer["guards"]] == [
        ("faulty", "allow", "RuntimeError")
    ]


def test_a_hanging_guard_times_out_and_the_request_returns(server: ServerProcess) -> None:
    for _ in range(6):  # more than the calls a hung guard may hold (then it fails at once)
        r = _ask(server, initech())
        assert r.status_code == 200
        assert r.json()["blocked"] is True and r.json()["refusal_reason"] == "guard.timeout"
    with (
        httpx.Client(base_url=server.url, headers=initech(), timeout=60) as client,
        connect_sse(
            client, "POST", "/v1/ask", json={"question": QUESTION, "stream": True}
        ) as source,
    ):
        kinds = [e.event for e in source.iter_sse()]
    assert kinds[-2:] == ["guard", "done"] and "delta" not in kinds


def test_metrics_count_the_errors_by_reason_and_the_server_stays_up(
    server: ServerProcess,
) -> None:
    before = _errors(server)
    _ask(server, acme())
    _ask(server, globex())
    _ask(server, initech())
    after = _errors(server)

    def grew(guard: str, reason: str, tenant: str) -> float:
        return after.get((guard, reason, tenant), 0) - before.get((guard, reason, tenant), 0)

    assert grew("faulty", "guard.error", "acme") == 1
    assert grew("faulty", "guard.error", "globex") == 1  # allowed, and still counted
    assert grew("hanging", "guard.timeout", "initech") == 1
    assert httpx.get(server.url + "/readyz", timeout=30).status_code == 200
    assert server.proc is not None and server.proc.poll() is None
    assert _ask(server, globex()).json()["blocked"] is False  # still answering
